/**
 * Generate–evaluate–select (Kessler et al. 2025, "Towards Active Synthetic Data Generation",
 * arXiv 2512.00884): the teacher writes m candidates for each picked pool item, and the
 * student keeps, per item, the one candidate its acquisition function finds most
 * informative. The m − 1 discarded candidates were paid for: they count against the budget.
 *
 * Per group (the candidates written from one pool item) the function runs with B = 1 on the
 * group alone (its features, and the training set's for coreset), so a batch-diversity rule
 * (badge, coreset) reduces to its first pick: the largest gradient embedding, the farthest
 * candidate from the training set. A label-based rule that finds no eligible candidate
 * ("misclassified" when the student gets every candidate right) falls back to the highest
 * loss on the asked label, so every group keeps one candidate.
 *
 * Pure module: no I/O; safe to import from workflows.
 */
import { pickBatch } from './index.js';
import type { AcquisitionInput, AcquisitionName, Pick } from './types.js';
import { byScoreThenId } from './types.js';

/** One kept candidate: its position in the input arrays, its id and group, and its score. */
export interface CandidatePick extends Pick {
  /** the group (pool item) it was written from */
  group: string;
  /** how many candidates the group had */
  of: number;
  /** the function that decided ("loss" when `name` found none eligible) */
  decidedBy: AcquisitionName;
}

/**
 * Keeps one candidate per group.
 * @param name the acquisition function (teacher-judge is not allowed: it would need a rating
 *   call per candidate)
 * @param input candidates: ids, probs (n × K), labels (the label the teacher was asked for),
 *   features / trainFeatures when `name` needs them; `batch` is ignored (1 per group); `seed`
 *   seeds random choices (the same seed for every group)
 * @param groups the group of each candidate (length n); groups are returned in order of
 *   first appearance
 * @returns one pick per group, `index` into the input arrays
 * @throws RangeError on invalid input (acquisition/index.ts validateAcquisitionInput), on a
 *   `groups` array of the wrong length, or for teacher-judge
 */
export function selectPerGroup(name: AcquisitionName, input: AcquisitionInput, groups: string[]): CandidatePick[] {
  if (name === 'teacher-judge')
    throw new RangeError('selectPerGroup: teacher-judge cannot select among candidates (no student-side score)');
  if (groups.length !== input.ids.length)
    throw new RangeError(`selectPerGroup: groups has ${groups.length} entries, expected ${input.ids.length}`);
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const out: CandidatePick[] = [];
  for (const [group, idx] of members) {
    const sub: AcquisitionInput = {
      ids: idx.map((i) => input.ids[i]),
      probs: idx.map((i) => input.probs[i]),
      labels: idx.map((i) => input.labels[i]),
      batch: 1,
      seed: input.seed,
      ...(input.features ? { features: idx.map((i) => input.features![i]) } : {}),
      ...(input.trainFeatures ? { trainFeatures: input.trainFeatures } : {}),
    };
    let decidedBy: AcquisitionName = name;
    // "misclassified" keeps the wrong candidate with the highest loss (its pool-level rule
    // samples uniformly, which only matters when it cannot expand every error)
    let [pick] =
      name === 'misclassified'
        ? pickBatch(name, { ...sub, batch: sub.ids.length }).sort(byScoreThenId)
        : pickBatch(name, sub);
    if (!pick) {
      decidedBy = 'loss';
      [pick] = pickBatch('loss', sub);
    }
    // no label to score (never the case for teacher outputs, which carry the asked label)
    if (!pick) pick = { index: 0, id: sub.ids[0], score: 0 };
    out.push({ index: idx[pick.index], id: pick.id, score: pick.score, group, of: idx.length, decidedBy });
  }
  return out;
}
