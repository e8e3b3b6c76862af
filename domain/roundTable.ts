/** The per-round table (report.md and the CLI print the same columns). Pure module. */
import type { LabelAgreement } from './labelAgreement.js';
import type { RoundResult } from './types.js';

/** Label agreement per origin (the part of LabelAgreement the table shows). */
export type RoundAgreement = Pick<LabelAgreement, 'byOrigin'>;

/** The column added when the label agreement is known (after the run: the report). */
export const AGREEMENT_HEAD = 'ref. agrees';

/** The agreement of the examples a round added: seed (and fill-up) data, or the additions of EES / ProGen round q. */
export function roundAgreement(a: RoundAgreement | undefined, r: Pick<RoundResult, 'round' | 'origin'>): string {
  if (!a) return '';
  const key = r.origin === 'seed' || r.origin === 'fill' ? 'seed' : r.origin === 'gold' ? '' : `${r.origin}-${r.round}`;
  const c = key ? a.byOrigin[key] : undefined;
  return c && c.rate !== null ? `${(100 * c.rate).toFixed(1)}% of ${c.count}` : '–';
}

export const ROUND_TABLE_HEAD = [
  'round',
  'added',
  'train',
  'val acc',
  'val F1',
  'miscls',
  'test acc',
  'test F1',
  'calls (cached)',
  'tok in/out',
  'rejected',
  'student s',
];

/** The column names of an extractive QA run (task.kind "qa"), where they differ. */
export const QA_HEAD: Readonly<Record<string, string>> = {
  'val acc': 'val EM',
  miscls: 'EM 0',
  'test acc': 'test EM',
};

/** Columns added when the run has a teacher-token budget (budget.teacherTokens). */
export const BUDGET_HEAD = ['tokens spent', 'remaining'];

/** The round's wall time (teacher steps included), when the rounds carry it (runs since 2026-12-05). */
export const WALL_HEAD = 'round s';

/** The finetune student's epoch time per 1,000 training inputs (QA: windows), when reported. */
export const TRAINING_HEAD = 's/epoch/1k';

/** Which optional per-round columns the rounds fill. */
export interface RoundColumns {
  wall?: boolean;
  training?: boolean;
}

/** The optional columns a list of rounds fills (any round having the value). */
export const roundColumns = (rounds: readonly Pick<RoundResult, 'wallMs' | 'training'>[]): RoundColumns => ({
  wall: rounds.some((r) => r.wallMs !== undefined),
  training: rounds.some((r) => r.training !== undefined),
});

/** The header of the table, with the budget columns when `teacherTokens` is set, the
 * label-agreement column when `agreement` is given, and the wall / training-speed columns that
 * `columns` names (see {@link roundColumns}). */
export const roundTableHead = (
  teacherTokens?: number,
  agreement?: RoundAgreement,
  qa = false,
  columns: RoundColumns = {},
) =>
  [
    ...ROUND_TABLE_HEAD,
    ...(columns.training ? [TRAINING_HEAD] : []),
    ...(columns.wall ? [WALL_HEAD] : []),
    ...(teacherTokens === undefined ? [] : BUDGET_HEAD),
    ...(agreement ? [AGREEMENT_HEAD] : []),
  ].map((h) => (qa ? (QA_HEAD[h] ?? h) : h));

/** Whether rounds are an extractive QA run's (their metrics carry SQuAD EM). */
export const isQaRounds = (rounds: readonly Pick<RoundResult, 'test'>[]) =>
  rounds.some((r) => r.test.exactMatch !== undefined);

/** A fraction as a percentage with one decimal: 0.123 → "12.3%". */
export const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * One row of cells per round, in {@link roundTableHead} order (accuracies in %, student time
 * in s; with `columns`: the finetune student's s per epoch per 1,000 inputs and the round's wall
 * time in s, "–" where a round lacks them). With a teacher-token budget: the tokens spent up to
 * and including the round's additions (cumulative, prompt + completion) and the budget
 * remaining after them.
 */
export function roundTableRows(
  rounds: readonly RoundResult[],
  teacherTokens?: number,
  agreement?: RoundAgreement,
  columns: RoundColumns = roundColumns(rounds),
): string[][] {
  let spent = 0;
  return rounds.map((r) => [
    r.round === 0 ? '0 seed' : `${r.round} EES`,
    String(r.added),
    String(r.trainSize),
    pct(r.validation.accuracy),
    pct(r.validation.macroF1),
    String(r.validation.misclassified),
    pct(r.test.accuracy),
    pct(r.test.macroF1),
    `${r.teacher.calls} (${r.teacher.cachedCalls})`,
    `${r.teacher.promptTokens}/${r.teacher.completionTokens}`,
    String(r.teacher.rejected),
    (r.studentMs / 1000).toFixed(1),
    ...(columns.training ? [r.training ? (r.training.msPerEpochPer1000 / 1000).toFixed(1) : '–'] : []),
    ...(columns.wall ? [r.wallMs !== undefined ? (r.wallMs / 1000).toFixed(1) : '–'] : []),
    ...(teacherTokens === undefined
      ? []
      : [String((spent += r.teacher.promptTokens + r.teacher.completionTokens)), String(teacherTokens - spent)]),
    ...(agreement ? [roundAgreement(agreement, r)] : []),
  ]);
}

/** The table as Markdown (budget columns with `teacherTokens`). */
export function roundTableMarkdown(
  rounds: readonly RoundResult[],
  teacherTokens?: number,
  agreement?: RoundAgreement,
): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  // extractive QA: the same cells hold SQuAD EM and F1, and the questions with EM 0
  const columns = roundColumns(rounds);
  const head = roundTableHead(teacherTokens, agreement, isQaRounds(rounds), columns);
  return [
    line(head),
    line(head.map(() => '---')),
    ...roundTableRows(rounds, teacherTokens, agreement, columns).map(line),
  ].join('\n');
}
