/**
 * Unit tests of the automated reviewer's rule (scripts/review/rules.ts): known verdicts give
 * known decisions; the reference fitted from a run folder rejects exactly the mislabelled
 * examples of separable toy data, and never reads the test split.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Example } from '../../domain/types.js';
import { decide, referenceDecisions, referenceOfRun } from '../../scripts/review/rules.js';
import type { ReviewItem } from '../../scripts/review/round.js';

test('referenceDecisions: rejects where the reference’s label differs, approves the rest, with the reason', () => {
  const examples = [
    { id: 'a', label: 'spam' },
    { id: 'b', label: 'ham' },
    { id: 'c', label: 'ham' },
    { id: 'd', label: 'spam' },
  ];
  const verdicts = [
    { label: 'spam', p: 0.9 },
    { label: 'spam', p: 0.25 },
    { label: 'ham', p: 0.51 },
    { label: 'ham', p: 0.125 },
  ];
  assert.deepEqual(referenceDecisions(examples, verdicts), [
    { id: 'b', action: 'reject', reason: 'reference: spam (p(ham) = 0.25)' },
    { id: 'd', action: 'reject', reason: 'reference: ham (p(spam) = 0.13)' },
  ]);
  assert.deepEqual(referenceDecisions([], []), []);
  assert.throws(() => referenceDecisions(examples, verdicts.slice(1)), RangeError);
});

// separable toy task: "good" words are positive, "bad" words negative
const POS = ['great', 'lovely', 'superb', 'wonderful', 'excellent', 'delightful'];
const NEG = ['awful', 'terrible', 'dreadful', 'horrible', 'boring', 'poor'];
const gold = (n: number, prefix: string, flip = false): Example[] =>
  Array.from({ length: n }, (_, i) => {
    const pos = i % 2 === 0;
    const w = pos ? POS : NEG;
    return {
      id: `${prefix}${i}`,
      text: `${w[i % 6]} ${w[(i + 1) % 6]} film`,
      label: pos !== flip ? 'positive' : 'negative',
    };
  });
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function runDir(opts: { train?: boolean } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-review-rules-'));
  mkdirSync(path.join(dir, 'gold'));
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ seed: 3, task: { labels: ['positive', 'negative'] }, teacher: { apiKeyEnv: 'X' } }),
  );
  writeFileSync(path.join(dir, 'gold', 'validation.jsonl'), jsonl(gold(40, 'val')));
  // a test split with every label flipped: a reference that read it would get the toy task backwards
  writeFileSync(path.join(dir, 'gold', 'test.jsonl'), jsonl(gold(400, 'test', true)));
  if (opts.train) writeFileSync(path.join(dir, 'gold', 'train.jsonl'), jsonl(gold(60, 'train')));
  return dir;
}

const item = (id: string, text: string, label: string): ReviewItem => ({
  id,
  text,
  label,
  origin: 'seed',
  round: 0,
  rationales: [],
});

test('the reference rule on a run folder: fitted on gold validation (never test), rejects exactly the mislabelled examples', async () => {
  const reference = await referenceOfRun(runDir());
  assert.equal(reference.info.trainedOn, 'gold-validation');
  assert.equal(reference.info.examples, 40);
  assert.equal(reference.info.heldOut.accuracy, 1, 'separable: every cross-fitted fold right');
  const examples = [
    item('s0', 'a great and lovely film', 'positive'),
    item('s1', 'an awful, boring film', 'positive'), // mislabelled
    item('s2', 'superb wonderful film', 'negative'), // mislabelled
    item('s3', 'terrible dreadful film', 'negative'),
    item('s4', 'excellent delightful', 'positive'),
  ];
  const decisions = await decide('reference', examples, reference);
  assert.deepEqual(
    decisions.map((d) => [d.id, d.action]),
    [
      ['s1', 'reject'],
      ['s2', 'reject'],
    ],
  );
  assert.match(decisions[0].reason ?? '', /^reference: negative \(p\(positive\) = 0\.\d\d\)$/);
});

test('the reference rule with trainOn "train": the run’s gold train split when it has one, else validation', async () => {
  assert.equal((await referenceOfRun(runDir({ train: true }), 'train')).info.trainedOn, 'gold-train');
  assert.equal((await referenceOfRun(runDir({ train: true }), 'validation')).info.trainedOn, 'gold-validation');
  assert.equal((await referenceOfRun(runDir(), 'train')).info.trainedOn, 'gold-validation');
  await assert.rejects(referenceOfRun(path.join(tmpdir(), 'no-such-run-dir')), /config\.json is missing/);
});
