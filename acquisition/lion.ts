/**
 * `lion`: the easy-and-hard mix that Kessler et al. 2025 (arXiv 2512.00884) compare against
 * (the name presumably refers to Lion, Jiang et al. 2023, "Lion: Adversarial Distillation of
 * Proprietary Large Language Models", whose generator writes both hard and easy items; the
 * exact rule is not checked against the PDF): half the batch hardest by loss, half easiest
 * by loss, no duplicates.
 *
 * Loss: ℓ(x) = −ln max(p(y|x), 1e-12) with the known label, in nats. Items whose label is
 * null are skipped.
 * Split: the ⌈B/2⌉ highest-loss items (ties by id ascending), then the ⌊B/2⌋ lowest-loss
 * items among the rest (ties by id ascending); with odd B the extra item goes to the hard
 * half.
 * Score: the loss. Output: the hard half (loss descending), then the easy half (loss
 * ascending), so scores are not sorted — except when B ≥ the number of labelled items: then
 * all of them are returned, ordered by loss descending (ties by id).
 *
 * Pure module.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { compareIds, crossEntropy, topByScore } from './types.js';

/**
 * Picks ⌈B/2⌉ hardest and ⌊B/2⌋ easiest labelled items by cross-entropy.
 * @param input ids, probs (n × K), labels (null = skip), batch
 * @returns min(B, #labelled) picks; score = −ln p(y|x) (nats)
 */
export function pickLion(input: AcquisitionInput): Pick[] {
  const scores = input.probs.map((p, i) => {
    const y = input.labels[i];
    return y === null ? null : crossEntropy(p, y);
  });
  const byLossDesc = topByScore(input.ids, scores, Infinity);
  const B = Math.max(0, input.batch);
  if (B >= byLossDesc.length) return byLossDesc;
  const hardCount = Math.ceil(B / 2);
  const hard = byLossDesc.slice(0, hardCount);
  const easy = byLossDesc
    .slice(hardCount)
    .sort((a, b) => (a.score !== b.score ? a.score - b.score : compareIds(a.id, b.id) || a.index - b.index))
    .slice(0, B - hardCount);
  return [...hard, ...easy];
}

/** Registry entry of {@link pickLion}. */
export const lion: AcquisitionFunction = {
  name: 'lion',
  needsFeatures: false,
  needsLabels: true,
  source: 'Kessler et al. 2025 (arXiv 2512.00884), cf. Jiang et al. 2023 (Lion): half hardest, half easiest by loss',
  pick: pickLion,
};
