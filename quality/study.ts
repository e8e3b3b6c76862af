/**
 * The numbers of the S3 data-quality study (Wang et al. 2023, "Let's Synthesize Step by Step"):
 *
 * - Table 6 (§3.6, "Additional data quality study"): for each misclassified gold validation
 *   example x_mis and the example x_add the teacher wrote from it in EES, the cosine similarity
 *   of their embeddings, their edit distance and the average lengths of x_mis and x_add.
 * - Table 8 (App. C.1): coverage — the share of gold points p_gold that lie in
 *   A = ∪_j B_γ(p_syn^(j)), the union of closed discs of radius γ around the synthetic points,
 *   in a 2-D map of the data (the paper used t-SNE; we use UMAP, see quality/map.ts).
 *   The paper does not say how γ was chosen; {@link chooseGamma} documents our rule.
 *
 * Pure module: no I/O, no clocks, no randomness.
 */
import { distance } from 'fastest-levenshtein';

/** A sparse vector: parallel arrays of column indices (distinct) and values (e.g. a TF-IDF row). */
export interface SparseVector {
  indices: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** A dense vector (number[], Float32Array, …) or a sparse one. */
export type Vector = ArrayLike<number> | SparseVector;

/** A point of the 2-D map: [x, y] (map units). */
export type Point = readonly [number, number];

function isSparse(v: Vector): v is SparseVector {
  return (v as SparseVector).indices !== undefined && (v as SparseVector).values !== undefined;
}

function norm2(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return s;
}

/**
 * Cosine similarity a·b / (‖a‖ ‖b‖) of two dense vectors of the same length, or of two sparse
 * vectors (same column space). Used for Table 6 "Avg. Cos Sim" (S3 §3.6).
 * @returns a number in [-1, 1]; 0 when either vector is all zeros (cosine undefined)
 * @throws RangeError when two dense vectors differ in length; TypeError when one argument is
 *   dense and the other sparse
 */
export function cosine(a: Vector, b: Vector): number {
  const sa = isSparse(a);
  const sb = isSparse(b);
  if (sa !== sb) throw new TypeError('cosine: cannot mix a dense and a sparse vector');
  let dot = 0;
  let na: number;
  let nb: number;
  if (sa && sb) {
    const col = new Map<number, number>();
    for (let i = 0; i < a.indices.length; i++) col.set(a.indices[i], (col.get(a.indices[i]) ?? 0) + a.values[i]);
    for (let i = 0; i < b.indices.length; i++) dot += (col.get(b.indices[i]) ?? 0) * b.values[i];
    na = norm2(a.values);
    nb = norm2(b.values);
  } else {
    const x = a as ArrayLike<number>;
    const y = b as ArrayLike<number>;
    if (x.length !== y.length) throw new RangeError(`cosine: lengths differ (${x.length} vs ${y.length})`);
    for (let i = 0; i < x.length; i++) dot += x[i] * y[i];
    na = norm2(x);
    nb = norm2(y);
  }
  if (na === 0 || nb === 0) return 0;
  return Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb)));
}

/** The words of a text: its whitespace-separated tokens (punctuation stays attached). */
export function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/**
 * Mean length in words (whitespace-separated tokens) of some texts — Table 6 "Avg. x_mis len"
 * and "Avg. x_add len" (the paper's lengths are in words: QNLI 14.17).
 * @returns the mean, or null for no texts
 */
export function meanWords(texts: readonly string[]): number | null {
  if (texts.length === 0) return null;
  let s = 0;
  for (const t of texts) s += words(t).length;
  return s / texts.length;
}

/**
 * Levenshtein distance between the word sequences of two texts (insertions, deletions and
 * substitutions of whole words, cost 1 each). O(|a|·|b|) time, O(|b|) memory.
 */
export function wordEditDistance(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = new Int32Array(y.length + 1);
  let cur = new Int32Array(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length];
}

/** One Table 6 pair: the misclassified gold text, the text written from it, and their embeddings. */
export interface QualityPair {
  gold: string;
  synthetic: string;
  goldVec: Vector;
  synVec: Vector;
}

/** Table 6 of one arm: means over the pairs (all null when there are none). */
export interface PairStats {
  count: number;
  /** mean cosine similarity of the embeddings, in [-1, 1] */
  cosine: number | null;
  /** mean Levenshtein distance in characters (UTF-16 code units, fastest-levenshtein) */
  editDistance: number | null;
  /** mean Levenshtein distance in words (whitespace tokens); the paper's Table 6 edit distances
   * are on the scale of its word lengths (IMDb 273.92 vs 288.04 / 218.72 words), so this is
   * likely the unit it used */
  editDistanceWords: number | null;
  /** mean length in words of the gold (misclassified) texts */
  goldWords: number | null;
  /** mean length in words of the written texts */
  syntheticWords: number | null;
}

/**
 * Table 6 (S3 §3.6) over misclassified-gold → written-example pairs: mean cosine of the two
 * embeddings, mean character edit distance (`distance` from fastest-levenshtein), mean word
 * edit distance, and mean lengths in words.
 * @returns count = pairs.length; every mean null when there are no pairs
 * @throws as {@link cosine} when a pair's vectors are incompatible
 */
export function pairStats(pairs: readonly QualityPair[]): PairStats {
  const n = pairs.length;
  if (n === 0)
    return {
      count: 0,
      cosine: null,
      editDistance: null,
      editDistanceWords: null,
      goldWords: null,
      syntheticWords: null,
    };
  let cos = 0;
  let ed = 0;
  let edw = 0;
  for (const p of pairs) {
    cos += cosine(p.goldVec, p.synVec);
    ed += distance(p.gold, p.synthetic);
    edw += wordEditDistance(p.gold, p.synthetic);
  }
  return {
    count: n,
    cosine: cos / n,
    editDistance: ed / n,
    editDistanceWords: edw / n,
    goldWords: meanWords(pairs.map((p) => p.gold)),
    syntheticWords: meanWords(pairs.map((p) => p.synthetic)),
  };
}

function checkPoints(points: readonly Point[], what: string): void {
  for (const p of points)
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) throw new RangeError(`${what}: non-finite coordinate`);
}

/**
 * Table 8 (S3 App. C.1) coverage: the share of gold points p with some synthetic point q at
 * Euclidean distance ‖p − q‖ ≤ γ (closed discs B_γ(q), as in the paper). Grid buckets of side γ,
 * so each gold point looks at 3×3 cells; brute force when γ = 0.
 * @param goldPoints gold (test) points of the map
 * @param synPoints synthetic points of the same map (may be empty: share 0)
 * @param gamma radius γ ≥ 0, in map units
 * @returns share in [0, 1]
 * @throws RangeError when there are no gold points, γ is negative or not finite, or a
 *   coordinate is not finite
 */
export function coverage(goldPoints: readonly Point[], synPoints: readonly Point[], gamma: number): number {
  if (goldPoints.length === 0) throw new RangeError('coverage: no gold points');
  if (!(gamma >= 0) || !Number.isFinite(gamma))
    throw new RangeError(`coverage: gamma must be finite and >= 0, got ${gamma}`);
  checkPoints(goldPoints, 'coverage');
  checkPoints(synPoints, 'coverage');
  if (synPoints.length === 0) return 0;
  const g2 = gamma * gamma;
  const within = (p: Point, q: Point) => (p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 <= g2;
  let covered = 0;
  if (gamma === 0) {
    for (const p of goldPoints) if (synPoints.some((q) => within(p, q))) covered++;
    return covered / goldPoints.length;
  }
  const cell = (v: number) => Math.floor(v / gamma);
  const grid = new Map<string, Point[]>();
  for (const q of synPoints) {
    const k = `${cell(q[0])},${cell(q[1])}`;
    const bucket = grid.get(k);
    if (bucket) bucket.push(q);
    else grid.set(k, [q]);
  }
  for (const p of goldPoints) {
    const cx = cell(p[0]);
    const cy = cell(p[1]);
    let hit = false;
    for (let dx = -1; dx <= 1 && !hit; dx++)
      for (let dy = -1; dy <= 1 && !hit; dy++)
        hit = grid.get(`${cx + dx},${cy + dy}`)?.some((q) => within(p, q)) ?? false;
    if (hit) covered++;
  }
  return covered / goldPoints.length;
}

/**
 * For each point, the Euclidean distance to its nearest *other* point (brute force, O(n²);
 * fine for the ≤ 1000 gold points of a map).
 * @throws RangeError for fewer than 2 points
 */
export function nearestNeighbourDistances(points: readonly Point[]): number[] {
  if (points.length < 2) throw new RangeError(`nearest neighbours need at least 2 points, got ${points.length}`);
  return points.map((p, i) => {
    let best = Infinity;
    for (let j = 0; j < points.length; j++) {
      if (j === i) continue;
      const d = (p[0] - points[j][0]) ** 2 + (p[1] - points[j][1]) ** 2;
      if (d < best) best = d;
    }
    return Math.sqrt(best);
  });
}

/** The median of some numbers (mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no numbers');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The rule of {@link chooseGamma}, as written into QualityStudy.coverage.gammaRule. */
export const GAMMA_RULE =
  'gamma = median, over the gold test points of the map, of the Euclidean distance to the nearest other gold test point (synthetic points not used)';

/**
 * The coverage radius γ of Table 8. The paper gives no rule; ours depends on the gold test
 * points only, never on the synthetic points (so an arm cannot enlarge its own radius):
 * γ = the median nearest-neighbour distance among the gold test points in the map. It is the
 * map's own scale of "near" (UMAP units are arbitrary): by construction about half of the gold
 * points have another gold point within γ, so a synthetic set spread like the gold data, with
 * as many points, covers roughly half of them, and a set confined to a few clusters far less.
 * Because every arm gets its own map (gold test ∪ that arm's synthetic points), γ is
 * recomputed per map.
 * @param goldPoints the gold test points of the map (≥ 2)
 * @returns γ (map units, ≥ 0) and the rule as text ({@link GAMMA_RULE})
 * @throws RangeError for fewer than 2 gold points or a non-finite coordinate
 */
export function chooseGamma(goldPoints: readonly Point[]): { gamma: number; rule: string } {
  checkPoints(goldPoints, 'chooseGamma');
  return { gamma: median(nearestNeighbourDistances(goldPoints)), rule: GAMMA_RULE };
}
