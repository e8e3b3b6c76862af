/**
 * The experiment report's charts: declarative Vega-Lite specs (typed loosely as plain objects),
 * rendered server-side to SVG by report/render.ts. Nothing is drawn by hand.
 *
 * Offline by construction: every spec carries its data inline (`data.values`), the View gets a
 * loader that refuses every load, text is set in the generic "sans-serif" family (no web
 * font), and widths are estimated without a canvas. The SVGs reference nothing outside
 * themselves; their element ids are prefixed per chart so several can be inlined in one page.
 *
 * Units: accuracies are fractions in [0, 1] in the data, shown as % on the axes; tokens are
 * teacher tokens (prompt + completion) counted against the budget. Titles name the scores in the
 * task kind's metric names (report/metrics.ts: EM / F1 for extractive QA); the spec functions take
 * them as `m` (default: accuracy / macro-F1).
 *
 * Sources: Satyanarayan, Moritz, Wongsuphasawat & Heer (2017), "Vega-Lite: A Grammar of
 * Interactive Graphics", IEEE TVCG 23(1); the vega / vega-lite package documentation (View API:
 * `toSVG`, headless rendering with renderer "none").
 */
import type { ExperimentSummary } from '../domain/experiment.js';
import { learningCurve, type ArmSummaries, type ArmSummary } from '../domain/statistics.js';
import { armColor, band, HEIGHT, WIDTH } from './chartStyle.js';
import { CLASSIFICATION_METRICS, metricNamesOf, type MetricNames } from './metrics.js';
import { labelAgreementSpec, qualityMapSpec, readMapRows, type MapRow } from './qualityCharts.js';
import { renderChart, type Chart, type VegaLiteSpec } from './render.js';

export { labelAgreementSpec, MapRowSchema, qualityMapSpec, readMapRows, type MapRow } from './qualityCharts.js';
export { renderChart, type Chart, type VegaLiteSpec } from './render.js';

/**
 * (a) Test accuracy per round per arm: mean line (with points) and a ±1 std band over seeds.
 * Only arms with at least two rounds are drawn (one-round methods would be a single point).
 * @param stats armSummaries(...).arms
 * @param armOrder arm names in config order (color domain)
 * @param m the metric names (axis title)
 * @returns the spec, or null when no arm has two rounds
 */
export function roundAccuracySpec(
  stats: readonly ArmSummary[],
  armOrder: readonly string[],
  m: MetricNames = CLASSIFICATION_METRICS,
): VegaLiteSpec | null {
  const values = stats
    .filter((a) => a.roundTestAccuracy.length >= 2)
    .flatMap((a) =>
      a.roundTestAccuracy.map((r) => ({ arm: a.arm, round: r.round, n: r.accuracy.n, ...band(r.accuracy) })),
    );
  if (values.length === 0) return null;
  const drawn = [...new Set(values.map((v) => v.arm))];
  const x = {
    field: 'round',
    type: 'quantitative',
    title: 'round (0 = seed data)',
    axis: { tickMinStep: 1, format: 'd' },
  };
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    resolve: { legend: { color: 'independent' } },
    layer: [
      {
        mark: { type: 'errorband', opacity: 0.18 },
        encoding: {
          x,
          y: {
            field: 'lo',
            type: 'quantitative',
            title: `test ${m.accuracy}`,
            axis: { format: '.0%' },
            scale: { zero: false },
          },
          y2: { field: 'hi' },
          // the legend comes from the line layer (a solid symbol, not the pale band): legends are
          // resolved independently below and this layer has none
          color: { ...armColor(armOrder, drawn), legend: null },
        },
      },
      {
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative' },
          color: armColor(armOrder, drawn),
        },
      },
    ],
  };
}

/**
 * (b) Final test accuracy vs teacher tokens: one small point per finished seed and a large
 * diamond at the arm's mean (tokens, accuracy).
 * @param summary the experiment (finished results are drawn)
 * @param armOrder arm names in config order (color domain)
 * @param m the metric names (axis title)
 * @returns the spec, or null when no child finished
 */
export function accuracyVsTokensSpec(
  summary: ExperimentSummary,
  armOrder: readonly string[],
  m: MetricNames = CLASSIFICATION_METRICS,
): VegaLiteSpec | null {
  const seeds = summary.results
    .filter((r) => r.status === 'completed' && r.test !== null)
    .map((r) => ({ arm: r.arm, seed: r.seed, tokens: r.used.tokens, accuracy: r.test!.accuracy }));
  if (seeds.length === 0) return null;
  const means = armOrder
    .map((arm) => {
      const xs = seeds.filter((s) => s.arm === arm);
      if (xs.length === 0) return null;
      const avg = (f: (s: (typeof xs)[number]) => number) => xs.reduce((t, s) => t + f(s), 0) / xs.length;
      return { arm, tokens: avg((s) => s.tokens), accuracy: avg((s) => s.accuracy), n: xs.length };
    })
    .filter((m) => m !== null);
  const drawn = means.map((m) => m.arm);
  const x = {
    field: 'tokens',
    type: 'quantitative',
    title: 'teacher tokens used (prompt + completion)',
    // "~s" shares one SI prefix per axis (20k, 40k, …); show 0 as "0", not "0k"; the padding
    // (room for the points at 0 tokens) gives a small negative domain whose labels are hidden
    axis: { format: '~s', labelExpr: "datum.value < 0 ? '' : datum.value === 0 ? '0' : datum.label" },
    scale: { padding: 12, nice: false },
  };
  const y = {
    field: 'accuracy',
    type: 'quantitative',
    title: `final test ${m.accuracy}`,
    axis: { format: '.0%' },
    scale: { zero: false, padding: 12 },
  };
  return {
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: seeds },
        mark: { type: 'point', filled: true, opacity: 0.55, size: 45 },
        encoding: { x, y, color: armColor(armOrder, drawn) },
      },
      {
        data: { values: means },
        mark: { type: 'point', shape: 'diamond', filled: true, size: 170, stroke: '#222', strokeWidth: 1 },
        encoding: { x, y, color: armColor(armOrder, drawn) },
      },
    ],
  };
}

/**
 * (e) Learning curves: test accuracy of each round's student against the teacher tokens spent
 * so far, one step line per (arm, seed) (Kessler et al. 2025 compare at equal teacher compute).
 * @param m the metric names (axis title)
 * @returns null when no finished child has a round
 */
export function learningCurveSpec(
  summary: ExperimentSummary,
  armOrder: readonly string[],
  m: MetricNames = CLASSIFICATION_METRICS,
): VegaLiteSpec | null {
  const values = summary.results
    .filter((r) => r.status === 'completed')
    .flatMap((r) => learningCurve(r).map((p) => ({ arm: r.arm, seed: String(r.seed), ...p })));
  if (values.length === 0) return null;
  const drawn = [...new Set(values.map((v) => v.arm))];
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', interpolate: 'step-after', point: true, opacity: 0.8 },
    encoding: {
      x: { field: 'tokens', type: 'quantitative', title: 'teacher tokens spent so far', axis: { format: '~s' } },
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: `test ${m.accuracy}`,
        axis: { format: '.0%' },
        scale: { zero: false },
      },
      color: armColor(armOrder, drawn),
      detail: { field: 'seed', type: 'nominal' },
    },
  };
}

/**
 * (c) Bars of the mean final test accuracy per arm with mean ± 1 std error bars over seeds,
 * and the per-seed values as black dots.
 * @param stats armSummaries(...).arms
 * @param summary the experiment (per-seed dots)
 * @param m the metric names (axis title)
 * @returns the spec, or null when no arm has a test score
 */
export function finalAccuracyBarSpec(
  stats: readonly ArmSummary[],
  summary: ExperimentSummary,
  m: MetricNames = CLASSIFICATION_METRICS,
): VegaLiteSpec | null {
  const arms = stats.filter((a) => a.testAccuracy !== null);
  if (arms.length === 0) return null;
  const order = arms.map((a) => a.arm);
  const bars = arms.map((a) => ({ arm: a.arm, n: a.testAccuracy!.n, ...band(a.testAccuracy!) }));
  const dots = summary.results
    .filter((r) => r.status === 'completed' && r.test !== null && order.includes(r.arm))
    .map((r) => ({ arm: r.arm, seed: r.seed, accuracy: r.test!.accuracy }));
  const x = { field: 'arm', type: 'nominal', sort: order, title: null, axis: { labelAngle: -25, labelLimit: 160 } };
  const y = {
    type: 'quantitative',
    title: `final test ${m.accuracy}`,
    axis: { format: '.0%' },
    scale: { domain: [0, 1] },
  };
  return {
    width: { step: Math.max(44, Math.min(120, Math.floor(WIDTH / order.length))) },
    height: HEIGHT,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', opacity: 0.85, width: { band: 0.7 } },
        encoding: { x, y: { ...y, field: 'mean' }, color: { ...armColor(order), legend: null } },
      },
      {
        data: { values: bars },
        mark: { type: 'errorbar', ticks: { size: 16 }, thickness: 1.5, color: '#222' },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
      },
      {
        data: { values: dots },
        mark: { type: 'point', filled: true, color: '#222', size: 22, opacity: 0.8 },
        encoding: { x, y: { ...y, field: 'accuracy' } },
      },
    ],
  };
}

/**
 * (c') Paired differences arm − reference (accuracy and macro-F1) with their 95% bootstrap
 * percentile interval: a rule from lo to hi, a point at the mean, a dashed rule at 0.
 * @param stats armSummaries(...) (reference name and per-arm vsReference)
 * @param m the metric names (legend: accuracy / macro-F1, or EM / F1)
 * @returns the spec, or null when no arm has a paired difference
 */
export function pairedDiffSpec(stats: ArmSummaries, m: MetricNames = CLASSIFICATION_METRICS): VegaLiteSpec | null {
  const values = stats.arms.flatMap((a) =>
    [a.vsReference.accuracy, a.vsReference.macroF1]
      .filter((d) => d !== undefined)
      .map((d) => ({
        arm: a.arm,
        metric: d.metric === 'accuracy' ? m.accuracy : m.f1,
        // percentage points
        mean: 100 * d.mean,
        lo: 100 * d.lo,
        hi: 100 * d.hi,
        seeds: d.seeds.length,
      })),
  );
  if (values.length === 0) return null;
  const order = [...new Set(values.map((v) => v.arm))];
  const y = { field: 'arm', type: 'nominal', sort: order, title: null };
  const xTitle = `arm − ${stats.reference} (percentage points)`;
  // always show 0 (the dashed "no difference" rule), with a little room on both sides
  const lo = Math.min(0, ...values.map((v) => v.lo));
  const hi = Math.max(0, ...values.map((v) => v.hi));
  const pad = Math.max(0.5, 0.06 * (hi - lo));
  const xScale = { domain: [lo - pad, hi + pad], nice: true, zero: false };
  const color = {
    field: 'metric',
    type: 'nominal',
    scale: { domain: [m.accuracy, m.f1], range: ['#4c78a8', '#f58518'] },
  };
  return {
    width: WIDTH - 120,
    height: { step: 34 },
    layer: [
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
        encoding: { x: { field: 'zero', type: 'quantitative', title: xTitle, scale: xScale } },
      },
      {
        data: { values },
        mark: { type: 'rule', strokeWidth: 2.5 },
        encoding: {
          y,
          yOffset: { field: 'metric' },
          x: { field: 'lo', type: 'quantitative', title: xTitle, axis: { format: '+~g' }, scale: xScale },
          x2: { field: 'hi' },
          color,
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { y, yOffset: { field: 'metric' }, x: { field: 'mean', type: 'quantitative' }, color },
      },
    ],
  };
}

async function make(id: string, title: string, caption: string, spec: VegaLiteSpec | null): Promise<Chart | null> {
  if (spec === null) return null;
  const { svg, warnings } = await renderChart({ ...spec, title: undefined }, id);
  return { id, title, caption, svg, warnings };
}

/** Which charts a summary gives, by id, in report order (what {@link experimentCharts} returns). */
export function chartIds(summary: ExperimentSummary, stats: ArmSummaries): string[] {
  const order = stats.arms.map((a) => a.arm);
  // which charts exist does not depend on their titles (the metric names)
  return [
    roundAccuracySpec(stats.arms, order) && 'round-accuracy',
    accuracyVsTokensSpec(summary, order) && 'accuracy-vs-tokens',
    learningCurveSpec(summary, order) && 'learning-curves',
    finalAccuracyBarSpec(stats.arms, summary) && 'final-accuracy',
    pairedDiffSpec(stats) && 'paired-diff',
    labelAgreementSpec(summary, order) && 'label-agreement',
    ...summary.quality.map((q, i) => `quality-map-${i + 1}`),
  ].filter((x): x is string => typeof x === 'string');
}

/**
 * Every chart of the experiment report, rendered to SVG: (a) accuracy per round, (b) accuracy
 * vs tokens, (c) final accuracy bars and paired differences vs the reference, (d) one 2-D map
 * per QualityStudy; titled in the task kind's metric names (EM / F1 for extractive QA). Charts without data are left out; a map whose file cannot be read gives a
 * Chart with `svg: null` and the `error` (the rest of the report still renders).
 * @param summary the experiment
 * @param stats armSummaries(summary, reference)
 * @returns charts in report order, ids as {@link chartIds}
 * @throws Error when a chart spec fails to compile or render (a bug, not a data problem)
 */
export async function experimentCharts(summary: ExperimentSummary, stats: ArmSummaries): Promise<Chart[]> {
  const order = stats.arms.map((a) => a.arm);
  const ref = stats.reference;
  const m = metricNamesOf(summary);
  const charts = await Promise.all([
    make(
      'round-accuracy',
      `Test ${m.accuracy} per round`,
      'Mean over finished seeds (line) ± 1 sample std (band); round 0 is the seed data, later rounds add EES data. Only arms with more than one round.',
      roundAccuracySpec(stats.arms, order, m),
    ),
    make(
      'accuracy-vs-tokens',
      `Final test ${m.accuracy} vs teacher tokens`,
      'Small points: one finished seed each; diamonds: the arm’s mean. Tokens are prompt + completion counted against the budget (cached calls included).',
      accuracyVsTokensSpec(summary, order, m),
    ),
    make(
      'learning-curves',
      `Learning curves: test ${m.accuracy} vs teacher tokens spent`,
      'One step line per arm and seed: each point is a round’s student, at the tokens spent before it was trained. The table’s AUC is the area under this curve divided by the horizon.',
      learningCurveSpec(summary, order, m),
    ),
    make(
      'final-accuracy',
      `Final test ${m.accuracy} per arm`,
      'Bars: mean over finished seeds; error bars: ± 1 sample std; dots: the seeds.',
      finalAccuracyBarSpec(stats.arms, summary, m),
    ),
    make(
      'paired-diff',
      `Paired difference vs ${ref}`,
      `Arm − ${ref} over the seeds both finished (${m.accuracy} and ${m.f1}): point = mean difference, line = 95% paired-bootstrap percentile interval (crude with few seeds), dashed = no difference.`,
      pairedDiffSpec(stats, m),
    ),
    make(
      'label-agreement',
      'Label agreement with a gold-trained reference',
      'Share of each arm’s synthetic examples whose asked label a TF-IDF + logistic-regression reference, trained on gold data (train split, else gold validation), agrees with; bars: mean over seeds per origin (seed data, EES round q), dots: seeds, black tick: the reference’s own held-out accuracy.',
      labelAgreementSpec(summary, order),
    ),
  ]);
  const maps = await Promise.all(
    summary.quality.map(async (q, i): Promise<Chart> => {
      const id = `quality-map-${i + 1}`;
      const title = `2-D map: ${q.arm}, seed ${q.seed}`;
      const caption = `Gold test points vs synthetic points in the 2-D map (${q.features}); color = set, shape = label. Coverage ${(100 * q.coverage.share).toFixed(1)}% of gold test within γ = ${q.coverage.gamma.toPrecision(3)}.`;
      let rows: MapRow[];
      try {
        rows = await readMapRows(q);
      } catch (err) {
        return { id, title, caption, svg: null, error: (err as Error).message, warnings: [] };
      }
      return (await make(id, title, caption, qualityMapSpec(rows)))!;
    }),
  );
  return [...charts.filter((c) => c !== null), ...maps];
}
