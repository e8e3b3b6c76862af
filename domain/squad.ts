/**
 * Extractive question answering in the SQuAD format (S3's AdversarialQA task): the row schema with
 * its span check, and the SQuAD v1.1 Exact Match and F1 metrics.
 *
 * Metrics: the official `evaluate-v1.1.py` of SQuAD, reproduced exactly (the Python worker's
 * `s3_finetune/squad.py` is the same function; both are checked against the shared fixture
 * tests/fixtures/student-contract/squad-metrics.json):
 * - normalisation: lower-case; drop ASCII punctuation (Python's `string.punctuation`); replace the
 *   words a / an / the by a space (`\b(a|an|the)\b` with Python's Unicode word boundaries); collapse
 *   whitespace (Python's `str.split()` whitespace, which is not JavaScript's `\s`);
 * - EM: normalised prediction equals a normalised gold answer; F1: token-level (bag of the
 *   normalised whitespace tokens) F1; each is the maximum over the question's gold answers.
 * - {@link scoreQa} averages them over questions as fractions in [0, 1] (the official script
 *   prints percentages: multiply by 100).
 *
 * Offsets: `answer_start` counts Unicode code points, as Python strings (and Hugging Face
 * datasets) count them; JavaScript strings count UTF-16 code units, so {@link spanAt} converts.
 *
 * Pure module: no I/O.
 */
import { z } from 'zod';

/** `string.punctuation` of Python: the ASCII punctuation characters. */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
/** The articles, between Python `re` word boundaries (a word character is a letter, a number or "_"). */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
/** Python's `str.split()` whitespace (str.isspace): not JavaScript's `\s` (which has U+FEFF but lacks U+001C-U+001F and U+0085). */
// eslint-disable-next-line no-control-regex -- Python's str.isspace() counts U+001C-U+001F as whitespace
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** SQuAD v1.1 `normalize_answer`: lower-case, no punctuation, no articles, single spaces. */
export function normalizeAnswer(s: string): string {
  const noArticles = s.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ');
  return tokens(noArticles).join(' ');
}

/** Whitespace tokens as Python's `str.split()` gives them (no empty strings). */
function tokens(s: string): string[] {
  return s.split(WHITESPACE).filter((t) => t !== '');
}

/** SQuAD v1.1 `exact_match_score` of one prediction against one gold answer. */
export function exactMatch(prediction: string, gold: string): boolean {
  return normalizeAnswer(prediction) === normalizeAnswer(gold);
}

/** SQuAD v1.1 `f1_score` of one prediction against one gold answer: token F1 in [0, 1] (0 when nothing is shared). */
export function f1Score(prediction: string, gold: string): number {
  const p = tokens(normalizeAnswer(prediction));
  const g = tokens(normalizeAnswer(gold));
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** EM (0 or 1) and F1 of one question: the maximum over its gold answers (`metric_max_over_ground_truths`). */
export interface QaScore {
  exactMatch: number;
  f1: number;
}

/**
 * One question's SQuAD scores.
 * @param golds the question's gold answer texts (at least one)
 * @throws RangeError when `golds` is empty (the official script would fail on max([]))
 */
export function qaScore(prediction: string, golds: readonly string[]): QaScore {
  if (golds.length === 0) throw new RangeError('qaScore: a question needs at least one gold answer');
  let em = 0;
  let f1 = 0;
  for (const g of golds) {
    if (exactMatch(prediction, g)) em = 1;
    f1 = Math.max(f1, f1Score(prediction, g));
  }
  return { exactMatch: em, f1 };
}

/** SQuAD quality on one split: mean EM and F1 over questions, in [0, 1]; `wrong` counts EM = 0 questions. */
export interface QaMetrics {
  count: number;
  exactMatch: number;
  f1: number;
  /** questions whose prediction has EM = 0 (the "misclassified" gold questions EES extrapolates) */
  wrong: number;
}

/**
 * Mean EM and F1 over questions, as the official script computes them (as fractions, not percentages).
 * @throws RangeError when lengths differ or the split is empty
 */
export function scoreQa(predictions: readonly string[], golds: readonly (readonly string[])[]): QaMetrics {
  if (predictions.length !== golds.length)
    throw new RangeError(`scoreQa: ${predictions.length} predictions vs ${golds.length} questions`);
  if (predictions.length === 0) throw new RangeError('scoreQa: empty split');
  let em = 0;
  let f1 = 0;
  for (let i = 0; i < predictions.length; i++) {
    const s = qaScore(predictions[i], golds[i]);
    em += s.exactMatch;
    f1 += s.f1;
  }
  const n = predictions.length;
  return { count: n, exactMatch: em / n, f1: f1 / n, wrong: n - em };
}

/** True when the string holds a UTF-16 surrogate (a code point above U+FFFF). */
const ASTRAL = /[\uD800-\uDFFF]/;

/**
 * The `length` code points of `context` from code point `start` (Python's `context[start:start + length]`).
 * @param length in code points (e.g. the answer's code point count)
 */
export function spanAt(context: string, start: number, length: number): string {
  if (!ASTRAL.test(context)) return context.slice(start, start + length);
  return Array.from(context)
    .slice(start, start + length)
    .join('');
}

/** Code point count of a string (Python's `len`). */
export function codePointLength(s: string): number {
  return ASTRAL.test(s) ? Array.from(s).length : s.length;
}

/** Code point offsets at which `text` occurs in `context` (at most `max`). */
export function occurrences(context: string, text: string, max = 3): number[] {
  const out: number[] = [];
  if (text === '') return out;
  for (let i = context.indexOf(text); i >= 0 && out.length < max; i = context.indexOf(text, i + 1))
    out.push(ASTRAL.test(context) ? codePointLength(context.slice(0, i)) : i);
  return out;
}

/** Most characters of a context quoted by a span error. */
const QUOTE = 60;

/** JSON-quoted, at most QUOTE characters (with "…" when cut). */
function quote(s: string): string {
  const cut = Array.from(s);
  return JSON.stringify(cut.length > QUOTE ? `${cut.slice(0, QUOTE).join('')}…` : s);
}

/**
 * Why answer `i` of a row is not the span of its context at its `answer_start`, or null when it is.
 * The message names the row's id, the answer, what the context has at that offset instead and
 * where (if anywhere) the answer does occur.
 */
export function spanProblem(
  row: { id: string; context: string; answers: { text: readonly string[]; answer_start: readonly number[] } },
  i: number,
): string | null {
  const text = row.answers.text[i];
  const start = row.answers.answer_start[i];
  const n = codePointLength(row.context);
  if (start + codePointLength(text) > n)
    return `id ${quote(row.id)}: answer ${quote(text)} at answer_start ${start} runs past the end of its context (${n} characters)`;
  const found = spanAt(row.context, start, codePointLength(text));
  if (found === text) return null;
  const at = occurrences(row.context, text, 4);
  const where = at.length
    ? `; the answer occurs at ${at.slice(0, 3).join(', ')}${at.length > 3 ? ', …' : ''}`
    : '; the answer does not occur in the context';
  return `id ${quote(row.id)}: answer ${quote(text)} is not the context at answer_start ${start}: the context has ${quote(found)} there${where}`;
}

/**
 * One SQuAD-style extractive QA row (`{id, context, question, answers: {text[], answer_start[]}}`, as
 * Hugging Face `squad` / `adversarial_qa` rows; an optional `title` is kept). Every answer must be
 * the span of the context at its `answer_start` (code points); at least one answer.
 */
export const QaRowSchema = z
  .object({
    id: z.string().min(1),
    title: z.string().optional(),
    context: z.string().min(1),
    question: z.string().min(1),
    answers: z.object({
      text: z.array(z.string().min(1)).min(1),
      answer_start: z.array(z.number().int().min(0)).min(1),
    }),
  })
  .superRefine((row, ctx) => {
    if (row.answers.text.length !== row.answers.answer_start.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['answers'],
        message: `id ${quote(row.id)}: ${row.answers.text.length} answer texts but ${row.answers.answer_start.length} answer_start offsets`,
      });
      return;
    }
    for (let i = 0; i < row.answers.text.length; i++) {
      const problem = spanProblem(row, i);
      if (problem) ctx.addIssue({ code: 'custom', path: ['answers', 'answer_start', i], message: problem });
    }
  });

export type QaRow = z.infer<typeof QaRowSchema>;
