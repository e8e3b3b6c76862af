/**
 * Near-duplicate filter (issue 18 item 2): a small teacher repeats itself with small changes
 * ("Dear John, I hope this email finds you well. …" and "Dear Sarah, I hope this email finds
 * you well. …"); exact duplicates are already rejected (domain/cleaning.ts), near ones are not.
 *
 * Each text is a set of word 3-grams (shingles; texts under 3 words: their words), sketched by
 * MinHash with the `bloom-filters` library (its `MinHash` over 128 hash functions, with the
 * shingles hashed to integers by its `Hashing.hashAsInt`). Candidates come from LSH banding of
 * the signatures (32 bands of 4 rows: a pair at Jaccard 0.7 shares a band with probability
 * 1 − (1 − 0.7⁴)³² ≈ 0.9998, at 0.5 ≈ 0.87, at 0.3 ≈ 0.23); a candidate is a near-duplicate when the signatures'
 * estimated Jaccard similarity is at least the threshold. The hash functions come from the
 * run's seed, so a retried activity keeps exactly the same examples.
 */
import bloomFilters from 'bloom-filters';
import { normalizeForCompare } from '../../domain/cleaning.js';
import { Rng } from '../../domain/rng.js';

const { Hashing, MinHash } = bloomFilters;
type Sketch = InstanceType<typeof MinHash>;

/** MinHash signature length. */
export const NUM_HASHES = 128;
/** LSH bands × rows per band = NUM_HASHES. */
export const BANDS = 32;
const ROWS = NUM_HASHES / BANDS;
/** Shingles are hashed into [0, MAX_VALUE): small enough that a·x + b stays exact in a double. */
const MAX_VALUE = 2 ** 26;
/** the smallest prime above MAX_VALUE (bloom-filters' MinHashFactory uses the same kind of modulus) */
const PRIME = 67108879;

/** Word 3-grams of a text's comparison form (its words when it has fewer than 3). */
export function shingles(text: string, n = 3): string[] {
  const words = normalizeForCompare(text).split(' ').filter(Boolean);
  if (words.length < n) return words.length ? [words.join(' ')] : [];
  const out = new Set<string>();
  for (let i = 0; i + n <= words.length; i++) out.add(words.slice(i, i + n).join(' '));
  return [...out];
}

/** Exact Jaccard similarity of two texts' shingle sets (for tests and reports). */
export function jaccard(a: string, b: string): number {
  const A = new Set(shingles(a));
  const B = new Set(shingles(b));
  if (!A.size && !B.size) return 1;
  let shared = 0;
  for (const s of A) if (B.has(s)) shared++;
  return shared / (A.size + B.size - shared);
}

/** A near-duplicate found: the key of the text it is close to and the estimated similarity. */
export interface NearMatch {
  key: string;
  similarity: number;
}

/**
 * An LSH index of MinHash sketches. `add` texts (the training set, then each kept output);
 * `nearest` finds the most similar indexed text at or above the threshold.
 */
export class NearDuplicateIndex {
  private readonly hashing = new Hashing();
  private readonly fns: { a: number; b: number; c: number }[];
  private readonly buckets = new Map<string, string[]>();
  private readonly sketches = new Map<string, Sketch>();
  private readonly hashSeed: number;

  /**
   * @param threshold estimated Jaccard similarity at or above which two texts are near-duplicates
   * @param seed the run's seed (hash functions)
   */
  constructor(
    readonly threshold: number,
    seed: number,
  ) {
    const rng = new Rng(seed, 'near-duplicates');
    this.fns = Array.from({ length: NUM_HASHES }, () => ({
      a: 1 + rng.int(MAX_VALUE - 1),
      b: rng.int(MAX_VALUE),
      c: PRIME,
    }));
    this.hashSeed = rng.int(2 ** 31);
  }

  /** The MinHash sketch of a text (null when it has no words). */
  sketch(text: string): Sketch | null {
    const sh = shingles(text);
    if (!sh.length) return null;
    const m = new MinHash(NUM_HASHES, this.fns);
    m.bulkLoad(sh.map((s) => this.hashing.hashAsInt(s, this.hashSeed) % MAX_VALUE));
    return m;
  }

  private bands(m: Sketch): string[] {
    const sig = m._signature;
    return Array.from({ length: BANDS }, (_, b) => `${b}:${sig.slice(b * ROWS, (b + 1) * ROWS).join(',')}`);
  }

  /** Indexes a text under `key` (a text without words is not indexed). */
  add(key: string, text: string): void {
    const m = this.sketch(text);
    if (!m) return;
    this.sketches.set(key, m);
    for (const band of this.bands(m)) {
      const list = this.buckets.get(band);
      if (list) list.push(key);
      else this.buckets.set(band, [key]);
    }
  }

  /** Takes a text out of the index (its bucket entries are skipped from now on). */
  remove(key: string): void {
    this.sketches.delete(key);
  }

  /** The most similar indexed text whose estimated Jaccard similarity is at least the
   * threshold (ties: the first indexed), or null. */
  nearest(text: string): NearMatch | null {
    const m = this.sketch(text);
    if (!m) return null;
    const seen = new Set<string>();
    let best: NearMatch | null = null;
    for (const band of this.bands(m))
      for (const key of this.buckets.get(band) ?? []) {
        const other = this.sketches.get(key);
        if (seen.has(key) || !other) continue;
        seen.add(key);
        const similarity = m.compareWith(other);
        if (similarity >= this.threshold && (!best || similarity > best.similarity)) best = { key, similarity };
      }
    return best;
  }

  /** Number of indexed texts. */
  get size(): number {
    return this.sketches.size;
  }
}
