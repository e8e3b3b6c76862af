/**
 * `badge`: Batch Active learning by Diverse Gradient Embeddings (Ash et al., ICLR 2020,
 * arXiv 1906.03671; code github.com/JordanAsh/badge, `init_centers`).
 *
 * Gradient embedding: the gradient of the cross-entropy with the hallucinated label
 * ŷ = argmax_k p(k|x) (first class on ties) with respect to the last layer's weights,
 *   g(x) = (p − e_ŷ) ⊗ h(x),   g[j·K + k] = (p_k − [k = ŷ]) · h_j   (length d·K),
 * laid out like student/logreg.ts weights (feature-major: weights[j*numClasses + k]). The
 * bias gradient is left out, as in the BADGE code (append a constant 1 to h to include it).
 * (The BADGE code stores e_ŷ − p; the sign does not change any distance.)
 *
 * Batch: k-means++ seeding (Arthur & Vassilvitskii 2007) over the g(x):
 *   1. first pick = the item with the largest ‖g‖ (as the BADGE code does), ties by id;
 *   2. then each pick is drawn with probability D²(x) / Σ D², D²(x) = min over picked c of
 *      ‖g(x) − g(c)‖², with `new Rng(seed, 'badge')`; the cumulative sum walks the unpicked
 *      items in id order, so the result does not depend on the pool order;
 *   3. if every unpicked item has D² = 0 (duplicates of picks), the next pick is uniform
 *      among the unpicked items (same Rng).
 * Score: D² at pick time (squared units of g); for the first pick, ‖g‖² (D² to the origin).
 * Output is in pick order, so scores are not sorted — except when B ≥ n: then every item is
 * returned, ordered by score (ties by id). Every item is eligible.
 *
 * Cost: O(n · d · K) memory for the embeddings, O(B · n · d · K) time.
 *
 * Pure module.
 */
import { argmax } from '../domain/metrics.js';
import { Rng } from '../domain/rng.js';
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { byScoreThenId, indicesById } from './types.js';

/**
 * BADGE gradient embedding g = (p − e_ŷ) ⊗ h with ŷ = argmax p.
 * @param p class probabilities (length K)
 * @param h features h(x) (length d)
 * @returns Float64Array of length d·K, g[j·K + k] = (p_k − [k = ŷ]) · h_j
 */
export function gradientEmbedding(p: readonly number[], h: readonly number[]): Float64Array {
  const K = p.length;
  const yHat = argmax(p);
  const g = new Float64Array(h.length * K);
  for (let j = 0; j < h.length; j++) {
    for (let k = 0; k < K; k++) g[j * K + k] = (p[k] - (k === yHat ? 1 : 0)) * h[j];
  }
  return g;
}

function squaredDistance(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i] - b[i];
    s += t * t;
  }
  return s;
}

/**
 * Picks B items by k-means++ seeding over BADGE gradient embeddings.
 * @param input ids, probs (n × K), features (n × d, required), batch, seed
 * @returns min(B, n) picks; score = D² at pick time (‖g‖² for the first)
 * @throws RangeError when `features` is missing
 */
export function pickBadge(input: AcquisitionInput): Pick[] {
  const { ids, probs, features } = input;
  if (!features) throw new RangeError('badge: features (h(x) per pool item) are required');
  const n = ids.length;
  const B = Math.min(Math.max(0, input.batch), n);
  if (B === 0) return [];
  const G = probs.map((p, i) => gradientEmbedding(p, features[i]));
  const order = indicesById(ids);
  const picked = new Uint8Array(n);
  const picks: Pick[] = [];
  const take = (index: number, score: number) => {
    picked[index] = 1;
    picks.push({ index, id: ids[index], score });
  };

  const zero = new Float64Array(G[0].length);
  const norm2 = G.map((g) => squaredDistance(g, zero));
  let first = order[0];
  for (const i of order) if (norm2[i] > norm2[first]) first = i;
  take(first, norm2[first]);
  const minD2 = G.map((g) => squaredDistance(g, G[first]));

  const rng = new Rng(input.seed, 'badge');
  while (picks.length < B) {
    let total = 0;
    for (const i of order) if (!picked[i]) total += minD2[i];
    let chosen = -1;
    if (total > 0) {
      const r = rng.next() * total;
      let acc = 0;
      for (const i of order) {
        if (picked[i] || !(minD2[i] > 0)) continue;
        acc += minD2[i];
        chosen = i; // the last positive item, should rounding leave r ≥ the final sum
        if (r < acc) break;
      }
    } else {
      chosen = rng.pick(order.filter((i) => !picked[i]));
    }
    take(chosen, minD2[chosen]);
    for (let i = 0; i < n; i++) {
      if (!picked[i]) minD2[i] = Math.min(minD2[i], squaredDistance(G[i], G[chosen]));
    }
  }
  return input.batch >= n ? picks.sort(byScoreThenId) : picks;
}

/** Registry entry of {@link pickBadge}. */
export const badge: AcquisitionFunction = {
  name: 'badge',
  needsFeatures: true,
  needsLabels: false,
  source: 'Ash et al. 2020 (ICLR, arXiv 1906.03671): k-means++ seeding on gradient embeddings (p - e_yhat) x h(x)',
  pick: pickBadge,
};
