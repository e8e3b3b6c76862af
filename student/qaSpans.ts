/**
 * Span decoding of the extractive-QA student on the TypeScript side (`s3 predict` of an exported QA
 * student, scripts/predict.ts): the windows a question and its context are cut into and the answer
 * picked from the model's start / end logits, exactly as the Python worker does it
 * (workers/finetune/s3_finetune/qa.py `features` and `postprocess`, which follow Hugging Face's
 * run_qa.py), so both sides give the same answer strings.
 *
 * - Question: left-stripped of Python's whitespace and cut to its first `questionMaxTokens` tokens
 *   (qa_activity.py `question_clipper`).
 * - Windows: the pair [CLS] question [SEP] context [SEP] at most `maxLength` tokens; a longer context
 *   is cut into pieces of the room left, consecutive pieces overlapping by `docStride` tokens, as the
 *   Hugging Face tokenizers' `only_second` truncation with a stride and overflowing tokens gives them
 *   (tokenizers/src/tokenizer/encoding.rs `Encoding::truncate`).
 * - Offsets: (start, end) of each context token in code points of the context (Python's string
 *   indices), null for question and special tokens.
 * - Answer: over all windows, the `nBest` highest start and end logits of each window; a pair counts
 *   when both tokens are in the context, end ≥ start and it spans at most `maxAnswerLength` tokens;
 *   the highest start + end logit wins (ties: the first met in qa.py's order). No valid pair: "".
 *
 * The tokenization itself (ids and offsets of the whole pair) is the caller's: scripts/predict.ts
 * uses the Hugging Face tokenizers' Node binding on the exported tokenizer.json.
 */

/** Python's `str.isspace` characters (domain/squad.ts uses the same class for `str.split()`). */
// eslint-disable-next-line no-control-regex -- Python's str.isspace() counts U+001C-U+001F as whitespace
const PY_LEADING_SPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** `s.lstrip()` of Python (its whitespace, not JavaScript's `trimStart`). */
export function pyLstrip(s: string): string {
  return s.replace(PY_LEADING_SPACE, '');
}

/** A character span [start, end) in code points. */
export type Offset = readonly [number, number];

/** The tokenization of one whole pair (no truncation), as the Hugging Face tokenizers give it. */
export interface PairEncoding {
  ids: readonly number[];
  typeIds: readonly number[];
  /** per token: (start, end) in code points of its own text */
  offsets: readonly Offset[];
  /** per token: 0 (first text), 1 (second text), null (special token) */
  sequenceIds: readonly (number | null)[];
}

/** One window of a question: the model's inputs and the context offsets of its tokens. */
export interface QaWindow {
  inputIds: number[];
  typeIds: number[];
  /** per token: its (start, end) in the context in code points, null outside the context */
  offsets: (Offset | null)[];
}

/**
 * The question as the student sees it: left-stripped, then cut after its `maxTokens`-th token.
 * @param offsets the tokens' (start, end) in code points of the stripped question, no special tokens
 * @returns the question, unchanged (but stripped) when it has at most maxTokens tokens
 */
export function clipQuestion(stripped: string, offsets: readonly Offset[], maxTokens: number): string {
  if (offsets.length <= maxTokens) return stripped;
  return Array.from(stripped)
    .slice(0, offsets[maxTokens - 1][1])
    .join('');
}

/**
 * The windows of one question and its context (module doc), from the tokenization of the whole pair.
 * @param full the pair without truncation; its tokens of sequence `contextSeq` are the context's and
 *   must be contiguous
 * @param maxLength tokens per window, special tokens included; @param docStride overlap in tokens
 * @param contextSeq 1 when the question comes first (right padding, BERT), 0 when the context does
 * @returns the windows in order (one when the pair fits)
 * @throws Error when the question leaves no room for more context than the stride (as the Python
 *   tokenizer refuses it)
 */
export function qaWindows(full: PairEncoding, maxLength: number, docStride: number, contextSeq = 1): QaWindow[] {
  const n = full.ids.length;
  const ctx = full.sequenceIds.flatMap((s, i) => (s === contextSeq ? [i] : []));
  const from = ctx.length ? ctx[0] : n;
  const to = ctx.length ? ctx[ctx.length - 1] + 1 : n;
  if (to - from !== ctx.length) throw new Error('qaWindows: the context tokens are not contiguous');
  const window = (a: number, b: number): QaWindow => {
    const keep = [...Array(from).keys(), ...Array.from({ length: b - a }, (_, k) => from + a + k)];
    for (let i = to; i < n; i++) keep.push(i);
    return {
      inputIds: keep.map((i) => full.ids[i]),
      typeIds: keep.map((i) => full.typeIds[i]),
      offsets: keep.map((i) => (full.sequenceIds[i] === contextSeq ? full.offsets[i] : null)),
    };
  };
  if (n <= maxLength) return [window(0, ctx.length)];
  const room = ctx.length - (n - maxLength);
  if (room <= docStride)
    throw new Error(
      `qaWindows: ${n - ctx.length} question and special tokens leave ${Math.max(0, room)} of ${maxLength} tokens ` +
        `for the context, not more than the stride ${docStride}`,
    );
  const out: QaWindow[] = [];
  for (let a = 0; ; a += room - docStride) {
    const b = Math.min(a + room, ctx.length);
    out.push(window(a, b));
    if (b === ctx.length) return out;
  }
}

/** How the answer is picked: run_qa.py's n-best and maximum answer length (in tokens). */
export interface SpanSettings {
  nBest: number;
  maxAnswerLength: number;
}

/** The answer of one question. */
export interface SpanAnswer {
  /** the answer text ("" when no span is valid) */
  text: string;
  /** its start in code points of the context, null when no span is valid */
  start: number | null;
  /** p(start) · p(end) of the span in its window (softmax over the window's tokens), 0 when none */
  confidence: number;
  /** the winning window, start and end token, and start + end logit; null when no span is valid */
  span: { window: number; startToken: number; endToken: number; score: number } | null;
}

/** Indices of the k highest values, as numpy's `argsort(x, kind="stable")[::-1][:k]` orders them (ties: the later index first). */
export function topK(x: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: x.length }, (_, i) => i);
  idx.sort((a, b) => x[b] - x[a] || b - a);
  return idx.slice(0, k);
}

/** log-softmax of one window's logits (float64, max-shifted). */
function logSoftmax(x: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  const l = Math.log(s);
  return Array.from(x, (v) => v - m - l);
}

/**
 * The answer of one question from the logits of its windows (module doc; qa.py `postprocess`).
 * @param context the question's context; @param windows its windows (qaWindows)
 * @param startLogits per window, one logit per token (its own length, padding cut off); @param endLogits likewise
 * @throws Error when a window's logits do not have one value per token
 */
export function bestSpan(
  context: string,
  windows: readonly QaWindow[],
  startLogits: readonly ArrayLike<number>[],
  endLogits: readonly ArrayLike<number>[],
  { nBest, maxAnswerLength }: SpanSettings,
): SpanAnswer {
  let best: SpanAnswer['span'] = null;
  windows.forEach((w, k) => {
    const sl = startLogits[k];
    const el = endLogits[k];
    if (sl.length !== w.offsets.length || el.length !== w.offsets.length)
      throw new Error(`bestSpan: window ${k} has ${w.offsets.length} tokens but ${sl.length} / ${el.length} logits`);
    const ends = topK(el, nBest);
    for (const s of topK(sl, nBest))
      for (const e of ends) {
        if (w.offsets[s] === null || w.offsets[e] === null) continue;
        if (e < s || e - s + 1 > maxAnswerLength) continue;
        const score = sl[s] + el[e];
        if (best === null || score > best.score) best = { window: k, startToken: s, endToken: e, score };
      }
  });
  if (best === null) return { text: '', start: null, confidence: 0, span: null };
  const { window, startToken, endToken } = best;
  const w = windows[window];
  const a = w.offsets[startToken]![0];
  const b = w.offsets[endToken]![1];
  const p = Math.exp(logSoftmax(startLogits[window])[startToken] + logSoftmax(endLogits[window])[endToken]);
  return {
    text: Array.from(context).slice(a, b).join(''),
    start: a,
    confidence: Math.min(1, Math.max(0, p)),
    span: best,
  };
}
