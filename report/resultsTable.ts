/**
 * The experiment's results table: its columns (one list for report.md and the CLI, two tables
 * for report.html so each fits a page), the cells of each arm (mean ± std over seeds, the paired
 * difference to the reference arm with its bootstrap interval), and the Markdown and HTML
 * renderings. Units: fractions in the data, % and percentage points (pp) in the cells.
 * Statistics: domain/statistics.ts (Efron & Tibshirani 1993, paired bootstrap). Pure module.
 */
import type { ExperimentSummary, MeanStd, PairedDiff } from '../domain/experiment.js';
import { armSummaries, aucByArm, meanStd, type ArmSummaries, type ArmSummary } from '../domain/statistics.js';
import { CLASSIFICATION_METRICS, metricNamesOf, type MetricNames } from './metrics.js';

/** The reference arm of the table's Δ column. */
export const TABLE_REFERENCE = 's3';

/** Columns of the experiment results table (report.html, report.md and the CLI). */
export const EXPERIMENT_TABLE_HEAD = [
  'arm',
  'method',
  'ok/failed',
  'test acc',
  'test macro-F1',
  'val acc',
  'val−test gap',
  `Δ acc vs ${TABLE_REFERENCE} [95% CI]`,
  'examples used',
  'tokens used',
  'AUC acc×tokens',
  'calls paid/reused',
  'label agreement',
];

/**
 * How report.html splits the results table into two narrower tables that fit a laptop screen
 * (1280 px and 900 px wide windows without horizontal scrolling): the scores, then the seeds
 * finished, cost and data columns, both with the arm first and the rows in the same order. Columns are
 * named as in {@link EXPERIMENT_TABLE_HEAD} (classification names; a QA experiment's head is
 * translated by position). report.md and the CLI keep the one wide table.
 */
export const RESULTS_TABLE_PARTS: readonly { id: string; title: string; columns: readonly string[] }[] = [
  {
    id: 'scores',
    title: 'Scores',
    columns: [
      'arm',
      'method',
      'test acc',
      'test macro-F1',
      'val acc',
      'val−test gap',
      `Δ acc vs ${TABLE_REFERENCE} [95% CI]`,
    ],
  },
  {
    id: 'cost',
    title: 'Seeds, cost and data (same row order)',
    columns: [
      'arm',
      'ok/failed',
      'examples used',
      'tokens used',
      'AUC acc×tokens',
      'calls paid/reused',
      'label agreement',
    ],
  },
];

/** Hover text (the `title` attribute) of the results table's terser heads, by base column name,
 * in the task kind's metric names. */
function resultsHeadTitles(m: MetricNames): Readonly<Record<string, string>> {
  return {
    'ok/failed': 'seeds finished / seeds failed',
    'val−test gap': `validation − test ${m.accuracy}, percentage points`,
    [`Δ acc vs ${TABLE_REFERENCE} [95% CI]`]: `mean per-seed difference to ${TABLE_REFERENCE} in percentage points, 95% paired-bootstrap interval, number of common seeds`,
    'examples used': 'the final student’s training set (synthetic + gold)',
    'tokens used': 'teacher tokens counted against the budget',
    'AUC acc×tokens': `area under the learning curve (test ${m.accuracy} vs teacher tokens spent) divided by the horizon`,
    'calls paid/reused': 'teacher calls answered by the backend / from the cache, summed over all children',
    'label agreement':
      'share of synthetic examples whose label a gold-trained reference agrees with (mean ± std over seeds)',
  };
}

/**
 * The results table's head for a summary, in its task kind's metric names (report/metrics.ts):
 * extractive QA names SQuAD EM where classification has accuracy and F1 where it has macro-F1
 * (the same cells hold them).
 */
export function experimentTableHead(summary: Pick<ExperimentSummary, 'results'>): string[] {
  const n = metricNamesOf(summary);
  if (n === CLASSIFICATION_METRICS) return [...EXPERIMENT_TABLE_HEAD];
  return EXPERIMENT_TABLE_HEAD.map((h) => h.replace(/macro-F1/, n.f1).replace(/\bacc\b/, n.acc));
}

export const pct1 = (x: number) => (100 * x).toFixed(1);
const signed = (x: number, digits = 1) => {
  const s = x.toFixed(digits);
  return Number(s) === 0 ? s.replace('-', '') : x > 0 ? `+${s}` : s.replace('-', '−');
};
/** 1234567.4 → "1,234,567" (rounded to an integer; locale-independent) */
export const grouped = (x: number) => {
  const int = Math.abs(Math.round(x)).toFixed(0);
  return `${Math.round(x) < 0 ? '−' : ''}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
};

/** "85.3 ± 1.2%" (std over seeds), "85.3%" with one seed, "—" without data. */
export function fmtPct(m: MeanStd | null): string {
  if (m === null) return '—';
  return m.std === null ? `${pct1(m.mean)}%` : `${pct1(m.mean)} ± ${pct1(m.std)}%`;
}

/** "+1.2 ± 0.8 pp" */
function fmtPp(m: MeanStd | null): string {
  if (m === null) return '—';
  return m.std === null ? `${signed(100 * m.mean)} pp` : `${signed(100 * m.mean)} ± ${pct1(m.std)} pp`;
}

/** "1,000 ± 12" */
function fmtCount(m: MeanStd | null): string {
  if (m === null) return '—';
  return m.std === null || Math.round(m.std) === 0 ? grouped(m.mean) : `${grouped(m.mean)} ± ${grouped(m.std)}`;
}

/** "+1.2 pp [−0.5, +2.9] (n=3)" */
export function fmtDiff(d: PairedDiff | undefined): string {
  if (d === undefined) return '—';
  return `${signed(100 * d.mean)} pp [${signed(100 * d.lo)}, ${signed(100 * d.hi)}] (n=${d.seeds.length})`;
}

function examplesCell(a: ArmSummary): string {
  const total = fmtCount(a.examplesUsed);
  if (a.goldExamples === null || a.goldExamples.mean === 0) return total;
  if (a.syntheticExamples === null || a.syntheticExamples.mean === 0) return `${total} gold`;
  return `${total} (${grouped(a.goldExamples.mean)} gold)`;
}

function valCell(a: ArmSummary, m: MeanStd | null, fmt: (m: MeanStd | null) => string): string {
  if (m === null && a.finished > 0) return 'n/a (trained on val)';
  return fmt(m);
}

/**
 * The rows of the experiment results table, one per arm in config order, cells in
 * {@link EXPERIMENT_TABLE_HEAD} order: accuracies as "mean ± std%" over finished seeds (std
 * sample, n − 1), gap and Δ in percentage points, Δ with its 95% paired-bootstrap interval vs
 * "s3" and the number of common seeds, counts as "mean ± std", calls as sums over all children.
 * @param summary the experiment
 * @param stats precomputed armSummaries(summary, "s3") (computed when absent)
 * @returns string cells, no markup (escape them for HTML / Markdown)
 * @throws as {@link armSummaries} (duplicate (arm, seed) results)
 */
export function experimentTableRows(summary: ExperimentSummary, stats?: ArmSummaries): string[][] {
  const s = stats ?? armSummaries(summary, TABLE_REFERENCE);
  const labels = (summary.config as { task?: { labels?: unknown[] } } | null)?.task?.labels?.length ?? 2;
  const { auc } = aucByArm(summary, metricNamesOf(summary).chanceLabels(labels));
  return rankByTestAccuracy(s.arms).map((a) => [
    a.arm,
    a.method,
    `${a.finished}/${a.failed}`,
    fmtPct(a.testAccuracy),
    fmtPct(a.testMacroF1),
    valCell(a, a.validationAccuracy, fmtPct),
    valCell(a, a.valTestGap, fmtPp),
    a.arm === s.reference ? 'reference' : fmtDiff(a.vsReference.accuracy),
    examplesCell(a),
    fmtCount(a.tokensUsed),
    fmtPct(auc.get(a.arm) ?? null),
    `${grouped(a.paidCalls)}/${grouped(a.reusedCalls)}`,
    fmtPct(labelAgreementOfArm(summary, a.arm)),
  ]);
}

/**
 * Mean ± std over an arm's finished seeds of the share of its synthetic examples whose label
 * a gold-trained reference agrees with (quality/labelAgreement.ts); null when no seed has one
 * (gold arms, results recorded before the metric).
 */
export function labelAgreementOfArm(summary: ExperimentSummary, arm: string): MeanStd | null {
  const rates = summary.results
    .filter((r) => r.arm === arm && r.status === 'completed')
    .map((r) => r.labelAgreement?.overall.rate)
    .filter((x): x is number => typeof x === 'number');
  return rates.length ? meanStd(rates) : null;
}

/**
 * Arms ranked by mean final test accuracy, best first; arms without a finished seed last;
 * ties keep config order (stable sort).
 */
export function rankByTestAccuracy(arms: readonly ArmSummary[]): ArmSummary[] {
  const acc = (a: ArmSummary) => a.testAccuracy?.mean ?? -Infinity;
  return [...arms].sort((x, y) => acc(y) - acc(x));
}

/**
 * Escapes text for HTML element content and attribute values (& < > " ').
 * @returns the escaped string
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Markdown table cell: pipes escaped, newlines flattened. */
const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function mdTable(head: readonly string[], rows: readonly string[][]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function htmlTable(
  head: readonly string[],
  rows: readonly string[][],
  cls: string,
  opts: {
    titles?: readonly (string | undefined)[];
    part?: string;
    cell?: (text: string, column: number) => string;
  } = {},
): string {
  const th = head
    .map((h, i) => {
      const title = opts.titles?.[i];
      return title ? `<th title="${escapeHtml(title)}">${escapeHtml(h)}</th>` : `<th>${escapeHtml(h)}</th>`;
    })
    .join('');
  const cell = opts.cell ?? escapeHtml;
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td>${cell(c, i)}</td>`).join('')}</tr>`).join('\n');
  const part = opts.part === undefined ? '' : ` data-part="${escapeHtml(opts.part)}"`;
  return `<table class="${cls}"${part}><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/**
 * A cell that may break only before a bracketed or parenthesized part that does not follow a
 * bracket ("−9.3 pp" / "[−10.1, −8.5] (n=2)", "n/a" / "(trained on val)"): each piece in a `span.nw` (white-space: nowrap), joined
 * by the space that was there, so the cell's text is unchanged.
 * @returns escaped HTML
 */
const wrapBeforeBrackets = (text: string) =>
  text
    .split(/(?<!\]) (?=[[(])/)
    .map((piece) => `<span class="nw">${escapeHtml(piece)}</span>`)
    .join(' ');

/**
 * The results table of report.html as {@link RESULTS_TABLE_PARTS}: one `table.results` per part
 * (`data-part` its id) in a horizontally scrollable `.table-wrap` (a fallback for windows
 * narrower than ~900 px), each under its h3 title; heads carry a `title` explaining them.
 * @param summary the experiment (for its metric names)
 * @param rows {@link experimentTableRows}, cells in EXPERIMENT_TABLE_HEAD order
 * @returns HTML (all text escaped)
 * @throws Error when a part names a column that EXPERIMENT_TABLE_HEAD does not have
 */
export function htmlResultsTables(summary: ExperimentSummary, rows: readonly string[][]): string {
  const head = experimentTableHead(summary);
  const titles = resultsHeadTitles(metricNamesOf(summary));
  return RESULTS_TABLE_PARTS.map((part) => {
    const idx = part.columns.map((c) => {
      const i = EXPERIMENT_TABLE_HEAD.indexOf(c);
      if (i < 0) throw new Error(`RESULTS_TABLE_PARTS: no column "${c}" in EXPERIMENT_TABLE_HEAD`);
      return i;
    });
    const table = htmlTable(
      idx.map((i) => head[i]),
      rows.map((r) => idx.map((i) => r[i])),
      'results',
      { titles: part.columns.map((c) => titles[c]), part: part.id, cell: wrapBeforeBrackets },
    );
    return `<h3>${escapeHtml(part.title)}</h3>\n<div class="table-wrap">${table}</div>`;
  }).join('\n');
}
