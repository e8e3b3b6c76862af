/**
 * The experiment report: one self-contained `report.html` (inline CSS, inline SVG charts, no
 * script, no network reference), `report.md` (the same tables), `results.jsonl` (one row per
 * ArmSeedResult) and `results.json` (the ExperimentSummary).
 *
 * The results table (report/resultsTable.ts) is also what the CLI prints: EXPERIMENT_TABLE_HEAD +
 * experimentTableRows (cells as strings), like domain/roundTable.ts for rounds.
 *
 * Units: accuracies and macro-F1 in the data are fractions in [0, 1] (SQuAD EM and F1 for an
 * extractive QA task, named so: report/metrics.ts); the table shows them in % and differences in
 * percentage points (pp). Sources of the statistics: domain/statistics.ts
 * (Efron & Tibshirani 1993, paired bootstrap, percentile interval); the quality tables follow
 * S3 (Wang et al. 2023, "Let's Synthesize Step by Step") Tables 6 and 8.
 */
import { resolve } from 'node:path';
import type { Budget, ExperimentSummary, QualityStudy } from '../domain/experiment.js';
import { armSummaries, type ArmSummaries } from '../domain/statistics.js';
import { folderUri, openStore, type ArtifactStore } from '../store/index.js';
import { experimentCharts, type Chart } from './charts.js';
import { metricNamesOf, type MetricNames } from './metrics.js';
import { publishedTable } from './published.js';
import {
  escapeHtml,
  experimentTableHead,
  experimentTableRows,
  grouped,
  htmlResultsTables,
  htmlTable,
  mdTable,
  pct1,
  TABLE_REFERENCE,
} from './resultsTable.js';

export {
  EXPERIMENT_TABLE_HEAD,
  escapeHtml,
  experimentTableHead,
  experimentTableRows,
  fmtDiff,
  labelAgreementOfArm,
  rankByTestAccuracy,
  RESULTS_TABLE_PARTS,
  TABLE_REFERENCE,
} from './resultsTable.js';

/** "1 h 02 min", "3 min 12 s", "12.3 s" */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${String(Math.round(s - 60 * min)).padStart(2, '0')} s`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

const fmtBudget = (b: Budget) =>
  `${grouped(b.limit)} ${b.kind === 'examples' ? 'training examples' : 'teacher tokens'} per arm and seed`;

const num = (x: number | null, digits: number) => (x === null ? '—' : x.toFixed(digits));

const QUALITY6_HEAD = [
  'arm',
  'seed',
  'features',
  'pairs',
  'cosine',
  'edit distance (chars)',
  'gold length (words)',
  'synthetic length (words)',
];
const QUALITY8_HEAD = ['arm', 'seed', 'features', 'γ', 'γ rule', 'coverage of gold test'];

function quality6Rows(qs: readonly QualityStudy[]): string[][] {
  return qs.map((q) => [
    q.arm,
    String(q.seed),
    q.features,
    String(q.pairs.count),
    num(q.pairs.cosine, 3),
    num(q.pairs.editDistance, 1),
    num(q.pairs.goldWords, 1),
    num(q.pairs.syntheticWords, 1),
  ]);
}

function quality8Rows(qs: readonly QualityStudy[]): string[][] {
  return qs.map((q) => [
    q.arm,
    String(q.seed),
    q.features,
    q.coverage.gamma.toPrecision(3),
    q.coverage.gammaRule,
    `${pct1(q.coverage.share)}%`,
  ]);
}

/** Columns of the quality-filter table (synthesis.filters; activities/filters.ts). */
export const FILTERS_HEAD = [
  'arm',
  'filter',
  'outputs checked',
  'dropped',
  'share dropped',
  'teacher calls',
  'teacher tokens',
];

/**
 * What each arm's quality filters did, summed over its finished seeds: one row per (arm,
 * filter), arms in config order, filters in run order; no row for arms without filters.
 */
export function filterRows(summary: ExperimentSummary): string[][] {
  const rows: string[][] = [];
  for (const { name } of summary.arms) {
    const sum = new Map<string, { checked: number; dropped: number; calls?: number; tokens?: number }>();
    for (const r of summary.results)
      if (r.arm === name && r.status === 'completed')
        for (const [f, t] of Object.entries(r.usage.filters ?? {})) {
          const o = sum.get(f) ?? { checked: 0, dropped: 0 };
          o.checked += t.checked;
          o.dropped += t.dropped;
          if (t.calls !== undefined) o.calls = (o.calls ?? 0) + t.calls;
          if (t.tokens !== undefined) o.tokens = (o.tokens ?? 0) + t.tokens;
          sum.set(f, o);
        }
    for (const [f, t] of sum)
      rows.push([
        name,
        f,
        grouped(t.checked),
        grouped(t.dropped),
        t.checked ? `${pct1(t.dropped / t.checked)}%` : '—',
        t.calls === undefined ? '—' : grouped(t.calls),
        t.tokens === undefined ? '—' : grouped(t.tokens),
      ]);
  }
  return rows;
}

const FILTERS_NOTE =
  'Quality filters (synthesis.filters), summed over finished seeds: outputs looked at and dropped (each drop is a rejection in *.rejected.jsonl, asked again like any other); the self-check’s teacher calls and tokens are part of the arm’s calls and tokens.';

const FAILED_HEAD = ['arm', 'seed', 'workflow id', 'error'];
const failedRows = (stats: ArmSummaries) =>
  stats.arms.flatMap((a) => a.failures.map((f) => [a.arm, String(f.seed), f.workflowId, f.error]));

/** The results section's title, in the task kind's metric names. */
export const resultsTitle = (m: MetricNames) => `Results (ranked by mean test ${m.accuracy})`;

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The "how to read this" paragraphs (plain text; the same in HTML and Markdown), in the task
 * kind's metric names. */
export function howToRead(summary: ExperimentSummary, stats: ArmSummaries): string[] {
  const n = summary.seeds.length;
  const ref = stats.reference;
  const m = metricNamesOf(summary);
  return [
    `Every number is over seeds: "mean ± std" is the mean and the sample standard deviation (n − 1) over the finished seeds of an arm (${n} seed${n === 1 ? '' : 's'} configured). ${capitalized(m.accuracyLong)} and ${m.f1Long} are on the gold test split, which no method ever uses for a choice.`,
    `Δ ${m.acc} vs ${ref} is the mean of the per-seed differences (arm − ${ref}, same seed) in percentage points, with a 95% paired-bootstrap percentile interval (Efron & Tibshirani 1993). With only ${n} seed${n === 1 ? '' : 's'} this interval is crude: resampled means can only take the values of means of ${n} draws from ${n} differences, so it is a rough summary, not a calibrated confidence interval, and it is too narrow rather than too wide. An interval containing 0 means no measurable difference at this number of seeds; one excluding 0 is weak evidence — run more seeds before claiming a difference.`,
    'gold-validation (the student trained on the labeled validation examples) and s3+gold-validation (S3’s synthetic data plus those examples) answer the question “why not just train on my labeled examples?”: if gold-validation matches s3, synthesis bought nothing over the examples S3 already uses for EES.',
    `Validation metrics of arms trained on the validation split are not shown (“n/a (trained on val)”): they would be training ${m.accuracy}. The val−test gap (validation − test ${m.accuracy}) shows how much choosing by validation (EES) flatters the validation score.`,
    'Examples used counts the final student’s training set (synthetic + gold); tokens are the teacher tokens counted against the budget; calls are summed over all children, failed ones included (paid = answered by the backend, reused = answered from the cache).',
  ];
}

/** The published-figures section in Markdown (report/published.ts); none without `published`. */
function publishedMarkdown(summary: ExperimentSummary, stats: ArmSummaries): string[] {
  const t = publishedTable(summary, stats);
  if (!t) return [];
  return ['## Published figures', '', `Source: ${t.source}. ${PUBLISHED_NOTE}`, '', mdTable(t.head, t.rows), ''];
}

/** The published-figures section in HTML; none without `published`. */
function publishedHtml(summary: ExperimentSummary, stats: ArmSummaries): string[] {
  const t = publishedTable(summary, stats);
  if (!t) return [];
  const e = escapeHtml;
  return [
    '<section class="published"><h2>Published figures</h2>',
    `<p>Source: ${e(t.source)}. ${e(PUBLISHED_NOTE)}</p>`,
    `<div class="table-wrap">${htmlTable(t.head, t.rows, 'published')}</div>`,
    '</section>',
  ];
}

const PUBLISHED_NOTE =
  'The published figures are shown as the configuration gives them (published); they were measured under the conditions the source names, so read the two columns side by side, not as a difference.';

/** The Markdown report (also readable as plain text). */
function renderMarkdown(summary: ExperimentSummary, stats: ArmSummaries, charts: readonly Chart[]): string {
  const failed = failedRows(stats);
  const out = [
    `# Experiment ${summary.experimentId}`,
    '',
    `- budget: ${fmtBudget(summary.budget)}`,
    `- seeds: ${summary.seeds.join(', ')}`,
    `- arms: ${summary.arms.map((a) => a.name).join(', ')}`,
    `- children: ${summary.results.filter((r) => r.status === 'completed').length} completed, ${summary.results.filter((r) => r.status === 'failed').length} failed`,
    `- wall time: ${fmtDuration(summary.wallMs)}`,
    '',
    `## ${resultsTitle(metricNamesOf(summary))}`,
    '',
    mdTable(experimentTableHead(summary), experimentTableRows(summary, stats)),
    '',
    ...publishedMarkdown(summary, stats),
    '## How to read this',
    '',
    ...howToRead(summary, stats).flatMap((p) => [p, '']),
    '## Failed children',
    '',
    failed.length === 0 ? 'None.' : mdTable(FAILED_HEAD, failed),
    '',
  ];
  const filters = filterRows(summary);
  if (filters.length > 0) out.push('## Quality filters', '', FILTERS_NOTE, '', mdTable(FILTERS_HEAD, filters), '');
  if (summary.quality.length > 0)
    out.push(
      '## Data quality (S3 Table 6: misclassified gold example vs the example written from it)',
      '',
      mdTable(QUALITY6_HEAD, quality6Rows(summary.quality)),
      '',
      '## Coverage (S3 Table 8: share of gold test points within γ of a synthetic point in the 2-D map)',
      '',
      mdTable(QUALITY8_HEAD, quality8Rows(summary.quality)),
      '',
    );
  out.push(
    '## Charts',
    '',
    `${charts.length} chart${charts.length === 1 ? '' : 's'} in report.html: ${charts.map((c) => c.title).join('; ') || 'none'}.`,
    '',
  );
  return out.join('\n');
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1d1d1f; background: #fafafa; }
main { max-width: 1320px; margin: 0 auto; }
h1 { font-size: 22px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 16px 0 8px; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 0; }
dl.meta dt { color: #555; }
dl.meta dd { margin: 0; }
.table-wrap { overflow-x: auto; background: #fff; border: 1px solid #ddd; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 8px; text-align: left; vertical-align: top; border-bottom: 1px solid #eee; }
th { background: #f3f4f6; font-weight: 600; }
table.results th { min-width: 4.5em; }
table.results td { font-variant-numeric: tabular-nums; }
table.results .nw { white-space: nowrap; }
table.results th:first-child, table.results td:first-child { position: sticky; left: 0; z-index: 1; background: #fff; box-shadow: inset -1px 0 #eee; }
table.results th:first-child { background: #f3f4f6; }
table.results td:first-child { font-weight: 600; }
tbody tr:last-child td { border-bottom: none; }
td.error, table.failed td:last-child { white-space: pre-wrap; word-break: break-word; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: #9b1c1c; }
.read p { margin: 6px 0; max-width: 980px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(620px, 100%), 1fr)); gap: 16px; }
figure.chart { margin: 0; padding: 12px; background: #fff; border: 1px solid #ddd; border-radius: 6px; overflow-x: auto; }
figure.chart h3 { font-size: 14px; margin: 0 0 6px; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figure.chart figcaption { color: #555; font-size: 12.5px; margin-top: 6px; }
.chart-missing { padding: 12px; border: 1px dashed #c00; border-radius: 6px; color: #9b1c1c; background: #fff; }
details { margin-top: 28px; }
details pre { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 12px; overflow-x: auto; }
.muted { color: #666; }
@media (max-width: 1000px) { body { padding: 16px 16px 32px; } }
`;

/** The HTML report: one self-contained document. */
function renderHtml(summary: ExperimentSummary, stats: ArmSummaries, charts: readonly Chart[]): string {
  const e = escapeHtml;
  const failed = failedRows(stats);
  const completed = summary.results.filter((r) => r.status === 'completed').length;
  const meta: [string, string][] = [
    ['budget', fmtBudget(summary.budget)],
    ['seeds', summary.seeds.join(', ')],
    ['arms', summary.arms.map((a) => (a.name === a.method ? a.name : `${a.name} (${a.method})`)).join(', ')],
    ['children', `${completed} completed, ${failed.length} failed, of ${summary.arms.length * summary.seeds.length}`],
    ['wall time', fmtDuration(summary.wallMs)],
  ];
  const figure = (c: Chart) =>
    c.svg === null
      ? `<div class="chart-missing" data-chart-missing="${e(c.id)}"><strong>${e(c.title)}</strong>: not drawn — ${e(c.error ?? 'no data')}</div>`
      : `<figure class="chart" data-chart="${e(c.id)}"><h3>${e(c.title)}</h3>\n${c.svg}\n<figcaption>${e(c.caption)}</figcaption></figure>`;
  const parts = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Experiment ${e(summary.experimentId)} — s3-synth</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body><main>',
    `<header><h1>Experiment <code>${e(summary.experimentId)}</code></h1>`,
    `<dl class="meta">${meta.map(([k, v]) => `<dt>${e(k)}</dt><dd>${e(v)}</dd>`).join('')}</dl></header>`,
    `<section><h2>${e(resultsTitle(metricNamesOf(summary)))}</h2>`,
    htmlResultsTables(summary, experimentTableRows(summary, stats)),
    '</section>',
    ...publishedHtml(summary, stats),
    '<section class="read"><h2>How to read this</h2>',
    ...howToRead(summary, stats).map((p) => `<p>${e(p)}</p>`),
    '</section>',
    '<section><h2>Failed children</h2>',
    failed.length === 0
      ? '<p class="muted">None.</p>'
      : `<div class="table-wrap">${htmlTable(FAILED_HEAD, failed, 'failed')}</div>`,
    '</section>',
  ];
  const filters = filterRows(summary);
  if (filters.length > 0)
    parts.push(
      '<section><h2>Quality filters</h2>',
      `<p>${e(FILTERS_NOTE)}</p>`,
      `<div class="table-wrap">${htmlTable(FILTERS_HEAD, filters, 'filters')}</div>`,
      '</section>',
    );
  if (summary.quality.length > 0)
    parts.push(
      '<section><h2>Data quality</h2>',
      '<h3>S3 Table 6: misclassified gold example vs the example the teacher wrote from it (means over pairs)</h3>',
      `<div class="table-wrap">${htmlTable(QUALITY6_HEAD, quality6Rows(summary.quality), 'quality6')}</div>`,
      '<h3>S3 Table 8: share of gold test points within radius γ of a synthetic point in the 2-D map</h3>',
      `<div class="table-wrap">${htmlTable(QUALITY8_HEAD, quality8Rows(summary.quality), 'quality8')}</div>`,
      '</section>',
    );
  parts.push(
    '<section><h2>Charts</h2>',
    charts.length === 0
      ? '<p class="muted">No chart: no child finished.</p>'
      : `<div class="charts">${charts.map(figure).join('\n')}</div>`,
    '</section>',
    `<details><summary>Configuration</summary><pre>${e(JSON.stringify(summary.config, null, 2) ?? 'null')}</pre></details>`,
    '</main></body>',
    '</html>',
    '',
  );
  return parts.join('\n');
}

/**
 * Writes the experiment report into `outDir` (created when missing) through the artifact store
 * rooted there: every file is written atomically and idempotently (store/).
 * - report.html: ONE self-contained file (inline CSS and SVG, no script, no network reference;
 *   a Content-Security-Policy forbids any load): header (id, budget, seeds, wall time), results
 *   table, how to read it, failed children with their errors, S3 Tables 6 and 8 when a
 *   QualityStudy is present, and the charts (report/charts.ts). All text is HTML-escaped.
 * - report.md: the same header and tables in Markdown.
 * - results.jsonl: one JSON row per ArmSeedResult, in summary order.
 * - results.json: the ExperimentSummary (pretty-printed).
 * @param summary the experiment (scores: fractions in [0, 1])
 * @param outDir directory to write into (relative paths resolve against the cwd)
 * @param store the artifact store rooted at outDir (default: the local folder)
 * @returns absolute paths of the four files (their URIs for a store without local files)
 * @throws as {@link armSummaries} (duplicate results); Error when a chart fails to render; fs
 *   errors. A QualityStudy whose map file cannot be read does not throw: its chart is replaced
 *   by a note with the reason.
 */
export async function writeExperimentReport(
  summary: ExperimentSummary,
  outDir: string,
  store: ArtifactStore = openStore({ uri: folderUri(resolve(outDir)) }),
): Promise<{ html: string; md: string; resultsJsonl: string; resultsJson: string }> {
  const stats = armSummaries(summary, TABLE_REFERENCE);
  const charts = await experimentCharts(summary, stats);
  const where = (r: { path?: string; uri?: string }) => r.path ?? r.uri ?? '';
  const resultsJsonl = where(await store.putJsonl('results.jsonl', summary.results));
  const resultsJson = where(await store.put('results.json', `${JSON.stringify(summary, null, 2)}\n`));
  const md = where(await store.put('report.md', renderMarkdown(summary, stats, charts)));
  const html = where(await store.put('report.html', renderHtml(summary, stats, charts)));
  return { html, md, resultsJsonl, resultsJson };
}
