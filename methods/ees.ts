/**
 * The error-extrapolation loop shared by s3, no-rationales and goldgen (S3 Alg. 2): train,
 * stop after R rounds, when the budget is spent or when converged, else extrapolate.
 * Pure module.
 */
import type { ArmSteps } from './types.js';

/**
 * @param arm the arm's steps; seed data must already be in its training set
 * @param opts.all extrapolate every gold validation example (GoldGen) instead of the misclassified ones
 * @param opts.rounds number of extrapolation rounds (default the configured R)
 * @param opts.spread active arms: each round picks ⌈budget left / rounds left⌉ pool items and
 *   runs all R rounds (no early stop on convergence: a rule other than "misclassified" always
 *   has candidates)
 * @returns why the loop stopped
 */
export async function eesRounds(
  arm: ArmSteps,
  opts: { all?: boolean; rounds?: number; spread?: boolean } = {},
): Promise<string> {
  const R = opts.rounds ?? arm.rounds;
  for (let q = 0; ; q++) {
    // with `spread`, the budget left is shared evenly by the rounds left (active arms)
    const batch = opts.spread && q < R ? Math.ceil(arm.left() / (R - q)) : undefined;
    const ev = await arm.train(q, { all: opts.all, batch }); // Alg. 2 lines 3-6
    if (q >= R) return `${R} round(s) done`;
    if (arm.left() <= 0) return 'budget spent';
    if (ev.converged && !opts.spread) return ev.converged;
    await arm.extrapolate(q + 1, ev.toExtrapolate); // Alg. 2 lines 7-10
  }
}
