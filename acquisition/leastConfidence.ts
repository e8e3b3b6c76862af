/**
 * `least-confidence`: 1 − max_k p(k|x) (Lewis & Gale 1994; Settles 2009 survey §3.1).
 * For a classifier this is the analogue of Kessler et al. 2025's (arXiv 2512.00884) loss on
 * the student's own prediction: it needs no label.
 *
 * Score: 1 − max_k p(k|x), in [0, 1 − 1/K]. Every item is eligible.
 * Order: highest score (least confident) first, ties by id ascending.
 *
 * Pure module.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { topByScore } from './types.js';

/**
 * Picks the B least confident items.
 * @param input ids, probs (n × K), batch
 * @returns min(B, n) picks; score = 1 − max p
 */
export function pickLeastConfidence(input: AcquisitionInput): Pick[] {
  const scores = input.probs.map((p) => 1 - Math.max(...p));
  return topByScore(input.ids, scores, input.batch);
}

/** Registry entry of {@link pickLeastConfidence}. */
export const leastConfidence: AcquisitionFunction = {
  name: 'least-confidence',
  needsFeatures: false,
  needsLabels: false,
  source: "Lewis & Gale 1994; Kessler et al. 2025 (arXiv 2512.00884): loss on the student's own prediction, 1 - max p",
  pick: pickLeastConfidence,
};
