/**
 * `misclassified`: the S3 rule (Wang et al. 2023, "Let's Synthesize Step by Step", Alg. 2
 * line 6, D_mis): the items the student gets wrong, argmax_k p(k|x) ≠ y. The paper expands
 * every misclassified example, so its additions follow the class mix of the errors. When
 * fewer than all of them can be expanded (a batch B below the number wrong: the budget left,
 * or synthesis.maxPerRound), a seeded uniform sample of B of them is kept, which has the same
 * class mix in expectation. Keeping the highest-loss ones instead is the `loss` rule
 * (acquisition/loss.ts), not S3: under a small budget it drew every pick from the class the
 * student never predicts (issue 18).
 *
 * Score: the cross-entropy of the known label, −ln max(p(y|x), 1e-12), in nats (reported, not
 * used to choose).
 * Order: the sampled order, a Fisher-Yates shuffle (`new Rng(seed, 'misclassified')`) of the
 * misclassified items sorted by id, so the result depends on the seed and the set of ids, not
 * on the pool order, and the pick for B is a prefix of the pick for any larger B (a token
 * budget that expands picks in order until it is spent therefore expands a uniform sample).
 * Items whose label is null are skipped. argmax takes the first class on ties.
 *
 * Pure module.
 */
import { argmax } from '../domain/metrics.js';
import { Rng } from '../domain/rng.js';
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { crossEntropy, indicesById } from './types.js';

/**
 * Picks up to B misclassified items, a seeded uniform sample of them (all of them when B ≥
 * the number misclassified).
 * @param input ids, probs (n × K), labels (null = skip), batch, seed
 * @returns min(B, #misclassified) picks in sampled order; score = −ln p(y|x) (nats)
 */
export function pickMisclassified(input: AcquisitionInput): Pick[] {
  const wrong = indicesById(input.ids).filter((i) => {
    const y = input.labels[i];
    return y !== null && argmax(input.probs[i]) !== y;
  });
  const order = new Rng(input.seed, 'misclassified').sample(wrong, Math.max(0, input.batch));
  return order.map((index) => ({
    index,
    id: input.ids[index],
    score: crossEntropy(input.probs[index], input.labels[index] as number),
  }));
}

/** Registry entry of {@link pickMisclassified}. */
export const misclassified: AcquisitionFunction = {
  name: 'misclassified',
  needsFeatures: false,
  needsLabels: true,
  source: 'Wang et al. 2023, S3 Alg. 2 (EES): misclassified examples; a seeded uniform sample under a cap',
  pick: pickMisclassified,
};
