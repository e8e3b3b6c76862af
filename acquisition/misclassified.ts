/**
 * `misclassified`: the existing S3 rule (Wang et al. 2023, "Let's Synthesize Step by Step",
 * Alg. 2 line 6, D_mis): the items the student gets wrong, argmax_k p(k|x) ≠ y. When more
 * than B are wrong, the B with the highest loss −ln p(y|x) are kept (the same cap as
 * domain/metrics.ts `selectMisclassified`).
 *
 * Score: the cross-entropy of the known label, −ln max(p(y|x), 1e-12), in nats.
 * Order: highest loss first, ties by id ascending (selectMisclassified returns split order;
 * the picked set is the same except for ties, which it breaks by split position).
 * Items whose label is null are skipped. argmax takes the first class on ties.
 *
 * Pure module.
 */
import { argmax } from '../domain/metrics.js';
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { crossEntropy, topByScore } from './types.js';

/**
 * Picks up to B misclassified items, highest loss first.
 * @param input ids, probs (n × K), labels (null = skip), batch
 * @returns min(B, #misclassified) picks; score = −ln p(y|x) (nats)
 */
export function pickMisclassified(input: AcquisitionInput): Pick[] {
  const scores = input.probs.map((p, i) => {
    const y = input.labels[i];
    return y === null || argmax(p) === y ? null : crossEntropy(p, y);
  });
  return topByScore(input.ids, scores, input.batch);
}

/** Registry entry of {@link pickMisclassified}. */
export const misclassified: AcquisitionFunction = {
  name: 'misclassified',
  needsFeatures: false,
  needsLabels: true,
  source: 'Wang et al. 2023, S3 Alg. 2 (EES): misclassified examples; capped by highest loss',
  pick: pickMisclassified,
};
