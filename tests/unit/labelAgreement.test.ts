/** Unit tests of quality/labelAgreement.ts: the gold-trained reference and the agreement tallies, on separable toy data with known answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudentSchema } from '../../config/schema.js';
import {
  agreementOf,
  fitReference,
  originKey,
  referenceCandidates,
  TFIDF_REFERENCE,
  type ReferenceCandidate,
} from '../../quality/labelAgreement.js';
import { agreementSentence } from '../../domain/labelAgreement.js';
import type { Example } from '../../domain/types.js';
import type { FitStats, Student } from '../../student/index.js';

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

/** Test double of a student: predicts "positive" iff the text has a POS word (`keyword`), or
 * always "negative" (`constant`); fit only records its training-set size. */
class StubStudent implements Student {
  fitted = 0;
  constructor(private readonly rule: 'keyword' | 'constant') {}
  async fit(examples: Example[]): Promise<FitStats> {
    this.fitted = examples.length;
    return { trainSize: examples.length, features: 0, iterations: 0, loss: 0, ms: 0 };
  }
  async predictProba(examples: Example[]): Promise<number[][]> {
    return examples.map((x) =>
      this.rule === 'keyword' && POS.some((w) => x.text.includes(w)) ? [0.9, 0.1] : [0.2, 0.8],
    );
  }
  async features(): Promise<never> {
    throw new Error('StubStudent has no features');
  }
  head(): never {
    throw new Error('StubStudent has no head');
  }
}

test('fitReference with two candidates keeps the higher held-out accuracy (ties: the first) and lists both', async () => {
  const gold = { train: make(40, 't'), validation: make(20, 'v') };
  const constant: ReferenceCandidate = { student: 'tfidf-logreg', make: () => new StubStudent('constant') };
  const keyword: ReferenceCandidate = { student: 'encoder-logreg', make: () => new StubStudent('keyword') };
  const ref = await fitReference(gold, labels, 1, [constant, keyword]);
  assert.equal(ref.info.student, 'encoder-logreg');
  assert.deepEqual(ref.info.candidates, [
    { student: 'tfidf-logreg', accuracy: 0.5 },
    { student: 'encoder-logreg', accuracy: 1 },
  ]);
  const synthetic = make(4, 's');
  assert.deepEqual(
    (await ref.judge(synthetic)).map((v) => v.label),
    synthetic.map((x) => x.label),
    'judged by the kept (keyword) candidate',
  );
  // cross-fitted on gold validation the same way: the keyword double is right on every fold
  const crossFit = await fitReference({ train: null, validation: make(20, 'v') }, labels, 1, [constant, keyword]);
  assert.equal(crossFit.info.student, 'encoder-logreg');
  assert.equal(crossFit.info.heldOut.on, 'gold-validation (5-fold cross-fit)');
  // a tie keeps the earlier candidate; TF-IDF alone lists no candidates
  const tie = await fitReference(gold, labels, 1, [keyword, { ...keyword, student: 'tfidf-logreg' }]);
  assert.equal(tie.info.student, 'encoder-logreg');
  assert.equal((await fitReference(gold, labels, 1)).info.candidates, undefined);
  await assert.rejects(fitReference(gold, labels, 1, []), /no reference candidate/);
});

test('referenceCandidates: TF-IDF, plus the run’s student only when it is the frozen encoder', () => {
  const kinds = (s: Record<string, unknown>) =>
    referenceCandidates(StudentSchema.parse(s), { cacheDir: '/nonexistent' }).map((c) => c.student);
  assert.deepEqual(kinds({ kind: 'tfidf-logreg' }), ['tfidf-logreg']);
  assert.deepEqual(kinds({ kind: 'finetune' }), ['tfidf-logreg'], 'the Python student is not a reference');
  assert.deepEqual(kinds({ kind: 'encoder-logreg', encoderPath: '/models/enc' }), ['tfidf-logreg', 'encoder-logreg']);
  assert.equal(
    referenceCandidates(StudentSchema.parse({ kind: 'tfidf-logreg' }), { cacheDir: '' })[0],
    TFIDF_REFERENCE,
  );
});

test('agreementSentence names the kept reference, the other candidates and the held-out accuracy', () => {
  const cell = { count: 2, agree: 1, rate: 0.5 };
  const reference = {
    student: 'encoder-logreg' as const,
    trainedOn: 'gold-train' as const,
    examples: 2000,
    heldOut: { on: 'gold-validation' as const, count: 100, accuracy: 0.64 },
    candidates: [
      { student: 'tfidf-logreg' as const, accuracy: 0.53 },
      { student: 'encoder-logreg' as const, accuracy: 0.64 },
    ],
  };
  const line = agreementSentence({ reference, overall: cell, byOrigin: { seed: cell }, byClass: { positive: cell } });
  assert.match(
    line,
    /\(encoder-logreg, kept over tfidf-logreg at 53\.0% held out, trained on 2000 gold-train examples; 64\.0% accurate on gold-validation\) gives 50\.0% of the 2 synthetic examples/,
  );
  const alone = { ...reference, candidates: undefined };
  assert.doesNotMatch(agreementSentence({ reference: alone, overall: cell, byOrigin: {}, byClass: {} }), /kept over/);
  assert.doesNotMatch(line, /chance/, '64% for 2 classes is more than 10 points above chance');
  const weak = { ...alone, heldOut: { ...alone.heldOut, accuracy: 0.53 } };
  const two = { positive: cell, negative: cell };
  assert.match(
    agreementSentence({ reference: weak, overall: cell, byOrigin: {}, byClass: two }),
    /The reference is within 10\.0% of chance \(50\.0% for 2 classes\), so this agreement says little about the labels\.$/,
  );
  const four = { a: cell, b: cell, c: cell, d: cell };
  assert.doesNotMatch(agreementSentence({ reference: weak, overall: cell, byOrigin: {}, byClass: four }), /chance/);
});
