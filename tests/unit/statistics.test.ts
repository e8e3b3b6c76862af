/** Unit tests of domain/statistics.ts against hand-computed values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ArmSeedResult, ExperimentSummary, MethodName } from '../../domain/experiment.js';
import { armSummaries, curveAuc, meanStd, pairedBootstrap } from '../../domain/statistics.js';
import type { RoundResult, SplitMetrics } from '../../domain/types.js';
import { emptyUsage } from '../../domain/types.js';

const close = (actual: number | null, expected: number, what: string, eps = 1e-12) => {
  assert.ok(actual !== null, `${what}: got null`);
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: ${actual} != ${expected}`);
};

test('meanStd: mean and sample std (n − 1) by hand; std null for one value; errors', () => {
  const m = meanStd([0.8, 0.9, 1.0]);
  close(m.mean, 0.9, 'mean');
  close(m.std, 0.1, 'std'); // sqrt(((-.1)^2 + 0 + .1^2) / 2) = 0.1
  assert.equal(m.n, 3);
  // population std would be sqrt(0.02/3) = 0.0816…: make sure it is the sample std
  const two = meanStd([1, 3]);
  assert.equal(two.mean, 2);
  close(two.std, Math.SQRT2, 'std of [1,3]'); // sqrt((1 + 1) / 1)
  assert.deepEqual(meanStd([0.7]), { mean: 0.7, std: null, n: 1 });
  assert.throws(() => meanStd([]), RangeError);
  assert.throws(() => meanStd([0.5, NaN]), /not a finite number/);
});

test('pairedBootstrap: equal differences give lo = hi = mean; only common seeds count', () => {
  // exact binary fractions, so every difference is exactly 0.125
  const a = new Map([
    [1, 0.75],
    [2, 0.625],
    [3, 0.5],
    [9, 0.0], // not in b: ignored
  ]);
  const b = [
    { seed: 3, value: 0.375 },
    { seed: 1, value: 0.625 },
    { seed: 2, value: 0.5 },
    { seed: 7, value: 1 }, // not in a: ignored
  ];
  const d = pairedBootstrap(a, b, { metric: 'accuracy', arm: 'zerogen', reference: 's3', resamples: 500 });
  assert.deepEqual(d.seeds, [1, 2, 3]);
  assert.equal(d.mean, 0.125);
  assert.equal(d.lo, 0.125);
  assert.equal(d.hi, 0.125);
  assert.equal(d.resamples, 500);
  assert.equal(d.arm, 'zerogen');
  assert.equal(d.reference, 's3');
  assert.equal(d.metric, 'accuracy');
});

test('pairedBootstrap: two seeds with differences {0, 1} → interval [0, 1] (each extreme has 25% mass)', () => {
  // means of 2 draws from {0, 1}: 0 (p = 1/4), 1/2 (p = 1/2), 1 (p = 1/4); 2.5% and 97.5% quantiles
  // fall inside the 25% tails, so they are exactly 0 and 1
  const d = pairedBootstrap(
    new Map([
      [1, 0.5],
      [2, 1],
    ]),
    new Map([
      [1, 0.5],
      [2, 0],
    ]),
    { metric: 'macroF1', arm: 'x', reference: 's3' },
  );
  assert.equal(d.mean, 0.5);
  assert.equal(d.lo, 0);
  assert.equal(d.hi, 1);
  assert.equal(d.resamples, 2000);
});

test('pairedBootstrap with 3 seeds is crude: bounds are means of 3 draws, enumerated by hand', () => {
  // differences {0, 0, 1}: a resampled mean is k/3 with k ~ Binomial(3, 1/3):
  //   P(0) = 8/27 ≈ 29.6%, P(1/3) = 12/27, P(2/3) = 6/27, P(1) = 1/27 ≈ 3.7%
  // lower 2.5% quantile: inside the 29.6% mass at 0 → 0
  // upper 97.5% quantile: P(mean ≥ 2/3) = 7/27 ≫ 2.5% → 2/3 or 1 (1 when the draws give ≥ 2.5% ones)
  // B = 2001 makes the type-7 quantile indices (B−1)·p = 50 and 1950 integers: no interpolation, so the
  // bounds are exactly attainable bootstrap means
  const a = [
    { seed: 1, value: 0.5 },
    { seed: 2, value: 0.5 },
    { seed: 3, value: 1 },
  ];
  const b = [
    { seed: 1, value: 0.5 },
    { seed: 2, value: 0.5 },
    { seed: 3, value: 0 },
  ];
  const possible = [0, 1 / 3, 2 / 3, 1];
  for (const seed of [0, 1, 2, 3, 4, 5, 6, 7]) {
    const d = pairedBootstrap(a, b, { metric: 'accuracy', arm: 'x', reference: 's3', resamples: 2001, seed });
    close(d.mean, 1 / 3, 'mean');
    assert.equal(d.lo, 0, `seed ${seed}: lo`);
    assert.ok(
      possible.some((p) => Math.abs(d.hi - p) < 1e-12),
      `seed ${seed}: hi ${d.hi} is not a mean of 3 draws`,
    );
    assert.ok(d.hi >= 2 / 3 - 1e-12, `seed ${seed}: hi ${d.hi} < 2/3`);
  }
});

test('pairedBootstrap: same seed → same interval; other seed → other draws; input errors', () => {
  const a = new Map([
    [1, 0.81],
    [2, 0.86],
    [3, 0.79],
    [4, 0.9],
    [5, 0.84],
  ]);
  const b = new Map([
    [1, 0.8],
    [2, 0.8],
    [3, 0.82],
    [4, 0.83],
    [5, 0.8],
  ]);
  const opts = { metric: 'accuracy' as const, arm: 'x', reference: 's3', resamples: 999 };
  const one = pairedBootstrap(a, b, { ...opts, seed: 42 });
  assert.deepEqual(pairedBootstrap(a, b, { ...opts, seed: 42 }), one);
  // with 5 distinct differences the interval lies strictly inside [min, max] of the differences
  assert.ok(one.lo < one.mean && one.mean < one.hi, JSON.stringify(one));
  assert.ok(one.lo >= -0.03 - 1e-12 && one.hi <= 0.07 + 1e-12, JSON.stringify(one));
  const other = [43, 44, 45].map((seed) => pairedBootstrap(a, b, { ...opts, seed }));
  assert.ok(
    other.some((o) => o.lo !== one.lo || o.hi !== one.hi),
    'different seeds never changed the interval',
  );
  assert.throws(() => pairedBootstrap(new Map([[1, 0.5]]), new Map([[2, 0.5]]), opts), /no seed in common/);
  assert.throws(
    () =>
      pairedBootstrap(
        [
          { seed: 1, value: 0.5 },
          { seed: 1, value: 0.6 },
        ],
        a,
        opts,
      ),
    /seed 1 twice/,
  );
  assert.throws(() => pairedBootstrap(a, b, { ...opts, resamples: 0 }), RangeError);
  assert.throws(() => pairedBootstrap(new Map([[1, Infinity]]), b, opts), /not a finite number/);
});

const split = (accuracy: number, macroF1 = accuracy - 0.05): SplitMetrics => ({
  count: 100,
  accuracy,
  macroF1,
  misclassified: Math.round(100 * (1 - accuracy)),
});

function round(q: number, testAcc: number): RoundResult {
  return {
    round: q,
    origin: q === 0 ? 'seed' : 'ees',
    added: 10,
    trainSize: 10 * (q + 1),
    validation: split(testAcc + 0.02),
    test: split(testAcc),
    teacher: emptyUsage(),
    studentMs: 5,
  };
}

function result(
  arm: string,
  method: MethodName,
  seed: number,
  r: {
    test?: [number, number];
    val?: number | null;
    rounds?: number[];
    failed?: string;
    tokens?: number;
    syn?: number;
    gold?: number;
    paid?: number;
    reused?: number;
  },
): ArmSeedResult {
  return {
    experimentId: 'exp',
    arm,
    method,
    seed,
    workflowId: `exp/${arm}/seed-${seed}`,
    status: r.failed ? 'failed' : 'completed',
    error: r.failed,
    runDir: `/runs/exp/${arm}/seed-${seed}`,
    budget: { kind: 'examples', limit: 100 },
    used: {
      syntheticExamples: r.syn ?? 0,
      goldExamples: r.gold ?? 0,
      tokens: r.tokens ?? 0,
      paidCalls: r.paid ?? 0,
      reusedCalls: r.reused ?? 0,
      filledUp: 0,
    },
    rounds: (r.rounds ?? []).map((acc, q) => round(q, acc)),
    test: r.test ? split(r.test[0], r.test[1]) : null,
    validation: r.val === undefined || r.val === null ? null : split(r.val),
    usage: emptyUsage(),
    dataset: null,
    stopReason: null,
    warnings: [],
    wallMs: 1000,
  };
}

test('armSummaries on a hand-made summary with a failed child', () => {
  const summary: ExperimentSummary = {
    experimentId: 'exp',
    config: {},
    budget: { kind: 'examples', limit: 100 },
    seeds: [1, 2, 3],
    arms: [
      { name: 's3', method: 's3' },
      { name: 'zerogen', method: 'zerogen' },
      { name: 'gold-validation', method: 'gold-validation' },
    ],
    results: [
      // s3: test acc .8/.9/1.0, F1 .75/.85/.95, val .85/.9/.95, two rounds each
      result('s3', 's3', 1, {
        test: [0.8, 0.75],
        val: 0.85,
        rounds: [0.7, 0.8],
        syn: 100,
        tokens: 1000,
        paid: 10,
        reused: 2,
      }),
      result('s3', 's3', 2, {
        test: [0.9, 0.85],
        val: 0.9,
        rounds: [0.6, 0.9],
        syn: 100,
        tokens: 1200,
        paid: 12,
        reused: 0,
      }),
      result('s3', 's3', 3, {
        test: [1.0, 0.95],
        val: 0.95,
        rounds: [0.8, 1.0],
        syn: 100,
        tokens: 1400,
        paid: 8,
        reused: 1,
      }),
      // zerogen: seed 2 failed (its paid calls still count), seeds 1 and 3: .7 and .9
      result('zerogen', 'zerogen', 1, { test: [0.7, 0.6], val: 0.75, rounds: [0.7], syn: 100, tokens: 500, paid: 5 }),
      result('zerogen', 'zerogen', 2, { failed: 'teacher unreachable', paid: 3 }),
      result('zerogen', 'zerogen', 3, { test: [0.9, 0.8], val: 0.85, rounds: [0.9], syn: 100, tokens: 700, paid: 6 }),
      // gold-validation: trained on validation → validation null
      result('gold-validation', 'gold-validation', 1, { test: [0.85, 0.8], rounds: [0.85], gold: 50 }),
      result('gold-validation', 'gold-validation', 2, { test: [0.85, 0.8], rounds: [0.85], gold: 50 }),
      result('gold-validation', 'gold-validation', 3, { test: [0.95, 0.9], rounds: [0.95], gold: 50 }),
    ],
    quality: [],
    wallMs: 60_000,
  };
  const { reference, arms } = armSummaries(summary);
  assert.equal(reference, 's3');
  assert.deepEqual(
    arms.map((a) => [a.arm, a.method, a.finished, a.failed]),
    [
      ['s3', 's3', 3, 0],
      ['zerogen', 'zerogen', 2, 1],
      ['gold-validation', 'gold-validation', 3, 0],
    ],
  );
  const [s3, zg, gv] = arms;
  close(s3.testAccuracy!.mean, 0.9, 's3 acc mean');
  close(s3.testAccuracy!.std, 0.1, 's3 acc std');
  close(s3.testMacroF1!.mean, 0.85, 's3 F1 mean');
  close(s3.validationAccuracy!.mean, 0.9, 's3 val mean');
  close(s3.validationAccuracy!.std, 0.05, 's3 val std');
  // gaps .05, 0, −.05 → mean 0, std .05
  close(s3.valTestGap!.mean, 0, 's3 gap mean');
  close(s3.valTestGap!.std, 0.05, 's3 gap std');
  assert.deepEqual(s3.tokensUsed, { mean: 1200, std: 200, n: 3 });
  assert.deepEqual(s3.examplesUsed, { mean: 100, std: 0, n: 3 });
  assert.equal(s3.paidCalls, 30);
  assert.equal(s3.reusedCalls, 3);
  assert.deepEqual(
    s3.roundTestAccuracy.map((r) => r.round),
    [0, 1],
  );
  close(s3.roundTestAccuracy[0].accuracy.mean, 0.7, 'round 0 mean');
  close(s3.roundTestAccuracy[0].accuracy.std, 0.1, 'round 0 std');
  close(s3.roundTestAccuracy[1].accuracy.mean, 0.9, 'round 1 mean');
  assert.deepEqual(s3.vsReference, {});

  assert.deepEqual(zg.finishedSeeds, [1, 3]);
  assert.deepEqual(zg.failures, [{ seed: 2, workflowId: 'exp/zerogen/seed-2', error: 'teacher unreachable' }]);
  close(zg.testAccuracy!.mean, 0.8, 'zerogen acc mean');
  assert.equal(zg.testAccuracy!.n, 2);
  assert.equal(zg.paidCalls, 14, 'paid calls of the failed child are summed too');
  // paired on seeds 1 and 3: .7 − .8 = −.1 and .9 − 1.0 = −.1
  const zd = zg.vsReference.accuracy!;
  assert.deepEqual(zd.seeds, [1, 3]);
  close(zd.mean, -0.1, 'zerogen Δ acc');
  close(zd.lo, -0.1, 'zerogen Δ lo', 1e-9);
  close(zd.hi, -0.1, 'zerogen Δ hi', 1e-9);
  close(zg.vsReference.macroF1!.mean, -0.15, 'zerogen Δ F1');

  assert.equal(gv.validationAccuracy, null);
  assert.equal(gv.valTestGap, null);
  assert.deepEqual(gv.goldExamples, { mean: 50, std: 0, n: 3 });
  assert.deepEqual(gv.syntheticExamples, { mean: 0, std: 0, n: 3 });
  // differences .05, −.05, −.05 → mean −.05/3 = −1/60
  close(gv.vsReference.accuracy!.mean, -1 / 60, 'gold-validation Δ', 1e-9);
  assert.ok(gv.vsReference.accuracy!.lo >= -0.05 - 1e-12 && gv.vsReference.accuracy!.hi <= 0.05 + 1e-12);

  // no reference arm in the experiment → no paired differences; a duplicate result → error
  const noRef = armSummaries(summary, 'progen');
  assert.ok(noRef.arms.every((a) => a.vsReference.accuracy === undefined));
  assert.throws(
    () => armSummaries({ ...summary, results: [...summary.results, summary.results[0]] }),
    /two results for arm s3 seed 1/,
  );
});

test('armSummaries: an arm whose every child failed has null scores and no paired difference', () => {
  const summary: ExperimentSummary = {
    experimentId: 'exp',
    config: {},
    budget: { kind: 'tokens', limit: 10_000 },
    seeds: [1],
    arms: [
      { name: 's3', method: 's3' },
      { name: 'goldgen', method: 'goldgen' },
    ],
    results: [
      result('s3', 's3', 1, { test: [0.8, 0.7], val: 0.8, rounds: [0.8] }),
      result('goldgen', 'goldgen', 1, { failed: 'boom' }),
    ],
    quality: [],
    wallMs: 1,
  };
  const gg = armSummaries(summary).arms[1];
  assert.equal(gg.finished, 0);
  assert.equal(gg.failed, 1);
  assert.equal(gg.testAccuracy, null);
  assert.equal(gg.tokensUsed, null);
  assert.deepEqual(gg.roundTestAccuracy, []);
  assert.deepEqual(gg.vsReference, {});
  // one seed: std null
  assert.deepEqual(armSummaries(summary).arms[0].testAccuracy, { mean: 0.8, std: null, n: 1 });
});

test('curveAuc: step interpolation from chance, flat after the last student (hand-computed)', () => {
  // chance 0.5 on [0, 100), 0.7 on [100, 300), 0.9 on [300, 400]: (50 + 140 + 90) / 400 = 0.7
  const points = [
    { round: 0, tokens: 100, accuracy: 0.7 },
    { round: 1, tokens: 300, accuracy: 0.9 },
  ];
  assert.equal(curveAuc(points, 400, 0.5), 0.7);
  // a free arm (0 tokens): its accuracy over the whole horizon
  assert.equal(curveAuc([{ round: 0, tokens: 0, accuracy: 0.8 }], 400, 0.5), 0.8);
  // points past the horizon do not count: (50 + 0.7 * 100) / 200 = 0.6
  assert.ok(Math.abs(curveAuc(points, 200, 0.5) - 0.6) < 1e-12);
  assert.equal(curveAuc([], 10, 0.25), 0.25);
  assert.throws(() => curveAuc(points, 0, 0.5), /horizon/);
});
