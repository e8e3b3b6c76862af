/** Unit tests of quality/labelAgreement.ts: the gold-trained reference and the agreement tallies, on separable toy data with known answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agreementOf, fitReference, originKey } from '../../quality/labelAgreement.js';
import type { Example } from '../../domain/types.js';

// separable toy task: "good" words for positive, "bad" words for negative
const POS = ['great', 'lovely', 'superb', 'wonderful', 'excellent', 'delightful'];
const NEG = ['awful', 'terrible', 'dreadful', 'horrible', 'boring', 'poor'];
const make = (n: number, prefix: string): Example[] =>
  Array.from({ length: n }, (_, i) => {
    const pos = i % 2 === 0;
    const w = pos ? POS : NEG;
    return { id: `${prefix}${i}`, text: `${w[i % 6]} ${w[(i + 1) % 6]} film`, label: pos ? 'positive' : 'negative' };
  });
const labels = ['positive', 'negative'];

test('originKey: seed (and fill-up) data is "seed", EES and ProGen rounds are origin-round', () => {
  assert.equal(originKey({ origin: 'seed', round: 0 }), 'seed');
  assert.equal(originKey({ origin: 'ees', round: 2 }), 'ees-2');
  assert.equal(originKey({ origin: 'icl', round: 1 }), 'icl-1');
});

test('agreementOf: overall, per origin and per asked label, hand-counted', () => {
  const rows = [
    { label: 'positive', provenance: { origin: 'seed' as const, round: 0 } },
    { label: 'positive', provenance: { origin: 'seed' as const, round: 0 } },
    { label: 'negative', provenance: { origin: 'seed' as const, round: 0 } },
    { label: 'negative', provenance: { origin: 'ees' as const, round: 1 } },
  ];
  const verdicts = [
    { label: 'positive', p: 0.9 },
    { label: 'negative', p: 0.2 },
    { label: 'negative', p: 0.8 },
    { label: 'positive', p: 0.3 },
  ];
  const ref = {
    student: 'tfidf-logreg' as const,
    trainedOn: 'gold-validation' as const,
    examples: 10,
    heldOut: { on: 'gold-validation' as const, count: 10, accuracy: 0.9 },
  };
  const a = agreementOf(rows, verdicts, [...labels, 'neutral'], ref);
  assert.deepEqual(a.overall, { count: 4, agree: 2, rate: 0.5 });
  assert.deepEqual(a.byOrigin.seed, { count: 3, agree: 2, rate: 2 / 3 });
  assert.deepEqual(a.byOrigin['ees-1'], { count: 1, agree: 0, rate: 0 });
  assert.deepEqual(a.byClass.positive, { count: 2, agree: 1, rate: 0.5 });
  assert.deepEqual(a.byClass.neutral, { count: 0, agree: 0, rate: null }, 'every label has a cell');
  assert.equal(a.reference.heldOut.accuracy, 0.9);
});

test('fitReference on gold validation: 5-fold cross-fitted accuracy; agrees with right labels, not with flipped ones', async () => {
  const validation = make(40, 'v');
  const ref = await fitReference({ train: null, validation }, labels, 1);
  assert.equal(ref.info.trainedOn, 'gold-validation');
  assert.equal(ref.info.heldOut.on, 'gold-validation (5-fold cross-fit)');
  assert.equal(ref.info.heldOut.count, 40, 'every validation example scored once');
  assert.ok(ref.info.heldOut.accuracy >= 0.9, `separable data: held-out accuracy ${ref.info.heldOut.accuracy}`);
  const synthetic = make(20, 's');
  const right = await ref.judge(synthetic);
  assert.ok(right.every((v, i) => v.label === synthetic[i].label && v.p > 0.5));
  const flipped = synthetic.map((x) => ({ ...x, label: x.label === 'positive' ? 'negative' : 'positive' }));
  const wrong = await ref.judge(flipped);
  assert.ok(
    wrong.every((v, i) => v.label !== flipped[i].label && v.p < 0.5),
    'p is that of the asked label',
  );
});

test('fitReference on a gold train split: held out on gold validation, never on test', async () => {
  const ref = await fitReference({ train: make(60, 't'), validation: make(20, 'v') }, labels, 1);
  assert.equal(ref.info.trainedOn, 'gold-train');
  assert.equal(ref.info.examples, 60);
  assert.deepEqual([ref.info.heldOut.on, ref.info.heldOut.count], ['gold-validation', 20]);
  assert.ok(ref.info.heldOut.accuracy >= 0.9);
  await assert.rejects(fitReference({ train: null, validation: [] }, labels, 1), /no gold data/);
});
