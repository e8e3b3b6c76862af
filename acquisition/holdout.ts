/**
 * The validation holdout (synthesis.validationHoldout): gold validation split into a selection
 * part (the pool an acquisition function may pick from) and a dev part used only for
 * convergence and the reported validation accuracy, so selection cannot overfit what it
 * reports. Pure module.
 */
import { Rng } from '../domain/rng.js';

/**
 * @param n number of gold validation examples
 * @param fraction share held out as dev, in [0, 0.9]; 0 gives no dev part (S3's setting)
 * @param seed run seed (stream "validation-holdout")
 * @returns indices of the selection and dev parts, each ascending; dev has round(n·fraction)
 *   examples (at least 1 when fraction > 0 and n ≥ 2)
 * @throws RangeError on a fraction outside [0, 0.9]
 */
export function splitHoldout(n: number, fraction: number, seed: number): { selection: number[]; dev: number[] } {
  if (!(fraction >= 0 && fraction <= 0.9))
    throw new RangeError(`validationHoldout must be in [0, 0.9], got ${fraction}`);
  const all = Array.from({ length: n }, (_, i) => i);
  if (fraction === 0 || n < 2) return { selection: all, dev: [] };
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const dev = new Rng(seed, 'validation-holdout').sample(all, k).sort((a, b) => a - b);
  const held = new Set(dev);
  return { selection: all.filter((i) => !held.has(i)), dev };
}
