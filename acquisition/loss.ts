/**
 * `loss`: the student's cross-entropy on the known label, ℓ(x) = −ln p(y|x); the top-B
 * items by loss. Kessler et al. 2025 (arXiv 2512.00884) "loss on the ground-truth answer".
 *
 * Score: −ln max(p(y|x), 1e-12), in nats (≥ 0). Items whose label is null are skipped.
 * Order: highest loss first, ties by id ascending.
 *
 * Pure module.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { crossEntropy, topByScore } from './types.js';

/**
 * Picks the B labelled items with the highest cross-entropy.
 * @param input ids, probs (n × K), labels (null = skip), batch
 * @returns min(B, #labelled) picks; score = −ln p(y|x) (nats)
 */
export function pickLoss(input: AcquisitionInput): Pick[] {
  const scores = input.probs.map((p, i) => {
    const y = input.labels[i];
    return y === null ? null : crossEntropy(p, y);
  });
  return topByScore(input.ids, scores, input.batch);
}

/** Registry entry of {@link pickLoss}. */
export const loss: AcquisitionFunction = {
  name: 'loss',
  needsFeatures: false,
  needsLabels: true,
  source: 'Kessler et al. 2025 (arXiv 2512.00884): student loss on the known label, -log p(y|x)',
  pick: pickLoss,
};
