/**
 * student/qaSpans.ts on hand-made encodings and logits (known answers): the windows of a long
 * context as the Hugging Face tokenizers' only_second truncation with a stride cuts them, the span
 * picked as qa.py / run_qa.py pick it (n-best, valid spans only, maximum length, highest start + end),
 * offsets in code points, the question's clipping and Python's lstrip.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bestSpan,
  clipQuestion,
  pyLstrip,
  qaWindows,
  topK,
  type Offset,
  type PairEncoding,
  type QaWindow,
} from '../../student/qaSpans.js';

const CLS = 101;
const SEP = 102;

/** [CLS] q0 q1 [SEP] c0 … c(n-1) [SEP]; context token k has id 1000 + k and offsets (2k, 2k + 1). */
function pair(contextTokens: number): PairEncoding {
  const ctx = Array.from({ length: contextTokens }, (_, k) => k);
  return {
    ids: [CLS, 7, 8, SEP, ...ctx.map((k) => 1000 + k), SEP],
    typeIds: [0, 0, 0, 0, ...ctx.map(() => 1), 1],
    offsets: [[0, 0], [0, 1], [2, 3], [0, 0], ...ctx.map((k): Offset => [2 * k, 2 * k + 1]), [0, 0]],
    sequenceIds: [null, 0, 0, null, ...ctx.map(() => 1), null],
  };
}

test('qaWindows: a context that fits gives one window with offsets only on context tokens', () => {
  const [w, ...rest] = qaWindows(pair(3), 10, 2);
  assert.equal(rest.length, 0);
  assert.deepEqual(w.inputIds, [CLS, 7, 8, SEP, 1000, 1001, 1002, SEP]);
  assert.deepEqual(w.typeIds, [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(w.offsets, [null, null, null, null, [0, 1], [2, 3], [4, 5], null]);
});

test('qaWindows: a long context is cut into pieces of the room left, overlapping by the stride', () => {
  // 15 tokens, max 10: 5 context tokens per window, a step of 5 − 2 = 3: context tokens 0-4, 3-7, 6-9
  const ws = qaWindows(pair(10), 10, 2);
  assert.deepEqual(
    ws.map((w) => w.inputIds),
    [
      [CLS, 7, 8, SEP, 1000, 1001, 1002, 1003, 1004, SEP],
      [CLS, 7, 8, SEP, 1003, 1004, 1005, 1006, 1007, SEP],
      [CLS, 7, 8, SEP, 1006, 1007, 1008, 1009, SEP],
    ],
  );
  assert.deepEqual(ws[1].offsets.slice(3), [null, [6, 7], [8, 9], [10, 11], [12, 13], [14, 15], null]);
  assert.deepEqual(ws[2].typeIds, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
  // the last piece ends at the context's end: no empty or repeated window after it
  assert.equal(qaWindows(pair(8), 10, 2).length, 2); // 0-4, 3-7
  assert.equal(qaWindows(pair(6), 10, 0).length, 2); // 0-4, 5
});

test('qaWindows: the context first (left padding), and a question that leaves no room', () => {
  // [CLS] c0 … c5 [SEP] q0 q1 [SEP]: 11 tokens, max 9: 4 context tokens per window, a step of 3
  const ctx = [0, 1, 2, 3, 4, 5];
  const first: PairEncoding = {
    ids: [CLS, ...ctx.map((k) => 1000 + k), SEP, 7, 8, SEP],
    typeIds: [0, ...ctx.map(() => 0), 0, 1, 1, 1],
    offsets: [[0, 0], ...ctx.map((k): Offset => [2 * k, 2 * k + 1]), [0, 0], [0, 1], [2, 3], [0, 0]],
    sequenceIds: [null, ...ctx.map(() => 0), null, 1, 1, null],
  };
  const ws = qaWindows(first, 9, 1, 0);
  assert.deepEqual(
    ws.map((w) => w.inputIds),
    [
      [CLS, 1000, 1001, 1002, 1003, SEP, 7, 8, SEP],
      [CLS, 1003, 1004, 1005, SEP, 7, 8, SEP],
    ],
  );
  assert.deepEqual(ws[1].offsets, [null, [6, 7], [8, 9], [10, 11], null, null, null, null]);
  assert.throws(() => qaWindows(pair(10), 7, 2), /leave 2 of 7 tokens for the context, not more than the stride 2/);
});

test('topK: the highest first; ties in numpy’s stable argsort reversed (the later index first)', () => {
  assert.deepEqual(topK([1, 3, 3, 2], 2), [2, 1]);
  assert.deepEqual(topK([0.5, -1, 4], 5), [2, 0, 1]);
});

/** One window of 8 tokens: [CLS] q [SEP] ab cd 😀 ef [SEP] of the context "ab cd 😀 ef gh" (its last word in another window). */
const CONTEXT = 'ab cd 😀 ef gh';
const W: QaWindow = {
  inputIds: [CLS, 7, SEP, 1, 2, 3, 4, SEP],
  typeIds: [0, 0, 0, 1, 1, 1, 1, 1],
  offsets: [null, null, null, [0, 2], [3, 5], [6, 7], [8, 10], null],
};
const flat = (n: number, v = -5) => Array<number>(n).fill(v);

test('bestSpan: question tokens, end before start and spans over maxAnswerLength tokens never win', () => {
  const settings = { nBest: 20, maxAnswerLength: 30 };
  const s = flat(8, -100);
  const e = flat(8, -100);
  s[4] = e[4] = 1; // "cd": 2
  s[1] = e[1] = 30; // a question token
  assert.deepEqual(bestSpan(CONTEXT, [W], [s], [e], settings).text, 'cd');
  s[6] = e[3] = 10; // end (3) before start (6)
  assert.deepEqual(bestSpan(CONTEXT, [W], [s], [e], settings).text, 'cd');
  const t = flat(8, -100);
  const u = flat(8, -100);
  t[3] = u[6] = 10; // tokens 3-6: 4 tokens, 20
  t[5] = u[5] = 1;
  const long = bestSpan(CONTEXT, [W], [t], [u], settings);
  // the astral character counts as one code point, as in Python's offsets
  assert.deepEqual([long.text, long.start, long.span?.score], ['ab cd 😀 ef', 0, 20]);
  // at most 3 tokens: (3, 5) and (5, 6) both score 11; start 3 is the first start candidate, so (3, 5)
  const short = bestSpan(CONTEXT, [W], [t], [u], { nBest: 20, maxAnswerLength: 3 });
  assert.deepEqual([short.text, short.start, short.span?.score], ['ab cd 😀', 0, 11]);
});

test('bestSpan: over several windows the best span wins; nBest limits the candidates; none valid gives ""', () => {
  const s1 = flat(8);
  const e1 = flat(8);
  s1[3] = e1[3] = 1; // "ab", 2
  const s2 = flat(8);
  const e2 = flat(8);
  s2[6] = e2[6] = 2; // "ef", 4
  const got = bestSpan(CONTEXT, [W, W], [s1, s2], [e1, e2], { nBest: 20, maxAnswerLength: 30 });
  assert.deepEqual([got.text, got.start, got.span?.window], ['ef', 8, 1]);
  // nBest 1: window 2's single candidates are its question token; window 1's "ab" is then the best
  s2[1] = e2[1] = 50;
  const top1 = bestSpan(CONTEXT, [W, W], [s1, s2], [e1, e2], { nBest: 1, maxAnswerLength: 30 });
  assert.deepEqual([top1.text, top1.span?.window], ['ab', 0]);
  const none = bestSpan(CONTEXT, [W], [s2], [e2], { nBest: 1, maxAnswerLength: 30 });
  assert.deepEqual(none, { text: '', start: null, confidence: 0, span: null });
});

test('bestSpan: ties keep the first pair met (start candidates in topK order, then end candidates)', () => {
  const s = flat(8, 0);
  const e = flat(8, 0);
  // every valid pair scores 0: the first start candidate is token 7 ([SEP], invalid), then 6 …
  const got = bestSpan(CONTEXT, [W], [s], [e], { nBest: 20, maxAnswerLength: 30 });
  assert.deepEqual([got.span?.startToken, got.span?.endToken, got.text], [6, 6, 'ef']);
  // uniform logits: p(start) = p(end) = 1/8
  assert.ok(Math.abs(got.confidence - 1 / 64) < 1e-12);
  assert.throws(() => bestSpan(CONTEXT, [W], [s.slice(1)], [e], { nBest: 1, maxAnswerLength: 1 }), /7 \/ 8 logits/);
});

test('clipQuestion and pyLstrip: cut after the n-th token (code points); Python’s whitespace only', () => {
  const q = 'who 😀 is here';
  const offsets: Offset[] = [
    [0, 3],
    [4, 5],
    [6, 8],
    [9, 13],
  ];
  assert.equal(clipQuestion(q, offsets, 2), 'who 😀');
  assert.equal(clipQuestion(q, offsets, 4), q);
  assert.equal(pyLstrip('\u0085\u3000 \tq '), 'q ');
  assert.equal(pyLstrip('\ufeffq'), '\ufeffq'); // U+FEFF is not whitespace to Python
});
