/**
 * `random`: a seeded uniform sample of B pool items without replacement (the baseline of
 * every active-learning comparison, and of Kessler et al. 2025, arXiv 2512.00884).
 *
 * Sampling: Fisher-Yates shuffle (domain/rng.ts `Rng.sample`, stream
 * `new Rng(seed, 'random')`) of the pool positions sorted by id, first B kept. Hence the
 * result depends on the seed and the set of ids, not on the pool order, and the pick for B
 * is a prefix of the pick for any larger B.
 *
 * Score: n − r, where r = 0, 1, … is the position in the sampled order and n the pool size
 * (the first pick has score n; higher = picked first). Every item is eligible.
 *
 * Pure module.
 */
import { Rng } from '../domain/rng.js';
import type { AcquisitionFunction, AcquisitionInput, Pick } from './types.js';
import { indicesById } from './types.js';

/**
 * Picks B items uniformly at random without replacement.
 * @param input ids, batch, seed
 * @returns min(B, n) picks in sampled order; score = n − position
 */
export function pickRandom(input: AcquisitionInput): Pick[] {
  const n = input.ids.length;
  const order = new Rng(input.seed, 'random').sample(indicesById(input.ids), Math.max(0, input.batch));
  return order.map((index, r) => ({ index, id: input.ids[index], score: n - r }));
}

/** Registry entry of {@link pickRandom}. */
export const random: AcquisitionFunction = {
  name: 'random',
  needsFeatures: false,
  needsLabels: false,
  source: 'Uniform random baseline (seeded, without replacement)',
  pick: pickRandom,
};
