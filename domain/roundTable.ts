/** The per-round table (report.md and the CLI print the same columns). Pure module. */
import type { RoundResult } from './types.js';

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

/** Columns added when the run has a teacher-token budget (budget.teacherTokens). */
export const BUDGET_HEAD = ['tokens spent', 'remaining'];

/** The header of the table, with the budget columns when `teacherTokens` is set. */
export const roundTableHead = (teacherTokens?: number) =>
  teacherTokens === undefined ? ROUND_TABLE_HEAD : [...ROUND_TABLE_HEAD, ...BUDGET_HEAD];

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * One row of cells per round, in {@link roundTableHead} order (accuracies in %, student time
 * in s). With a teacher-token budget: the tokens spent up to and including the round's
 * additions (cumulative, prompt + completion) and the budget remaining after them.
 */
export function roundTableRows(rounds: readonly RoundResult[], teacherTokens?: number): string[][] {
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
    ...(teacherTokens === undefined
      ? []
      : [String((spent += r.teacher.promptTokens + r.teacher.completionTokens)), String(teacherTokens - spent)]),
  ]);
}

/** The table as Markdown (budget columns with `teacherTokens`). */
export function roundTableMarkdown(rounds: readonly RoundResult[], teacherTokens?: number): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const head = roundTableHead(teacherTokens);
  return [line(head), line(head.map(() => '---')), ...roundTableRows(rounds, teacherTokens).map(line)].join('\n');
}
