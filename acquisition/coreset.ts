/**
 * `coreset`: the greedy k-center core-set of Sener & Savarese (ICLR 2018, arXiv 1708.00489,
 * Alg. 1): repeatedly pick the pool item farthest from the union of the training set and the
 * items picked so far,
 *   u = argmax_{i unpicked} min_{c ∈ train ∪ picked} ‖h(x_i) − h(c)‖₂,
 * on the student features h (Euclidean). Ties by id ascending. No randomness.
 *
 * Score: that min distance at pick time (units of h; not squared). The scores are
 * non-increasing in pick order.
 * Empty training set (`trainFeatures` absent or []): the distance to an empty set is
 * undefined, so the first pick is the item farthest from the pool centroid (mean of h), its
 * score that distance; the greedy rule then runs from it (so the second score may be larger
 * than the first). When B ≥ n every item is returned, ordered by score (ties by id).
 * Every item is eligible; duplicates of training items (distance 0) come last.
 *
 * Cost: O(n · (m + B) · d) time for n pool items, m training items, dimension d.
 *
 * Pure module.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { byScoreThenId, indicesById } from './types.js';

function distance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const t = a[i] - b[i];
    s += t * t;
  }
  return Math.sqrt(s);
}

/**
 * Picks B items by greedy k-center.
 * @param input ids, features (n × d, required), trainFeatures (m × d, optional), batch
 * @returns min(B, n) picks; score = Euclidean distance to the nearest training/picked item
 * @throws RangeError when `features` is missing
 */
export function pickCoreset(input: AcquisitionInput): Pick[] {
  const { ids, features } = input;
  if (!features) throw new RangeError('coreset: features (h(x) per pool item) are required');
  const train = input.trainFeatures ?? [];
  const n = ids.length;
  const B = Math.min(Math.max(0, input.batch), n);
  if (B === 0) return [];
  const order = indicesById(ids);
  const picked = new Uint8Array(n);
  const picks: Pick[] = [];
  const minD = new Float64Array(n);

  const farthest = (): number => {
    let best = -1;
    for (const i of order) if (!picked[i] && (best < 0 || minD[i] > minD[best])) best = i;
    return best;
  };
  const take = (index: number) => {
    picked[index] = 1;
    picks.push({ index, id: ids[index], score: minD[index] });
  };
  const update = (c: number) => {
    for (let i = 0; i < n; i++) if (!picked[i]) minD[i] = Math.min(minD[i], distance(features[i], features[c]));
  };

  if (train.length > 0) {
    for (let i = 0; i < n; i++) {
      let m = Infinity;
      for (const t of train) m = Math.min(m, distance(features[i], t));
      minD[i] = m;
    }
  } else {
    const d = features[0].length;
    const centroid = new Array<number>(d).fill(0);
    for (const h of features) for (let j = 0; j < d; j++) centroid[j] += h[j] / n;
    for (let i = 0; i < n; i++) minD[i] = distance(features[i], centroid);
    const first = farthest();
    take(first);
    minD.fill(Infinity);
    update(first);
  }
  while (picks.length < B) {
    const next = farthest();
    take(next);
    update(next);
  }
  return input.batch >= n ? picks.sort(byScoreThenId) : picks;
}

/** Registry entry of {@link pickCoreset}. */
export const coreset: AcquisitionFunction = {
  name: 'coreset',
  needsFeatures: true,
  needsLabels: false,
  source: 'Sener & Savarese 2018 (ICLR, arXiv 1708.00489): greedy k-center on h(x)',
  pick: pickCoreset,
};
