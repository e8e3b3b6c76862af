/**
 * The experiment report's data-quality charts: label agreement with a gold-trained reference per
 * arm, and the 2-D map of one QualityStudy (S3 Table 8's picture). Vega-Lite specs as in
 * report/charts.ts, which lists them with the other charts.
 */
import { MapRowSchema, type ExperimentSummary, type MapRow, type QualityStudy } from '../domain/experiment.js';
import { refUri, storeFor } from '../store/index.js';
import { HEIGHT, WIDTH } from './chartStyle.js';
import type { VegaLiteSpec } from './render.js';

/** A row of a QualityStudy's 2-D map JSONL. */
export { MapRowSchema, type MapRow };

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
