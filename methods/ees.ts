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
 * @param opts.spread active arms: the budget left is shared evenly by the rounds left, and all
 *   R rounds run (no early stop on convergence: a rule other than "misclassified" always has
 *   candidates). Examples budget: each round picks ⌈examples left / rounds left⌉ pool items.
 *   Tokens budget: the acquisition function ranks the whole pool and the teacher expands the
 *   picks best first until the round's ⌈tokens left / rounds left⌉ tokens are spent.
 * @returns why the loop stopped
 */
export async function eesRounds(
  arm: ArmSteps,
  opts: { all?: boolean; rounds?: number; spread?: boolean } = {},
): Promise<string> {
  const R = opts.rounds ?? arm.rounds;
  for (let q = 0; ; q++) {
    // with `spread`, the budget left is shared evenly by the rounds left (active arms)
    const share = opts.spread && q < R ? Math.ceil(arm.left() / (R - q)) : undefined;
    const byTokens = share !== undefined && arm.budget?.kind === 'tokens';
    const ev = await arm.train(q, {
      all: opts.all,
      ...(share === undefined ? {} : byTokens ? { ranked: true } : { batch: share }),
    }); // Alg. 2 lines 3-6
    if (q >= R) return `${R} round(s) done`;
    const spent = arm.budgetStop();
    if (spent) {
      arm.stop(spent);
      return spent;
    }
    if (ev.converged && !opts.spread) {
      arm.stop(ev.converged); // Alg. 2 "or until converged"
      return ev.converged;
    }
    await arm.extrapolate(q + 1, ev.toExtrapolate, byTokens ? { tokens: share } : {}); // Alg. 2 lines 7-10
  }
}
