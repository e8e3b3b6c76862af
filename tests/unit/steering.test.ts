/** Unit tests of domain/steering.ts: the checks the steering Updates' validators run (pure). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addGoldProblem, isAcquisitionName, reviewProblem, setBudgetProblem } from '../../domain/steering.js';

const single = { labels: ['spam', 'ham'], kind: 'single' as const };
const pair = { labels: ['entailment', 'contradiction'], kind: 'pair' as const };
const row = (id: string, label = 'spam') => ({ id, text: `text ${id}`, label });

test('addGold: exactly one of rows or file; rows checked as gold rows (label, text, text pair, ids)', () => {
  assert.equal(addGoldProblem({ rows: [row('a'), row('b', 'ham')] }, single), null);
  assert.equal(addGoldProblem({ file: '/data/more.jsonl', note: 'x' }, single), null);
  assert.match(addGoldProblem(undefined, single)!, /takes \{rows/);
  assert.match(addGoldProblem({}, single)!, /exactly one of rows or file/);
  assert.match(addGoldProblem({ rows: [row('a')], file: 'f' }, single)!, /exactly one/);
  assert.match(addGoldProblem({ file: '  ' }, single)!, /non-empty path/);
  assert.match(addGoldProblem({ rows: [] }, single)!, /non-empty array/);
  assert.match(
    addGoldProblem({ rows: [row('a', 'eggs')] }, single)!,
    /row 1 \(a\) has label "eggs", not one of spam, ham/,
  );
  assert.match(addGoldProblem({ rows: [{ id: 'a', label: 'spam' }] }, single)!, /row 1 \(a\) has no text/);
  assert.match(addGoldProblem({ rows: [{ text: 'x', label: 'spam' }] }, single)!, /row 1 has no id/);
  assert.match(addGoldProblem({ rows: [row('a'), row('a')] }, single)!, /row 2: duplicate id a/);
  assert.match(addGoldProblem({ rows: [row('a')] }, single, new Set(['a']))!, /id a was already added/);
  assert.match(addGoldProblem({ rows: [{ id: 'p', text: 'A', label: 'entailment' }] }, pair)!, /text_pair/);
  assert.equal(addGoldProblem({ rows: [{ id: 'p', text: 'A', text_pair: 'B', label: 'entailment' }] }, pair), null);
  assert.match(addGoldProblem({ rows: [row('a')], note: 3 }, single)!, /note must be a string/);
});

test('setBudget: the unit of the budget, a whole number, never below what is spent', () => {
  const run = { kind: null, spent: 500 };
  assert.equal(setBudgetProblem({ teacherTokens: 500 }, run), null);
  assert.match(setBudgetProblem({ teacherTokens: 499 }, run)!, /below what is already spent \(500 tokens\)/);
  assert.match(setBudgetProblem({ examples: 600 }, run)!, /teacher-token cap/);
  assert.match(setBudgetProblem({}, run)!, /exactly one/);
  assert.match(setBudgetProblem({ teacherTokens: 1.5 }, run)!, /whole number/);
  const arm = { kind: 'examples' as const, spent: 40 };
  assert.equal(setBudgetProblem({ examples: 80 }, arm), null);
  assert.match(setBudgetProblem({ teacherTokens: 80 }, arm)!, /budget is in examples; set examples/);
  assert.match(setBudgetProblem({ examples: 39 }, arm)!, /below what is already spent \(40 examples\)/);
});

test('review: only while a round waits; reject or relabel to a label of the task; each example once', () => {
  const labels = ['spam', 'ham'];
  assert.match(reviewProblem({}, null, labels)!, /no round is waiting/);
  assert.equal(reviewProblem(undefined, 2, labels), null, 'no input: approve all');
  assert.equal(
    reviewProblem(
      {
        by: 'ana',
        decisions: [
          { id: 'a', action: 'reject' },
          { id: 'b', action: 'relabel', label: 'ham' },
        ],
      },
      2,
      labels,
    ),
    null,
  );
  assert.match(reviewProblem({ decisions: [{ id: 'a', action: 'delete' }] }, 2, labels)!, /reject" or "relabel/);
  assert.match(reviewProblem({ decisions: [{ id: 'a', action: 'relabel' }] }, 2, labels)!, /relabel needs a label/);
  assert.match(
    reviewProblem({ decisions: [{ id: 'a', action: 'relabel', label: 'eggs' }] }, 2, labels)!,
    /one of spam, ham/,
  );
  assert.match(
    reviewProblem(
      {
        decisions: [
          { id: 'a', action: 'reject' },
          { id: 'a', action: 'reject' },
        ],
      },
      2,
      labels,
    )!,
    /decided twice/,
  );
  assert.match(reviewProblem({ decisions: [{ action: 'reject' }] }, 2, labels)!, /has no example id/);
  assert.match(reviewProblem({ decisions: 'all' }, 2, labels)!, /must be an array/);
});

test('acquisition names', () => {
  assert.ok(isAcquisitionName('entropy') && isAcquisitionName('misclassified'));
  assert.ok(!isAcquisitionName('telepathy') && !isAcquisitionName(3));
});
