/**
 * Seeded pseudo-random numbers for every random choice of a run (label sampled for a
 * seed example, rationales sampled, contexts sampled, gold splits). Same seed and
 * stream name => same sequence, on any machine. Pure: safe in workflows.
 */

/** 32-bit FNV-1a hash of a string (used to derive independent streams from one seed). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic generator (mulberry32) with the helpers sampling needs. */
export class Rng {
  private state: number;

  /**
   * @param seed the run's seed (config.seed)
   * @param stream a name that makes an independent stream, e.g. "seed-data"
   */
  constructor(seed: number, stream = '') {
    this.state = (fnv1a(`${seed}:${stream}`) ^ (seed >>> 0)) >>> 0;
  }

  /** uniform float in [0, 1) */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** uniform integer in [0, n); throws RangeError when n < 1 */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Rng.int: n must be >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** one element uniformly (S3 Alg. 1 line 5: U_1(Y)); throws on an empty array */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** a shuffled copy (Fisher-Yates) */
  shuffle<T>(xs: readonly T[]): T[] {
    const a = xs.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  /** k distinct elements uniformly, in sampled order (S3 Alg. 1 line 6: U_k(r)); k is capped at xs.length */
  sample<T>(xs: readonly T[], k: number): T[] {
    return this.shuffle(xs).slice(0, Math.min(k, xs.length));
  }
}
