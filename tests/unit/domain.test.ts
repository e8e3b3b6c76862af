/** Unit tests of the pure domain modules: prompts, seeded sampling, metrics, misclassified selection, config. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../config/schema.js';
import { setPath } from '../../config/load.js';
import { convergenceReason, scoreSplit, selectMisclassified } from '../../domain/metrics.js';
import { joinRationales, renderPrompt } from '../../domain/prompts.js';
import { getTemplate } from '../../tasks/index.js';
import { Rng } from '../../domain/rng.js';

test('T_query renders the paper’s IMDb example wording (S3 §2.2)', () => {
  const t = getTemplate('single', 'query');
  const p = renderPrompt(t, {
    item: 'movie review',
    label: 'positive',
    rationales: ['great acting', 'intriguing plot', 'beautiful cinematography'],
  });
  assert.equal(
    p,
    'Now imagine that you just read a movie review that has great acting, intriguing plot, and beautiful cinematography. Now you should write a positive movie review.',
  );
  assert.equal(t.id, 'single.query.table1');
  assert.equal(
    renderPrompt(getTemplate('single', 'ration'), { item: 'email', label: 'spam', K: 3 }),
    'Imagine you are reading an email; consider 3 reasons that may lead to a spam email. List them one per line.',
  );
});

test('pair templates keep the context and follow the RTE row of Table 1', () => {
  const q = renderPrompt(getTemplate('pair', 'query'), { context: 'A man sleeps.', label: 'correct' });
  assert.equal(q, 'A man sleeps. \nBased on the above description, the following sentence is definitely correct:');
  const m = renderPrompt(getTemplate('pair', 'mis'), {
    context: 'A man sleeps.',
    example: 'He rests.',
    label: 'wrong',
  });
  assert.match(
    m,
    /^A man sleeps\. \nBased on the above description, the following sentence: He rests\. is definitely wrong\./,
  );
});

test('prompt overrides win and a missing placeholder value is an error naming the template', () => {
  const t = getTemplate('single', 'mis', { mis: 'Rewrite as {label}: {example} ({context})' });
  assert.equal(t.id, 'single.mis.custom');
  assert.throws(() => renderPrompt(t, { label: 'spam', example: 'x' }), /single\.mis\.custom uses \{context\}/);
  assert.equal(joinRationales(['a', 'b']), 'a and b');
  assert.equal(joinRationales(['a']), 'a');
});

test('Rng: same seed and stream give the same draws; streams and seeds differ', () => {
  const a = new Rng(42, 'seed-data');
  const b = new Rng(42, 'seed-data');
  const xs = Array.from({ length: 20 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 20 }, () => b.next()),
  );
  assert.notDeepEqual(
    xs,
    Array.from(
      { length: 20 },
      (() => {
        const c = new Rng(43, 'seed-data');
        return () => c.next();
      })(),
    ),
  );
  assert.notDeepEqual(
    xs,
    Array.from(
      { length: 20 },
      (() => {
        const c = new Rng(42, 'other');
        return () => c.next();
      })(),
    ),
  );
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('Rng.sample draws k distinct elements and is roughly uniform', () => {
  const r = new Rng(1, 'u');
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 5000; i++) {
    const s = r.sample([0, 1, 2, 3, 4], 2);
    assert.equal(new Set(s).size, 2);
    for (const v of s) counts[v]++;
  }
  // each element is picked with probability 2/5: expected 2000 of 5000 draws
  for (const c of counts) assert.ok(Math.abs(c - 2000) < 150, `count ${c} far from 2000`);
  assert.deepEqual(r.sample([1, 2], 5).sort(), [1, 2]);
  assert.throws(() => r.pick([]), RangeError);
});

test('scoreSplit: accuracy and macro-F1 match hand-computed values', () => {
  // gold a a b b, pred a b b b: class a P=1 R=.5 F1=2/3; class b P=2/3 R=1 F1=.8
  const m = scoreSplit(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'b'], ['a', 'b']);
  assert.equal(m.accuracy, 0.75);
  assert.equal(m.misclassified, 1);
  assert.ok(Math.abs(m.macroF1 - (2 / 3 + 0.8) / 2) < 1e-12);
  assert.throws(() => scoreSplit(['a'], [], ['a']), /1 gold vs 0/);
});

test('selectMisclassified returns errors in split order, and the highest-loss ones under a budget', () => {
  const probs = [
    [0.9, 0.1], // gold 0, right
    [0.6, 0.4], // gold 1, wrong, loss -ln .4
    [0.2, 0.8], // gold 0, wrong, loss -ln .2
    [0.99, 0.01], // gold 1, wrong, loss -ln .01
  ];
  const gold = [0, 1, 0, 1];
  assert.deepEqual(
    selectMisclassified(probs, gold).map((m) => m.index),
    [1, 2, 3],
  );
  const capped = selectMisclassified(probs, gold, 2);
  assert.deepEqual(
    capped.map((m) => m.index),
    [2, 3],
  );
  assert.ok(Math.abs(capped[1].loss - -Math.log(0.01)) < 1e-12);
});

test('convergenceReason stops on zero errors, or on a plateau only when epsilon is set', () => {
  assert.match(convergenceReason([0.8], 0, undefined)!, /no misclassified/);
  assert.equal(convergenceReason([0.8, 0.8], 5, undefined), null);
  assert.match(convergenceReason([0.8, 0.805], 5, 0.01)!, /gain 0\.0050 <= epsilon 0\.01/);
  assert.equal(convergenceReason([0.8, 0.9], 5, 0.01), null);
});

test('parseConfig fills defaults and lists every invalid field', () => {
  const c = parseConfig({ task: { labels: ['ham', 'spam'], source: { type: 'spamassassin' } } });
  assert.equal(c.teacher.temperature, 0.9);
  assert.equal(c.synthesis.rounds, 2);
  assert.equal(c.student.kind, 'tfidf-logreg');
  assert.throws(
    () =>
      parseConfig({ task: { labels: ['x'], source: { type: 'spamassassin' } }, student: { kind: 'svm' } }, 'my.json'),
    (e: Error) =>
      /invalid my\.json/.test(e.message) && /task\.labels/.test(e.message) && /student\.kind/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ task: { labels: ['x', 'y'], source: { type: 'files' } } }),
    (e: Error) => /task\.source\.validation/.test(e.message) && /task\.source\.test/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ task: { labels: ['a', 'b'], labelWords: { c: 'x' }, source: { type: 'spamassassin' } } }),
    /labelWords names unknown label "c"/,
  );
});

test('--set overrides parse JSON values and create nested objects', () => {
  const o: Record<string, unknown> = { synthesis: { seedSize: 5 } };
  setPath(o, 'synthesis.seedSize=50');
  setPath(o, 'teacher.model=gpt-x');
  assert.deepEqual(o, { synthesis: { seedSize: 50 }, teacher: { model: 'gpt-x' } });
  assert.throws(() => setPath(o, 'novalue'), /key\.path=value/);
});
