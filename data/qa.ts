/**
 * Extractive QA data (SQuAD-style rows, S3's AdversarialQA task): the JSONL loader that checks every
 * answer span and every id, and the split by context.
 *
 * Rows are `{id, context, question, answers: {text[], answer_start[]}}` (domain/squad.ts
 * QaRowSchema: every answer is the span of its context at answer_start, in code points).
 *
 * Node-only (file I/O) for the loader; splitByContext is pure.
 */
import { resolve as resolvePath } from 'node:path';
import { Rng } from '../domain/rng.js';
import { QaRowSchema, type QaRow } from '../domain/squad.js';
import type { Example } from '../domain/types.js';
import { takeSample } from './split.js';
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

/** A QA row as an Example (tasks/qa.ts): text = context, text_pair = question, label = the first answer. */
export function qaRowToExample(r: QaRow): Example {
  return {
    id: r.id,
    text: r.context,
    text_pair: r.question,
    label: r.answers.text[0],
    answers: { text: [...r.answers.text], answer_start: [...r.answers.answer_start] },
  };
}

/** A passage of the contexts pool with the answer spans given for it ("teacher" answers: none). */
export interface QaContextRow {
  id: string;
  text: string;
  answers?: { text: string[]; answer_start: number[] };
}

/** The gold splits and the contexts pool of a QA task (qaGoldSplits). */
export interface QaGoldSplits {
  validation: Example[];
  test: Example[];
  train: Example[] | null;
  contexts: QaContextRow[];
  /** questions / passages dropped from validation, contexts or train because their passage is a test passage */
  dropped: { validation: number; contexts: number; train: number };
}

/**
 * The gold splits of an extractive QA task, split by passage so that no test passage is seen in
 * synthesis or validation.
 * - One file for validation and test (AdversarialQA): split by context into `validationSize`
 *   (default 200) and `testSize` (default 1000) questions; the rest, when the contexts come from
 *   that file too, is the contexts pool, else dropped.
 * - Separate files: each read whole, then sampled (validationSize / testSize questions); validation
 *   questions about a test passage are dropped.
 * - The contexts pool (`contexts`, default the validation file): its distinct passages that are not
 *   test passages, at most `contextsSize` (seeded), each with every answer span given for it
 *   (`answers: "teacher"`: without spans).
 * - `train` (gold arms): its questions about a validation or test passage dropped.
 * @param src paths (already as given; files are compared by resolved path) and sizes
 */
export async function qaGoldSplits(
  src: {
    validation: string;
    test: string;
    contexts?: string;
    train?: string;
    validationSize?: number;
    testSize?: number;
    contextsSize: number;
    trainSize?: number;
    answers?: 'given' | 'teacher';
  },
  seed: number,
): Promise<QaGoldSplits> {
  const same = (a: string, b: string) => resolvePath(a) === resolvePath(b);
  const cache = new Map<string, QaRow[]>();
  const load = async (p: string) => {
    const key = resolvePath(p);
    if (!cache.has(key)) cache.set(key, await loadQaJsonl(p));
    return cache.get(key)!;
  };
  let validation: QaRow[];
  let test: QaRow[];
  let rest: QaRow[] = [];
  const contextsPath = src.contexts ?? src.validation;
  if (same(src.validation, src.test)) {
    const rows = await load(src.validation);
    const v = src.validationSize ?? 200;
    const t = src.testSize ?? 1000;
    const others = Math.max(0, rows.length - v - t);
    const parts = splitByContext(rows, { seed, shares: { validation: v, test: t, rest: others } });
    ({ validation, test, rest } = parts);
  } else {
    validation = await load(src.validation);
    test = await load(src.test);
    const rng = new Rng(seed, 'qa-gold');
    if (src.testSize && test.length > src.testSize) test = takeSample(test, src.testSize, rng);
    if (src.validationSize && validation.length > src.validationSize)
      validation = takeSample(validation, src.validationSize, rng);
  }
  const testPassages = new Set(test.map((r) => r.context));
  const dropped = { validation: 0, contexts: 0, train: 0 };
  const v0 = validation.length;
  validation = validation.filter((r) => !testPassages.has(r.context));
  dropped.validation = v0 - validation.length;
  // the pool: the rest of a one-file split, else the contexts file's rows
  const poolRows =
    same(src.validation, src.test) && same(contextsPath, src.validation) ? rest : await load(contextsPath);
  const byPassage = new Map<string, { text: string[]; answer_start: number[] }>();
  for (const r of poolRows) {
    if (testPassages.has(r.context)) {
      dropped.contexts++;
      continue;
    }
    const a = byPassage.get(r.context) ?? { text: [], answer_start: [] };
    r.answers.text.forEach((t, j) => {
      if (a.text.includes(t)) return;
      a.text.push(t);
      a.answer_start.push(r.answers.answer_start[j]);
    });
    byPassage.set(r.context, a);
  }
  let passages = [...byPassage.keys()];
  if (passages.length > src.contextsSize) passages = new Rng(seed, 'contexts').sample(passages, src.contextsSize);
  const contexts: QaContextRow[] = passages.map((text, i) =>
    src.answers === 'teacher' ? { id: `ctx-${i}`, text } : { id: `ctx-${i}`, text, answers: byPassage.get(text)! },
  );
  let train: Example[] | null = null;
  if (src.train) {
    const held = new Set([...validation, ...test].map((r) => r.context));
    const rows = (await load(src.train)).filter((r) => !held.has(r.context));
    dropped.train = (await load(src.train)).length - rows.length;
    train = takeSample(rows, src.trainSize, new Rng(seed, 'gold-train')).map(qaRowToExample);
  }
  return {
    validation: validation.map(qaRowToExample),
    test: test.map(qaRowToExample),
    train,
    contexts,
    dropped,
  };
}
