/**
 * TF-IDF vectorizer for the 'tfidf-logreg' student, modelled on scikit-learn's
 * TfidfVectorizer(lowercase=True, sublinear_tf=True, smooth_idf=True, norm='l2', min_df=1).
 *
 * Terms of one text (after `toLowerCase()`):
 * - word unigrams and bigrams ("w:spam", "w:free money") over tokens matching /[\p{L}\p{N}]+/u
 *   (punctuation separates words; bigrams join consecutive tokens);
 * - character 3-, 4- and 5-grams inside word boundaries ("c: fr", "c:free "), like sklearn's
 *   analyzer='char_wb': each whitespace-separated chunk (punctuation included) is padded with
 *   one space on each side and only n-grams of the padded chunk are taken.
 * Pair examples (text_pair present): the terms of `text` get the prefix "a:", those of
 * `text_pair` the prefix "b:", plus one cross term "x:w:<word>" per distinct word occurring
 * in both parts (lexical overlap, a classic NLI baseline cue).
 *
 * Weights: tf = 1 + ln(count); idf = ln((1 + n) / (1 + df)) + 1 with n training texts and df
 * the number of training texts containing the term; each row is scaled to unit L2 norm.
 * The vocabulary is fit on the training texts only; at most `maxFeatures` terms are kept,
 * those with the highest total count in the training texts (ties: first seen first), as in
 * sklearn's max_features. Unknown terms are ignored at transform time.
 *
 * Pure module: no I/O.
 */
import { runCooperative, runSync, type Steps } from './cooperative.js';
import type { SparseRow } from './logreg.js';

/** A text to featurize: `text`, and `text_pair` for sentence-pair tasks. */
export interface TfidfInput {
  text: string;
  text_pair?: string;
}

/** Vectorizer options. */
export interface TfidfOptions {
  /** cap on the vocabulary size (default 200,000) */
  maxFeatures?: number;
}

const WORD = /[\p{L}\p{N}]+/gu;
const CHUNK = /\S+/g;

/** Emits the terms of one text part, each prefixed with `prefix`; returns its distinct words. */
function analyzePart(text: string, prefix: string, emit: (term: string) => void): Set<string> {
  const s = text.toLowerCase();
  const words = s.match(WORD) ?? [];
  const wp = prefix + 'w:';
  for (let i = 0; i < words.length; i++) {
    emit(wp + words[i]);
    if (i > 0) emit(wp + words[i - 1] + ' ' + words[i]);
  }
  const cp = prefix + 'c:';
  for (const chunk of s.match(CHUNK) ?? []) {
    const padded = ' ' + chunk + ' ';
    for (let n = 3; n <= 5; n++) for (let i = 0; i + n <= padded.length; i++) emit(cp + padded.slice(i, i + n));
  }
  return new Set(words);
}

/**
 * Calls `emit` once per term occurrence of an input (see the module doc for the term kinds).
 * @param x single text, or pair when `text_pair` is a string
 */
export function analyze(x: TfidfInput, emit: (term: string) => void): void {
  if (x.text_pair === undefined) {
    analyzePart(x.text, '', emit);
    return;
  }
  const a = analyzePart(x.text, 'a:', emit);
  const b = analyzePart(x.text_pair, 'b:', emit);
  for (const w of a) if (b.has(w)) emit('x:w:' + w);
}

/** All term occurrences of an input, in emission order (for inspection and tests). */
export function terms(x: TfidfInput): string[] {
  const out: string[] = [];
  analyze(x, (t) => out.push(t));
  return out;
}

/** Growable int buffer reused across documents. */
class IntBuf {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/** Sorts ids and run-length encodes them: distinct ids and their counts. */
function countIds(buf: IntBuf): { ids: Int32Array; counts: Int32Array } {
  const a = buf.data.subarray(0, buf.length).sort();
  let m = 0;
  for (let i = 0; i < a.length; i++) if (i === 0 || a[i] !== a[i - 1]) m++;
  const ids = new Int32Array(m);
  const counts = new Int32Array(m);
  let p = -1;
  for (let i = 0; i < a.length; i++) {
    if (i === 0 || a[i] !== a[i - 1]) ids[++p] = a[i];
    counts[p]++;
  }
  return { ids, counts };
}

/** TF-IDF vectorizer; call {@link TfidfVectorizer.fitTransform} once, then transform. */
export class TfidfVectorizer {
  private readonly maxFeatures: number;
  private vocab = new Map<string, number>();
  private idfs = new Float64Array(0);

  /** @param opts maxFeatures cap (default 200,000) */
  constructor(opts: TfidfOptions = {}) {
    this.maxFeatures = opts.maxFeatures ?? 200_000;
  }

  /** Number of feature columns (vocabulary size) after fitting; 0 before. */
  get numFeatures(): number {
    return this.idfs.length;
  }

  /** Column of a term (as produced by {@link terms}), or undefined if not in the vocabulary. */
  column(term: string): number | undefined {
    return this.vocab.get(term);
  }

  /** idf of a term, or undefined if not in the vocabulary. */
  idf(term: string): number | undefined {
    const c = this.vocab.get(term);
    return c === undefined ? undefined : this.idfs[c];
  }

  /**
   * Fits the vocabulary and idf on `docs` (replacing any previous fit) and returns their rows.
   * @returns one L2-normalised sparse row per doc (an all-empty row if it has no terms)
   * @throws Error if docs is empty
   */
  fitTransform(docs: TfidfInput[]): SparseRow[] {
    return runSync(this.fitSteps(docs));
  }

  /**
   * {@link fitTransform} that lets the event loop run while it reads the texts
   * (student/cooperative.ts), for activities: same result, same errors (as a rejection).
   */
  fitTransformAsync(docs: TfidfInput[]): Promise<SparseRow[]> {
    return runCooperative(this.fitSteps(docs));
  }

  private *fitSteps(docs: TfidfInput[]): Steps<SparseRow[]> {
    if (docs.length === 0) throw new Error('tfidf: cannot fit on zero texts');
    const ids = new Map<string, number>();
    const total: number[] = [];
    const df: number[] = [];
    const buf = new IntBuf();
    const counted: { ids: Int32Array; counts: Int32Array }[] = [];
    for (const d of docs) {
      yield;
      buf.length = 0;
      analyze(d, (t) => {
        let id = ids.get(t);
        if (id === undefined) {
          id = ids.size;
          ids.set(t, id);
          total.push(0);
          df.push(0);
        }
        buf.push(id);
      });
      const c = countIds(buf);
      for (let i = 0; i < c.ids.length; i++) {
        total[c.ids[i]] += c.counts[i];
        df[c.ids[i]]++;
      }
      counted.push(c);
    }
    const order = Array.from(total.keys());
    if (order.length > this.maxFeatures) {
      order.sort((p, q) => total[q] - total[p] || p - q);
      order.length = this.maxFeatures;
      order.sort((p, q) => p - q);
    }
    const col = new Int32Array(total.length).fill(-1);
    this.idfs = new Float64Array(order.length);
    const n = docs.length;
    order.forEach((id, c) => {
      col[id] = c;
      this.idfs[c] = Math.log((1 + n) / (1 + df[id])) + 1;
    });
    this.vocab = new Map();
    for (const [t, id] of ids) if (col[id] >= 0) this.vocab.set(t, col[id]);
    yield;
    return counted.map((c) =>
      this.weigh(
        c.ids.map((id) => col[id]),
        c.counts,
      ),
    );
  }

  /**
   * Rows of new texts with the fitted vocabulary and idf (unknown terms ignored).
   * @throws Error if called before fitTransform
   */
  transform(docs: TfidfInput[]): SparseRow[] {
    if (this.idfs.length === 0) throw new Error('tfidf: transform called before fitTransform');
    const buf = new IntBuf();
    return docs.map((d) => {
      buf.length = 0;
      analyze(d, (t) => {
        const c = this.vocab.get(t);
        if (c !== undefined) buf.push(c);
      });
      const { ids, counts } = countIds(buf);
      return this.weigh(ids, counts);
    });
  }

  /** tf-idf weights of (column, count) pairs, L2-normalised; columns < 0 are dropped. */
  private weigh(cols: Int32Array, counts: Int32Array): SparseRow {
    let m = 0;
    for (const c of cols) if (c >= 0) m++;
    const indices = new Int32Array(m);
    const values = new Float32Array(m);
    const raw = new Float64Array(m);
    let p = 0;
    let norm = 0;
    for (let i = 0; i < cols.length; i++) {
      if (cols[i] < 0) continue;
      const v = (1 + Math.log(counts[i])) * this.idfs[cols[i]];
      indices[p] = cols[i];
      raw[p++] = v;
      norm += v * v;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < m; i++) values[i] = raw[i] * inv;
    return { indices, values };
  }
}
