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
 * teacher tokens (prompt + completion) counted against the budget.
 *
 * Sources: Satyanarayan, Moritz, Wongsuphasawat & Heer (2017), "Vega-Lite: A Grammar of
 * Interactive Graphics", IEEE TVCG 23(1); the vega / vega-lite package documentation (View API:
 * `toSVG`, headless rendering with renderer "none").
 */
import { renderChart, type Chart, type VegaLiteSpec } from './render.js';

export { renderChart, type Chart, type VegaLiteSpec } from './render.js';
import type { ExperimentSummary, QualityStudy } from '../domain/experiment.js';
import { learningCurve, type ArmSummaries, type ArmSummary } from '../domain/statistics.js';

/** A row of a QualityStudy's 2-D map JSONL. */
import { MapRowSchema, type MapRow } from '../domain/experiment.js';
import { refUri, storeFor } from '../store/index.js';
export { MapRowSchema, type MapRow };

const WIDTH = 500;
const HEIGHT = 260;
/** ColorBrewer/Tableau "tableau10": one color per arm, the same in every chart */
const ARM_COLORS = [
  '#4c78a8',
  '#f58518',
  '#e45756',
  '#72b7b2',
  '#54a24b',
  '#eeca3b',
  '#b279a2',
  '#ff9da6',
  '#9d755d',
  '#bab0ac',
];

/** Color encoding of arms, with a fixed domain so every chart uses the same color per arm;
 * the legend lists only the arms drawn (`present`, default all). */
function armColor(arms: readonly string[], present: readonly string[] = arms) {
  return {
    field: 'arm',
    type: 'nominal',
    title: 'arm',
    scale: { domain: [...arms], range: ARM_COLORS },
    sort: [...arms],
    legend: { values: arms.filter((a) => present.includes(a)) },
  };
}

const band = (m: { mean: number; std: number | null }) => ({
  mean: m.mean,
  lo: m.mean - (m.std ?? 0),
  hi: m.mean + (m.std ?? 0),
});

/**
 * (a) Test accuracy per round per arm: mean line (with points) and a ±1 std band over seeds.
 * Only arms with at least two rounds are drawn (one-round methods would be a single point).
 * @param stats armSummaries(...).arms
 * @param armOrder arm names in config order (color domain)
 * @returns the spec, or null when no arm has two rounds
 */
export function roundAccuracySpec(stats: readonly ArmSummary[], armOrder: readonly string[]): VegaLiteSpec | null {
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
            title: 'test accuracy',
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
 * @returns the spec, or null when no child finished
 */
export function accuracyVsTokensSpec(summary: ExperimentSummary, armOrder: readonly string[]): VegaLiteSpec | null {
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
    title: 'final test accuracy',
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
 * (c) Bars of the mean final test accuracy per arm with mean ± 1 std error bars over seeds,
 * and the per-seed values as black dots.
 * @param stats armSummaries(...).arms
 * @param summary the experiment (per-seed dots)
 * @returns the spec, or null when no arm has a test score
 */
/**
 * (e) Learning curves: test accuracy of each round's student against the teacher tokens spent
 * so far, one step line per (arm, seed) (Kessler et al. 2025 compare at equal teacher compute).
 * @returns null when no finished child has a round
 */
export function learningCurveSpec(summary: ExperimentSummary, armOrder: readonly string[]): VegaLiteSpec | null {
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
        title: 'test accuracy',
        axis: { format: '.0%' },
        scale: { zero: false },
      },
      color: armColor(armOrder, drawn),
      detail: { field: 'seed', type: 'nominal' },
    },
  };
}

export function finalAccuracyBarSpec(stats: readonly ArmSummary[], summary: ExperimentSummary): VegaLiteSpec | null {
  const arms = stats.filter((a) => a.testAccuracy !== null);
  if (arms.length === 0) return null;
  const order = arms.map((a) => a.arm);
  const bars = arms.map((a) => ({ arm: a.arm, n: a.testAccuracy!.n, ...band(a.testAccuracy!) }));
  const dots = summary.results
    .filter((r) => r.status === 'completed' && r.test !== null && order.includes(r.arm))
    .map((r) => ({ arm: r.arm, seed: r.seed, accuracy: r.test!.accuracy }));
  const x = { field: 'arm', type: 'nominal', sort: order, title: null, axis: { labelAngle: -25, labelLimit: 160 } };
  const y = { type: 'quantitative', title: 'final test accuracy', axis: { format: '.0%' }, scale: { domain: [0, 1] } };
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
 * (e) Label agreement per arm: the share of synthetic examples whose asked label a gold-trained
 * reference classifier agrees with (quality/labelAgreement.ts), by origin (seed, EES round q,
 * …), mean over finished seeds (bars) with the seeds as dots; a black tick marks the
 * reference's own held-out accuracy (mean over seeds), the ceiling an agreement can be read against.
 * @returns the spec, or null when no arm has label agreement (gold arms, old results)
 */
export function labelAgreementSpec(summary: ExperimentSummary, armOrder: readonly string[]): VegaLiteSpec | null {
  const done = summary.results.filter((r) => r.status === 'completed' && r.labelAgreement);
  if (done.length === 0) return null;
  const dots = done.flatMap((r) =>
    Object.entries(r.labelAgreement!.byOrigin)
      .filter(([, c]) => c.rate !== null)
      .map(([origin, c]) => ({ arm: r.arm, origin, seed: r.seed, rate: c.rate!, count: c.count })),
  );
  const groups = new Map<string, number[]>();
  for (const d of dots)
    groups.set(`${d.arm}\u0000${d.origin}`, [...(groups.get(`${d.arm}\u0000${d.origin}`) ?? []), d.rate]);
  const bars = [...groups].map(([k, rates]) => {
    const [arm, origin] = k.split('\u0000');
    return { arm, origin, mean: rates.reduce((a, b) => a + b, 0) / rates.length, n: rates.length };
  });
  const refs = new Map<string, number[]>();
  for (const r of done) refs.set(r.arm, [...(refs.get(r.arm) ?? []), r.labelAgreement!.reference.heldOut.accuracy]);
  const ticks = [...refs].map(([arm, xs]) => ({ arm, accuracy: xs.reduce((a, b) => a + b, 0) / xs.length }));
  const order = armOrder.filter((a) => refs.has(a));
  const origins = [...new Set(dots.map((d) => d.origin))].sort((a, b) =>
    a === 'seed' ? -1 : b === 'seed' ? 1 : a.localeCompare(b, 'en', { numeric: true }),
  );
  const x = { field: 'arm', type: 'nominal', sort: order, title: null, axis: { labelAngle: -25, labelLimit: 160 } };
  const y = {
    type: 'quantitative',
    title: 'reference agrees with the asked label',
    axis: { format: '.0%' },
    scale: { domain: [0, 1] },
  };
  const color = { field: 'origin', type: 'nominal', sort: origins, title: 'origin' };
  return {
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', opacity: 0.85 },
        encoding: { x, xOffset: { field: 'origin', sort: origins }, y: { ...y, field: 'mean' }, color },
      },
      {
        data: { values: dots },
        mark: { type: 'point', filled: true, color: '#222', size: 18, opacity: 0.7 },
        encoding: { x, xOffset: { field: 'origin', sort: origins }, y: { ...y, field: 'rate' } },
      },
      {
        data: { values: ticks },
        mark: { type: 'tick', color: '#000', thickness: 2, size: 40 },
        encoding: { x, y: { ...y, field: 'accuracy' } },
      },
    ],
  };
}

/**
 * (c') Paired differences arm − reference (accuracy and macro-F1) with their 95% bootstrap
 * percentile interval: a rule from lo to hi, a point at the mean, a dashed rule at 0.
 * @param stats armSummaries(...) (reference name and per-arm vsReference)
 * @returns the spec, or null when no arm has a paired difference
 */
export function pairedDiffSpec(stats: ArmSummaries): VegaLiteSpec | null {
  const values = stats.arms.flatMap((a) =>
    [a.vsReference.accuracy, a.vsReference.macroF1]
      .filter((d) => d !== undefined)
      .map((d) => ({
        arm: a.arm,
        metric: d.metric === 'accuracy' ? 'accuracy' : 'macro-F1',
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
    scale: { domain: ['accuracy', 'macro-F1'], range: ['#4c78a8', '#f58518'] },
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

/**
 * (d) The 2-D map of one QualityStudy: gold-test and synthetic points, colored by set, shaped
 * by label (S3 Table 8's picture).
 * @param rows the map rows ({x, y, set, label})
 * @returns the spec (throws nothing; an empty map gives an empty plot)
 */
export function qualityMapSpec(rows: readonly MapRow[]): VegaLiteSpec {
  return {
    width: 420,
    height: 320,
    data: { values: rows.map((r) => ({ ...r })) },
    mark: { type: 'point', filled: true, opacity: 0.6, size: 30 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'map x', scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: 'map y', scale: { zero: false } },
      color: {
        field: 'set',
        type: 'nominal',
        title: 'set',
        scale: { domain: ['gold-test', 'synthetic'], range: ['#4c78a8', '#e45756'] },
      },
      shape: { field: 'label', type: 'nominal', title: 'label' },
      // synthetic drawn last (on top) so the coverage is visible
      order: { field: 'set', sort: 'ascending' },
    },
  };
}

/**
 * Reads a QualityStudy's map JSONL through the artifact store that holds it (sha256 checked).
 * @param q the study (its `map` reference: a uri, or an absolute path in old results)
 * @returns rows in file order
 * @throws DatasetError (data/jsonl.ts) when the file is missing, empty or a row is not
 *   {x, y, set, label}; IntegrityError when it changed after the study recorded it
 */
export async function readMapRows(q: QualityStudy): Promise<MapRow[]> {
  return storeFor(refUri(q.map)).getJsonl(q.map, MapRowSchema);
}

async function make(id: string, title: string, caption: string, spec: VegaLiteSpec | null): Promise<Chart | null> {
  if (spec === null) return null;
  const { svg, warnings } = await renderChart({ ...spec, title: undefined }, id);
  return { id, title, caption, svg, warnings };
}

/** Which charts a summary gives, by id, in report order (what {@link experimentCharts} returns). */
export function chartIds(summary: ExperimentSummary, stats: ArmSummaries): string[] {
  const order = stats.arms.map((a) => a.arm);
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
 * per QualityStudy. Charts without data are left out; a map whose file cannot be read gives a
 * Chart with `svg: null` and the `error` (the rest of the report still renders).
 * @param summary the experiment
 * @param stats armSummaries(summary, reference)
 * @returns charts in report order, ids as {@link chartIds}
 * @throws Error when a chart spec fails to compile or render (a bug, not a data problem)
 */
export async function experimentCharts(summary: ExperimentSummary, stats: ArmSummaries): Promise<Chart[]> {
  const order = stats.arms.map((a) => a.arm);
  const ref = stats.reference;
  const charts = await Promise.all([
    make(
      'round-accuracy',
      'Test accuracy per round',
      'Mean over finished seeds (line) ± 1 sample std (band); round 0 is the seed data, later rounds add EES data. Only arms with more than one round.',
      roundAccuracySpec(stats.arms, order),
    ),
    make(
      'accuracy-vs-tokens',
      'Final test accuracy vs teacher tokens',
      'Small points: one finished seed each; diamonds: the arm’s mean. Tokens are prompt + completion counted against the budget (cached calls included).',
      accuracyVsTokensSpec(summary, order),
    ),
    make(
      'learning-curves',
      'Learning curves: test accuracy vs teacher tokens spent',
      'One step line per arm and seed: each point is a round’s student, at the tokens spent before it was trained. The table’s AUC is the area under this curve divided by the horizon.',
      learningCurveSpec(summary, order),
    ),
    make(
      'final-accuracy',
      'Final test accuracy per arm',
      'Bars: mean over finished seeds; error bars: ± 1 sample std; dots: the seeds.',
      finalAccuracyBarSpec(stats.arms, summary),
    ),
    make(
      'paired-diff',
      `Paired difference vs ${ref}`,
      `Arm − ${ref} over the seeds both finished: point = mean difference, line = 95% paired-bootstrap percentile interval (crude with few seeds), dashed = no difference.`,
      pairedDiffSpec(stats),
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
