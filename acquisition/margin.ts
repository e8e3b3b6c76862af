/**
 * `margin`: margin sampling (Scheffer et al. 2001): the items with the smallest margin
 * p₁ − p₂ between the two largest class probabilities.
 *
 * Score: 1 − (p₁ − p₂), in [0, 1] (1 = the top two classes tie; higher = picked first).
 * With K = 1, p₂ = 0. Every item is eligible.
 * Order: smallest margin first, ties by id ascending.
 *
 * Pure module.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { topByScore } from './types.js';

/**
 * p₁ − p₂: the largest minus the second-largest probability (p₂ = 0 when K = 1).
 * @param p class probabilities (length K ≥ 1)
 */
export function marginOf(p: readonly number[]): number {
  const sorted = p.slice().sort((a, b) => b - a);
  return sorted[0] - (sorted[1] ?? 0);
}

/**
 * Picks the B items with the smallest top-two margin.
 * @param input ids, probs (n × K), batch
 * @returns min(B, n) picks; score = 1 − (p₁ − p₂)
 */
export function pickMargin(input: AcquisitionInput): Pick[] {
  return topByScore(
    input.ids,
    input.probs.map((p) => 1 - marginOf(p)),
    input.batch,
  );
}

/** Registry entry of {@link pickMargin}. */
export const margin: AcquisitionFunction = {
  name: 'margin',
  needsFeatures: false,
  needsLabels: false,
  source: 'Scheffer et al. 2001 (margin sampling): smallest p1 - p2',
  pick: pickMargin,
};
