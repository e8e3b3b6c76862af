/**
 * Statistics of an experiment over seeds: mean ± sample standard deviation, and the paired
 * bootstrap of the difference between an arm and the reference arm (default "s3").
 *
 * Pure module: no I/O, no clocks; every random draw comes from a seeded {@link Rng}, so the
 * same inputs give the same intervals on any machine. Safe to import from workflows.
 *
 * Units: accuracies and macro-F1 are fractions in [0, 1] (differences in [-1, 1]); token and
 * example counts are plain counts.
 *
 * Sources: B. Efron & R. J. Tibshirani (1993), "An Introduction to the Bootstrap", Chapman &
 * Hall, ch. 13 (percentile interval) and ch. 6 (bootstrap of a mean). Quantiles are
 * simple-statistics' `quantileSorted` (linear interpolation, type 7 in R / numpy's default).
 */
import { mean, quantileSorted, sampleStandardDeviation } from 'simple-statistics';
import type { ArmSeedResult, ExperimentSummary, MeanStd, MethodName, PairedDiff } from './experiment.js';
import { Rng } from './rng.js';

/** Default number of bootstrap resamples (B). */
export const DEFAULT_RESAMPLES = 2000;
/** Default seed of the bootstrap's Rng (the stream name adds arm, reference and metric). */
export const DEFAULT_BOOTSTRAP_SEED = 0;

/**
 * Mean and sample standard deviation (denominator n − 1) of a sample.
 * @param xs the values, e.g. test accuracies of one arm over seeds (fractions in [0, 1])
 * @returns `{mean, std, n}`; `std` is null when n < 2 (a sample std needs two values)
 * @throws RangeError when `xs` is empty or holds a value that is not a finite number
 * @example meanStd([0.8, 0.9, 1.0]) // {mean: 0.9, std: 0.1 (± float rounding), n: 3}
 */
export function meanStd(xs: readonly number[]): MeanStd {
  if (xs.length === 0) throw new RangeError('meanStd: no values');
  for (const x of xs) if (!Number.isFinite(x)) throw new RangeError(`meanStd: not a finite number: ${x}`);
  const values = xs.slice();
  return { mean: mean(values), std: values.length >= 2 ? sampleStandardDeviation(values) : null, n: values.length };
}

/** Per-seed values of one arm and one metric: a map seed → value, or rows {seed, value}. */
export type SeedValues = ReadonlyMap<number, number> | readonly { seed: number; value: number }[];

/** Options of {@link pairedBootstrap}. */
export interface PairedBootstrapOptions {
  /** number of bootstrap resamples B (integer >= 1); default {@link DEFAULT_RESAMPLES} */
  resamples?: number;
  /** seed of the Rng; default {@link DEFAULT_BOOTSTRAP_SEED} */
  seed?: number;
  metric: PairedDiff['metric'];
  /** name of the arm whose values are `a` */
  arm: string;
  /** name of the reference arm whose values are `b` */
  reference: string;
}

/** seed → value, validated (finite values, unique seeds). */
function toSeedMap(xs: SeedValues, what: string): Map<number, number> {
  const rows: [number, number][] =
    xs instanceof Map ? [...xs.entries()] : (xs as { seed: number; value: number }[]).map((r) => [r.seed, r.value]);
  const out = new Map<number, number>();
  for (const [seed, value] of rows) {
    if (out.has(seed)) throw new RangeError(`pairedBootstrap: ${what} has seed ${seed} twice`);
    if (!Number.isFinite(value))
      throw new RangeError(`pairedBootstrap: ${what} seed ${seed}: not a finite number: ${value}`);
    out.set(seed, value);
  }
  return out;
}

/** Sum in index order then divide: the same arithmetic for the point estimate and every resample. */
function plainMean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Paired bootstrap of the mean difference `a − b` over the seeds present in both (Efron &
 * Tibshirani 1993, percentile interval, ch. 13). The per-seed differences d_s = a_s − b_s are
 * resampled with replacement (n draws from the n differences) B times with a seeded
 * {@link Rng} (stream `bootstrap:<arm>:<reference>:<metric>`); the interval is the 2.5% and
 * 97.5% quantiles of the B resampled means (linear interpolation, type 7). Pairing by seed
 * removes the variance both arms share through the seed (same gold splits, same sampling).
 *
 * HONEST CAVEAT: with n seeds a resampled mean can only take the values of means of n draws
 * from n numbers — with 3 seeds at most 10 distinct values (e.g. differences {0, 0, 1} give
 * only 0, 1/3, 2/3, 1). The interval is therefore crude: it is a coarse summary of the 3
 * differences, not a calibrated 95% confidence interval, and it is too narrow for small n
 * (the percentile bootstrap under-covers; with one common seed it collapses to a point,
 * lo = hi = mean). Treat "the interval excludes 0" as weak evidence with 3 seeds; run more
 * seeds for a claim.
 *
 * @param a per-seed values of the arm (e.g. test accuracy, fraction in [0, 1])
 * @param b per-seed values of the reference arm, same metric
 * @param opts metric, arm and reference names (copied into the result), resamples, seed
 * @returns PairedDiff: `seeds` common to both (ascending), `mean` of the differences, `lo`/`hi`
 *   the 95% percentile interval, `resamples` B; same unit as the inputs
 * @throws RangeError when a seed appears twice in one input, a value is not finite, no seed is
 *   common to both inputs, or `resamples` is not an integer >= 1
 */
export function pairedBootstrap(a: SeedValues, b: SeedValues, opts: PairedBootstrapOptions): PairedDiff {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`pairedBootstrap: resamples must be an integer >= 1, got ${resamples}`);
  const am = toSeedMap(a, opts.arm);
  const bm = toSeedMap(b, opts.reference);
  const seeds = [...am.keys()].filter((s) => bm.has(s)).sort((x, y) => x - y);
  if (seeds.length === 0)
    throw new RangeError(`pairedBootstrap: ${opts.arm} and ${opts.reference} have no seed in common (${opts.metric})`);
  const diffs = seeds.map((s) => am.get(s)! - bm.get(s)!);
  const n = diffs.length;
  const rng = new Rng(opts.seed ?? DEFAULT_BOOTSTRAP_SEED, `bootstrap:${opts.arm}:${opts.reference}:${opts.metric}`);
  const means = new Array<number>(resamples);
  const draw = new Array<number>(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) draw[i] = diffs[rng.int(n)];
    means[r] = plainMean(draw);
  }
  means.sort((x, y) => x - y);
  return {
    arm: opts.arm,
    reference: opts.reference,
    metric: opts.metric,
    seeds,
    mean: plainMean(diffs),
    lo: quantileSorted(means, 0.025),
    hi: quantileSorted(means, 0.975),
    resamples,
  };
}

/** Summary of one arm over its seeds (one row of the experiment table). */
export interface ArmSummary {
  arm: string;
  method: MethodName;
  /** children that completed with a test score, and children that failed */
  finished: number;
  failed: number;
  /** seeds of the finished children (ascending) */
  finishedSeeds: number[];
  /** the failed children: seed, workflow id, error message (as recorded by the parent) */
  failures: { seed: number; workflowId: string; error: string }[];
  /** final student on gold test, over finished seeds; fractions in [0, 1]; null when none finished */
  testAccuracy: MeanStd | null;
  testMacroF1: MeanStd | null;
  /** final student on gold validation; null when no finished seed has one (trained on validation) */
  validationAccuracy: MeanStd | null;
  /** validation accuracy − test accuracy per seed (seeds with both); null as above */
  valTestGap: MeanStd | null;
  /** training examples of the final student (synthetic + gold), over finished seeds */
  examplesUsed: MeanStd | null;
  /** of which synthetic / gold */
  syntheticExamples: MeanStd | null;
  goldExamples: MeanStd | null;
  /** teacher tokens counted against the budget (prompt + completion), over finished seeds */
  tokensUsed: MeanStd | null;
  /** teacher calls paid / reused from cache, summed over ALL children (failed ones spent them too) */
  paidCalls: number;
  reusedCalls: number;
  /** test accuracy of the student of each round over the finished seeds that reached it, by
   * ascending round (round 0 = seed data; methods without EES have only round 0) */
  roundTestAccuracy: { round: number; accuracy: MeanStd }[];
  /** paired difference arm − reference over common finished seeds; absent for the reference
   * itself, when the reference is not in the experiment, or when no seed is common */
  vsReference: { accuracy?: PairedDiff; macroF1?: PairedDiff };
}

/** The result of {@link armSummaries}. */
export interface ArmSummaries {
  reference: string;
  arms: ArmSummary[];
}

const maybeMeanStd = (xs: number[]): MeanStd | null => (xs.length > 0 ? meanStd(xs) : null);

const finishedOf = (rs: readonly ArmSeedResult[]) =>
  rs.filter(
    (r): r is ArmSeedResult & { test: NonNullable<ArmSeedResult['test']> } =>
      r.status === 'completed' && r.test !== null,
  );

/**
 * Per-arm summary of an experiment: counts, mean ± std over seeds of the final scores and of
 * the budget used, per-round test accuracy, and the paired bootstrap vs the reference arm.
 *
 * "Finished" = status "completed" with a test score; scores and budget use are over finished
 * children only; paid/reused calls are summed over all children (also failed ones).
 *
 * @param summary the experiment (arms in config order; results one per arm and seed)
 * @param reference arm name the paired differences are taken against (default "s3")
 * @param opts bootstrap resamples and seed (see {@link pairedBootstrap})
 * @returns arms in config order (results of arms not listed in `summary.arms` follow, by name)
 * @throws Error when an (arm, seed) appears twice in `summary.results`; RangeError for non-finite scores
 */
export function armSummaries(
  summary: ExperimentSummary,
  reference = 's3',
  opts: { resamples?: number; seed?: number } = {},
): ArmSummaries {
  const byArm = new Map<string, ArmSeedResult[]>();
  const methods = new Map<string, MethodName>();
  for (const a of summary.arms) {
    byArm.set(a.name, []);
    methods.set(a.name, a.method);
  }
  const extra = [...new Set(summary.results.map((r) => r.arm).filter((n) => !byArm.has(n)))].sort();
  for (const name of extra) byArm.set(name, []);
  for (const r of summary.results) {
    const list = byArm.get(r.arm)!;
    if (list.some((x) => x.seed === r.seed))
      throw new Error(`armSummaries: ${summary.experimentId} has two results for arm ${r.arm} seed ${r.seed}`);
    list.push(r);
    if (!methods.has(r.arm)) methods.set(r.arm, r.method);
  }
  const refFinished = finishedOf(byArm.get(reference) ?? []);
  const refAcc = new Map(refFinished.map((r) => [r.seed, r.test.accuracy]));
  const refF1 = new Map(refFinished.map((r) => [r.seed, r.test.macroF1]));
  const arms: ArmSummary[] = [];
  for (const [arm, results] of byArm) {
    const done = finishedOf(results).sort((x, y) => x.seed - y.seed);
    const failedRs = results.filter((r) => r.status === 'failed').sort((x, y) => x.seed - y.seed);
    const withVal = done.filter((r) => r.validation !== null);
    const rounds = new Map<number, number[]>();
    for (const r of done)
      for (const q of r.rounds) {
        const xs = rounds.get(q.round) ?? [];
        xs.push(q.test.accuracy);
        rounds.set(q.round, xs);
      }
    const vsReference: ArmSummary['vsReference'] = {};
    if (arm !== reference && byArm.has(reference)) {
      const common = done.filter((r) => refAcc.has(r.seed));
      if (common.length > 0) {
        const bs = { resamples: opts.resamples, seed: opts.seed, arm, reference };
        vsReference.accuracy = pairedBootstrap(new Map(done.map((r) => [r.seed, r.test.accuracy])), refAcc, {
          ...bs,
          metric: 'accuracy',
        });
        vsReference.macroF1 = pairedBootstrap(new Map(done.map((r) => [r.seed, r.test.macroF1])), refF1, {
          ...bs,
          metric: 'macroF1',
        });
      }
    }
    arms.push({
      arm,
      method: methods.get(arm)!,
      finished: done.length,
      failed: failedRs.length,
      finishedSeeds: done.map((r) => r.seed),
      failures: failedRs.map((r) => ({ seed: r.seed, workflowId: r.workflowId, error: r.error ?? '(no message)' })),
      testAccuracy: maybeMeanStd(done.map((r) => r.test.accuracy)),
      testMacroF1: maybeMeanStd(done.map((r) => r.test.macroF1)),
      validationAccuracy: maybeMeanStd(withVal.map((r) => r.validation!.accuracy)),
      valTestGap: maybeMeanStd(withVal.map((r) => r.validation!.accuracy - r.test.accuracy)),
      examplesUsed: maybeMeanStd(done.map((r) => r.used.syntheticExamples + r.used.goldExamples)),
      syntheticExamples: maybeMeanStd(done.map((r) => r.used.syntheticExamples)),
      goldExamples: maybeMeanStd(done.map((r) => r.used.goldExamples)),
      tokensUsed: maybeMeanStd(done.map((r) => r.used.tokens)),
      paidCalls: results.reduce((s, r) => s + r.used.paidCalls, 0),
      reusedCalls: results.reduce((s, r) => s + r.used.reusedCalls, 0),
      roundTestAccuracy: [...rounds.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([round, xs]) => ({ round, accuracy: meanStd(xs) })),
      vsReference,
    });
  }
  return { reference, arms };
}

/** One point of a learning curve: a trained student after `tokens` teacher tokens. */
export interface CurvePoint {
  round: number;
  /** cumulative teacher tokens (prompt + completion) spent before this student was trained */
  tokens: number;
  /** its gold test accuracy, in [0, 1] */
  accuracy: number;
}

/**
 * The learning curve of one arm on one seed: test accuracy of each round's student against
 * the teacher tokens spent so far (each round's `teacher` usage summed up to that round).
 * @returns points by round (empty for a child without rounds)
 */
export function learningCurve(r: ArmSeedResult): CurvePoint[] {
  let tokens = 0;
  return r.rounds.map((q) => {
    tokens += q.teacher.promptTokens + q.teacher.completionTokens;
    return { round: q.round, tokens, accuracy: q.test.accuracy };
  });
}

/**
 * Area under the test-accuracy vs teacher-tokens curve over [0, T], divided by T: the mean test
 * accuracy a user would have had along the way, per token spent (Kessler et al. 2025 compare
 * methods at equal teacher compute). Step interpolation: at t tokens the accuracy is that of
 * the latest student trained with ≤ t tokens; before the first one, `chance` (no data yet); an
 * arm that stopped before T keeps its last accuracy.
 * @param points a learning curve (learningCurve), tokens non-decreasing
 * @param T the horizon in tokens (> 0), e.g. the largest spend of any arm in the experiment
 * @param chance accuracy before any student, e.g. 1 / number of labels
 * @returns a value in [0, 1]; `chance` when the curve is empty
 * @throws RangeError when T ≤ 0
 */
export function curveAuc(points: readonly CurvePoint[], T: number, chance: number): number {
  if (!(T > 0)) throw new RangeError(`curveAuc: horizon T must be > 0, got ${T}`);
  let area = 0;
  let t = 0;
  let acc = chance;
  for (const p of points) {
    const until = Math.min(p.tokens, T);
    if (until > t) area += acc * (until - t);
    t = Math.max(t, until);
    acc = p.accuracy;
  }
  if (T > t) area += acc * (T - t);
  return area / T;
}

/**
 * Learning-curve AUC (curveAuc) per arm over its finished seeds, with the horizon T = the
 * largest token spend of any finished child and chance = 1 / number of labels.
 * @param labels number of labels of the task
 * @returns arm → mean ± std of the AUC (arms without finished seeds are absent); T used
 */
export function aucByArm(summary: ExperimentSummary, labels: number): { T: number; auc: Map<string, MeanStd> } {
  const done = finishedOf(summary.results);
  const T = Math.max(1, ...done.map((r) => learningCurve(r).at(-1)?.tokens ?? 0));
  const byArm = new Map<string, number[]>();
  for (const r of done) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), curveAuc(learningCurve(r), T, 1 / labels)]);
  return { T, auc: new Map([...byArm].map(([arm, xs]) => [arm, meanStd(xs)])) };
}
