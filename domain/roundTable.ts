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

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One row of cells per round, in ROUND_TABLE_HEAD order (accuracies in %, student time in s). */
export function roundTableRows(rounds: readonly RoundResult[]): string[][] {
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
  ]);
}

/** The table as Markdown. */
export function roundTableMarkdown(rounds: readonly RoundResult[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(ROUND_TABLE_HEAD), line(ROUND_TABLE_HEAD.map(() => '---')), ...roundTableRows(rounds).map(line)].join(
    '\n',
  );
}
