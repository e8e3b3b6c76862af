/**
 * What every chart of the experiment report shares (report/charts.ts, report/qualityCharts.ts):
 * the plot size, one color per arm in every chart, and the ±1 std band of a mean.
 * Pure module.
 */

/** plot width and height in px (Vega-Lite units) */
export const WIDTH = 500;
export const HEIGHT = 260;
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
export function armColor(arms: readonly string[], present: readonly string[] = arms) {
  return {
    field: 'arm',
    type: 'nominal',
    title: 'arm',
    scale: { domain: [...arms], range: ARM_COLORS },
    sort: [...arms],
    legend: { values: arms.filter((a) => present.includes(a)) },
  };
}

export const band = (m: { mean: number; std: number | null }) => ({
  mean: m.mean,
  lo: m.mean - (m.std ?? 0),
  hi: m.mean + (m.std ?? 0),
});
