/** Unit tests of acquisition/classCap.ts (per-class caps on a round's picks, issue 18) against hand-computed answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classQuotas, countByClass, interleaveByClass, takeWithinQuotas } from '../../acquisition/classCap.js';
import { parseConfig } from '../../config/schema.js';

test('classQuotas: balanced ⌈B/K⌉, prior ⌈B·π_k⌉, none B; bad priors rejected', () => {
  assert.deepEqual(classQuotas('balanced', 50, [1, 1]), [25, 25]);
  assert.deepEqual(classQuotas('balanced', 50, [3, 1, 0, 0]), [13, 13, 13, 13]);
  assert.deepEqual(classQuotas('prior', 50, [70, 30]), [35, 15]);
  // 50 · 0.3 is 15.000000000000002 in floating point: still 15
  assert.deepEqual(classQuotas('prior', 50, [0.7, 0.3]), [35, 15]);
  assert.deepEqual(classQuotas('prior', 10, [1, 1, 1]), [4, 4, 4]);
  assert.deepEqual(classQuotas('prior', 10, [0, 0]), [5, 5], 'no prior: uniform');
  assert.deepEqual(classQuotas('none', 7, [1, 9]), [7, 7]);
  assert.deepEqual(classQuotas('balanced', 0, [1, 1]), [0, 0]);
  assert.throws(() => classQuotas('prior', 5, []), /at least one class/);
  assert.throws(() => classQuotas('prior', 5, [1, -1]), /finite and >= 0/);
});

test('takeWithinQuotas: ranked order kept, a full class skipped, a short class leaves the batch unspent', () => {
  // ranked picks with their classes: the collapse case, every top pick from class 0
  const ranked = ['a0', 'b0', 'c0', 'd1', 'e0', 'f1', 'g0'];
  const cls = (x: string) => Number(x[1]);
  assert.deepEqual(takeWithinQuotas(ranked, cls, 4, [2, 2]), ['a0', 'b0', 'd1', 'f1']);
  // class 1 has only 2 items: 5 asked with quotas 3/3 gives 3 + 2 = 5
  assert.deepEqual(takeWithinQuotas(ranked, cls, 5, [3, 3]), ['a0', 'b0', 'c0', 'd1', 'f1']);
  // quotas 2/2 with 6 asked: only 4 (the cap is a ceiling, not a target)
  assert.deepEqual(takeWithinQuotas(ranked, cls, 6, [2, 2]), ['a0', 'b0', 'd1', 'f1']);
  assert.deepEqual(takeWithinQuotas(ranked, cls, 0, [2, 2]), []);
});

test('interleaveByClass: every prefix keeps each class near its share; "none" unchanged', () => {
  const ranked = ['a0', 'b0', 'c0', 'd0', 'e1', 'f1', 'g0', 'h1'];
  const cls = (x: string) => Number(x[1]);
  // balanced keys: class 0 → 2, 4, 6, 8, 10; class 1 → 2, 4, 6 (ties by ranked position)
  assert.deepEqual(interleaveByClass('balanced', ranked, cls, [5, 3]), [
    'a0',
    'e1',
    'b0',
    'f1',
    'c0',
    'h1',
    'd0',
    'g0',
  ]);
  // prior 3:1 → class 0 keys 4/3, 8/3, 4, 16/3, 20/3; class 1 keys 4, 8, 12
  assert.deepEqual(interleaveByClass('prior', ranked, cls, [3, 1]), ['a0', 'b0', 'c0', 'e1', 'd0', 'g0', 'f1', 'h1']);
  assert.deepEqual(interleaveByClass('none', ranked, cls, [1, 1]), ranked);
});

test('countByClass names every label, zeros included', () => {
  assert.deepEqual(countByClass([0, 0, 2], ['ham', 'spam', 'other']), { ham: 2, spam: 0, other: 1 });
});

test('synthesis.classCap: default none; teacher-judge refused with a clear message', () => {
  const base = {
    runId: 'x',
    task: { labels: ['a', 'b'], source: { type: 'files', validation: 'v.jsonl', test: 't.jsonl' } },
  };
  assert.equal(parseConfig(base).synthesis.classCap, 'none');
  assert.equal(parseConfig({ ...base, synthesis: { classCap: 'balanced' } }).synthesis.classCap, 'balanced');
  assert.throws(
    () => parseConfig({ ...base, synthesis: { classCap: 'prior', acquisition: 'teacher-judge' } }),
    /classCap needs an acquisition function the student computes/,
  );
  assert.throws(() => parseConfig({ ...base, synthesis: { classCap: 'even' } }), /classCap/);
});
