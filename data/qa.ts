/**
 * Extractive QA data (SQuAD-style rows, S3's AdversarialQA task): the JSONL loader that checks every
 * answer span and every id, and the split by context.
 *
 * Rows are `{id, context, question, answers: {text[], answer_start[]}}` (domain/squad.ts
 * QaRowSchema: every answer is the span of its context at answer_start, in code points).
 *
 * Node-only (file I/O) for the loader; splitByContext is pure.
 */
import { Rng } from '../domain/rng.js';
import { QaRowSchema, type QaRow } from '../domain/squad.js';
import { DatasetError, excerpt, openForRead, parseRecord, readLinesFrom } from './jsonl.js';

export { QaRowSchema, type QaRow };

/**
 * Reads a SQuAD-style JSONL file: one QA row a line (blank lines skipped), parsed by the line reader
 * and record parser readJsonl uses (data/jsonl.ts), so errors name the file and the 1-based line.
 * @returns the rows in file order
 * @throws DatasetError (file, line) when the file is missing or empty, a line is not JSON, a row does
 *   not match QaRowSchema (the message names the row's id, the answer and what the context has at
 *   answer_start instead), or an id repeats (the message names the line of its first occurrence)
 */
export async function loadQaJsonl(path: string): Promise<QaRow[]> {
  const rows: QaRow[] = [];
  const firstLine = new Map<string, number>();
  const fh = await openForRead(path);
  try {
    for await (const { line, text } of readLinesFrom(fh, path)) {
      const row = parseRecord(path, line, text, QaRowSchema);
      const first = firstLine.get(row.id);
      if (first !== undefined)
        throw new DatasetError(path, line, `duplicate id ${excerpt(row.id)} (first on line ${first})`);
      firstLine.set(row.id, line);
      rows.push(row);
    }
  } finally {
    await fh.close();
  }
  if (rows.length === 0) throw new DatasetError(path, undefined, 'is empty (no records)');
  return rows;
}

/**
 * Splits QA rows so that no context is shared between two splits (questions about one passage stay
 * together, so a test passage is never seen in synthesis or validation). The distinct contexts are
 * shuffled with a seeded Rng; each in turn goes, with all its questions, to the split furthest below
 * its target question count (ties: the split named first). Rows keep their file order within a
 * context. Deterministic for (rows, seed, stream, shares).
 * @param opts.shares relative sizes by split name, in questions (e.g. {validation: 1, test: 1});
 *   non-negative, not all 0
 * @param opts.stream the Rng stream (default "qa-context-split")
 * @returns the rows of each split; every split named in `shares` is present (maybe empty)
 * @throws RangeError when a share is negative or not finite, or all are 0
 */
export function splitByContext<K extends string>(
  rows: readonly QaRow[],
  opts: { seed: number; shares: Record<K, number>; stream?: string },
): Record<K, QaRow[]> {
  const names = Object.keys(opts.shares) as K[];
  for (const k of names)
    if (!(Number.isFinite(opts.shares[k]) && opts.shares[k] >= 0))
      throw new RangeError(`splitByContext: share ${k} must be a finite number >= 0, got ${opts.shares[k]}`);
  const sum = names.reduce((a, k) => a + opts.shares[k], 0);
  if (!(sum > 0)) throw new RangeError('splitByContext: the shares are all 0');
  const byContext = new Map<string, QaRow[]>();
  for (const r of rows) {
    const xs = byContext.get(r.context);
    if (xs) xs.push(r);
    else byContext.set(r.context, [r]);
  }
  const groups = new Rng(opts.seed, opts.stream ?? 'qa-context-split').shuffle([...byContext.values()]);
  const out = Object.fromEntries(names.map((k) => [k, [] as QaRow[]])) as Record<K, QaRow[]>;
  const target = (k: K): number => (opts.shares[k] / sum) * rows.length;
  for (const g of groups) {
    let best = names[0];
    for (const k of names) if (target(k) - out[k].length > target(best) - out[best].length) best = k;
    out[best].push(...g);
  }
  return out;
}

/** The distinct contexts of some rows, in first-appearance order. */
export function contextsOf(rows: readonly QaRow[]): string[] {
  return [...new Set(rows.map((r) => r.context))];
}
