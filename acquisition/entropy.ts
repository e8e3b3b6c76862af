/**
 * `entropy`: predictive entropy H(x) = −Σ_k p(k|x) ln p(k|x) (Shannon 1948; as an active
 * learning query, Settles 2009 survey §3.1), with 0 · ln 0 = 0.
 *
 * Score: H(x) in nats, in [0, ln K]. Every item is eligible.
 * Order: highest entropy first, ties by id ascending.
 *
 * Pure module.
 */
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { topByScore } from './types.js';

/**
 * Entropy of a probability vector in nats; terms with p ≤ 0 contribute 0.
 * @param p class probabilities (length K)
 */
export function entropyOf(p: readonly number[]): number {
  let h = 0;
  for (const q of p) if (q > 0) h -= q * Math.log(q);
  return h;
}

/**
 * Picks the B items of highest predictive entropy.
 * @param input ids, probs (n × K), batch
 * @returns min(B, n) picks; score = −Σ p ln p (nats)
 */
export function pickEntropy(input: AcquisitionInput): Pick[] {
  return topByScore(input.ids, input.probs.map(entropyOf), input.batch);
}

/** Registry entry of {@link pickEntropy}. */
export const entropy: AcquisitionFunction = {
  name: 'entropy',
  needsFeatures: false,
  needsLabels: false,
  source: 'Shannon 1948; Settles 2009 (active learning survey): -sum p log p',
  pick: pickEntropy,
};
