/**
 * The 2-D map of the S3 coverage study (Table 8, App. C.1): features for each text, then a
 * seeded UMAP projection to 2 dimensions (McInnes, Healy & Melville 2018, "UMAP: Uniform
 * Manifold Approximation and Projection for Dimension Reduction", arXiv:1802.03426; the paper
 * used t-SNE, Van der Maaten & Hinton 2008 — UMAP is our substitute, with umap-js).
 *
 * Features (QualityStudy.features names the one used):
 * - the frozen sentence encoder (student/encoder.ts, e.g. all-MiniLM-L6-v2: mean-pooled,
 *   L2-normalised) when one is available — see activities/quality.ts for the choice;
 * - otherwise {@link tfidfProjection}: TF-IDF (student/tfidf.ts) fitted on the mapped texts,
 *   then a seeded Gaussian random projection to 256 dimensions (Johnson–Lindenstrauss: pairwise
 *   distances are kept up to a small relative error with high probability) and L2
 *   normalisation, so that Euclidean distances in UMAP's kNN graph order pairs like cosine.
 *
 * Cost: keep the map affordable on 2 CPU cores — the activity caps a map at 1000 gold test +
 * 1000 synthetic points (seeded subsamples, see {@link seededSubsample}). Measured on this
 * 2-core machine (Node 20, 256-dim TF-IDF projections, umap-js defaults = 500 epochs):
 * 1000 + 400 = 1400 points took 6.9 s and 9.2 s in two runs (kNN graph ≈ 2 s of it);
 * 1000 + 1000 = 2000 points took 15–20 s (kNN graph ≈ 6 s); the TF-IDF + projection step
 * 0.9 s / 1.6 s. The kNN graph is built synchronously (no heartbeat can fire during it).
 *
 * Pure apart from CPU time: no I/O; every random choice comes from a seeded Rng (domain/rng.ts).
 */
import { UMAP } from 'umap-js';
import { Rng } from '../domain/rng.js';
import { denseFeatures } from '../acquisition/dense.js';
import { TfidfVectorizer } from '../student/tfidf.js';

/** Options of {@link projectUmap}. */
export interface UmapOptions {
  /** neighbours of the kNN graph (default 15; lowered to n − 1 for fewer than 16 points) */
  nNeighbors?: number;
  /** minimum distance between embedded points (default 0.1) */
  minDist?: number;
  /** optimisation epochs (default: umap-js's, 500 for ≤ 2500 points) */
  nEpochs?: number;
  /** called every `yieldEvery` epochs with (epochs done, total) — e.g. for heartbeats */
  onProgress?: (epoch: number, total: number) => void;
  /** epochs between yields to the event loop (default 10), so timers (heartbeats) can run */
  yieldEvery?: number;
}

/**
 * Projects vectors to 2-D with UMAP (umap-js; nComponents 2, nNeighbors 15, minDist 0.1,
 * Euclidean distance), all randomness from `new Rng(seed, 'umap')`: the same seed and input
 * give the same coordinates. The optimisation runs epoch by epoch and yields to the event loop
 * every `yieldEvery` epochs (the kNN graph itself is built synchronously).
 * @param vectors n ≥ 3 vectors of equal length (n × d)
 * @param seed the run's seed
 * @returns n points [x, y] in input order (arbitrary map units)
 * @throws RangeError for fewer than 3 vectors, vectors of different lengths, or non-finite values
 */
export async function projectUmap(
  vectors: readonly (readonly number[])[],
  seed: number,
  opts: UmapOptions = {},
): Promise<[number, number][]> {
  const n = vectors.length;
  if (n < 3) throw new RangeError(`projectUmap: need at least 3 points, got ${n}`);
  const d = vectors[0].length;
  for (const v of vectors) {
    if (v.length !== d) throw new RangeError(`projectUmap: vectors differ in length (${d} vs ${v.length})`);
    for (const x of v) if (!Number.isFinite(x)) throw new RangeError('projectUmap: non-finite value');
  }
  const rng = new Rng(seed, 'umap');
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(opts.nNeighbors ?? 15, n - 1),
    minDist: opts.minDist ?? 0.1,
    ...(opts.nEpochs ? { nEpochs: opts.nEpochs } : {}),
    random: () => rng.next(),
  });
  const total = umap.initializeFit(vectors.map((v) => v.slice()));
  const every = Math.max(1, opts.yieldEvery ?? 10);
  for (let e = 0; e < total;) {
    e = umap.step();
    if (e % every === 0 || e >= total) {
      opts.onProgress?.(e, total);
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  return umap.getEmbedding().map((p) => [p[0], p[1]]);
}

/** Options of {@link tfidfProjection}. */
export interface ProjectionOptions {
  /** output dimensions k (default 256) */
  dims?: number;
  /** TF-IDF vocabulary cap (default 20,000 terms, the most frequent; bounds the k × V matrix) */
  maxFeatures?: number;
}

/** What {@link tfidfProjection} writes into QualityStudy.features. */
export const TFIDF_FEATURES = 'TF-IDF, random projection to 256 dims';

/**
 * Dense features from TF-IDF for the map: a TfidfVectorizer (word 1–2-grams + char_wb 3–5-grams,
 * sublinear tf, smooth idf, L2 rows; at most `maxFeatures` terms) fitted on `texts`, each row
 * projected by the seeded Gaussian random projection of acquisition/dense.ts (entries N(0, 1/k))
 * and L2-normalised (a row without terms stays all zeros).
 * @param texts the texts to map (each as one single text; join pairs before)
 * @param seed the run's seed (the projection matrix's stream)
 * @param opts dims k (default 256), maxFeatures (default 20,000)
 * @returns one k-dim vector per text, in order
 * @throws Error when texts is empty (from the vectorizer)
 */
export function tfidfProjection(texts: readonly string[], seed: number, opts: ProjectionOptions = {}): number[][] {
  const k = opts.dims ?? 256;
  const tfidf = new TfidfVectorizer({ maxFeatures: opts.maxFeatures ?? 20_000 });
  const rows = tfidf.fitTransform(texts.map((text) => ({ text })));
  return denseFeatures(rows, tfidf.numFeatures, seed, k).map((out) => {
    let nrm = 0;
    for (let j = 0; j < k; j++) nrm += out[j] * out[j];
    nrm = Math.sqrt(nrm);
    return Array.from(out, (x) => (nrm > 0 ? x / nrm : 0));
  });
}

/**
 * At most k elements chosen uniformly without replacement by a seeded Rng, kept in their
 * original order (all of them, in order, when k ≥ xs.length).
 */
export function seededSubsample<T>(xs: readonly T[], k: number, rng: Rng): T[] {
  if (k >= xs.length) return xs.slice();
  const picked = rng.sample(
    xs.map((_, i) => i),
    Math.max(0, k),
  );
  return picked.sort((a, b) => a - b).map((i) => xs[i]);
}
