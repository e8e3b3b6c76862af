/**
 * Per-class caps on a round's picks (issue 18: "no loop can flood one class"). Under a small
 * budget an acquisition rule can draw every pick from one class (on SpamAssassin EES picked
 * 49 spam and 1 ham; on a 4-class task 50 of 50 from one class), and the student then
 * predicts that class almost everywhere. With a cap, the picks are taken in the rule's own
 * order and an item is skipped once its class has its quota, so each class's share of the
 * round is bounded:
 * - "balanced": every class may take at most ⌈B / K⌉ picks;
 * - "prior": class k may take at most ⌈B · π_k⌉ picks, π the class shares of the gold
 *   validation set (the label prior the student will be scored under);
 * - "none": no cap (the rule's picks unchanged).
 * A cap is a ceiling, not a target: a class with fewer eligible items than its quota leaves
 * the rest of the batch unspent this round (the budget carries over), never filled with
 * another class.
 *
 * Pure module: no I/O; safe to import from workflows.
 */
import { z } from 'zod';

/** Names of the per-class cap rules. */
export const CLASS_CAPS = ['none', 'balanced', 'prior'] as const;
/** Zod schema of a per-class cap rule (for configs). */
export const ClassCapSchema = z.enum(CLASS_CAPS);
/** One of {@link CLASS_CAPS}. */
export type ClassCap = z.infer<typeof ClassCapSchema>;

/**
 * The most picks each class may take in a batch of B.
 * @param rule "balanced" (⌈B/K⌉ each) or "prior" (⌈B·π_k⌉); "none": B each
 * @param batch B ≥ 0
 * @param prior π: K class shares (≥ 0; normalised here; all zero counts as uniform)
 * @returns K quotas (integers ≥ 0)
 * @throws RangeError when prior is empty or has a negative or non-finite entry
 */
export function classQuotas(rule: ClassCap, batch: number, prior: readonly number[]): number[] {
  const K = prior.length;
  if (K < 1) throw new RangeError('classQuotas: prior must have at least one class');
  if (prior.some((p) => !Number.isFinite(p) || p < 0))
    throw new RangeError(`classQuotas: prior entries must be finite and >= 0, got ${JSON.stringify(prior)}`);
  const B = Math.max(0, Math.floor(batch));
  if (rule === 'none') return prior.map(() => B);
  if (rule === 'balanced') return prior.map(() => Math.ceil(B / K));
  const total = prior.reduce((a, b) => a + b, 0);
  const shares = total > 0 ? prior.map((p) => p / total) : prior.map(() => 1 / K);
  // round to 1e-9 first so that e.g. 50 · 0.3 = 15.000000000000002 gives 15, not 16
  return shares.map((s) => Math.ceil(Math.round(B * s * 1e9) / 1e9));
}

/**
 * Takes items from `ranked` in order, skipping an item whose class has reached its quota,
 * until `batch` are taken or the list ends.
 * @param ranked candidates in the acquisition rule's pick order (best first)
 * @param classOf class index in [0, K) of a candidate
 * @param batch B ≥ 0
 * @param quotas per-class maxima ({@link classQuotas})
 * @returns at most B candidates, in their ranked order
 */
export function takeWithinQuotas<T>(
  ranked: readonly T[],
  classOf: (item: T) => number,
  batch: number,
  quotas: readonly number[],
): T[] {
  const used = quotas.map(() => 0);
  const out: T[] = [];
  for (const item of ranked) {
    if (out.length >= batch) break;
    const k = classOf(item);
    if (used[k] >= quotas[k]) continue;
    used[k]++;
    out.push(item);
  }
  return out;
}

/**
 * Per-class counts of picks, for reports (e.g. `{ spam: 49, ham: 1 }`).
 * @param classes class index of each pick; @param labels the K label names
 */
export function countByClass(classes: readonly number[], labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  for (const k of classes) out[labels[k]] = (out[labels[k]] ?? 0) + 1;
  return out;
}

/**
 * Reorders a full ranking so that every prefix keeps each class near its share (for token
 * budgets, where the teacher expands picks in order until the round's tokens are spent and
 * the batch size is not known in advance). Item j-th best of class k gets the key
 * (j + 1) / s_k, s the shares ({@link classQuotas}'s rule: 1/K each for "balanced", π_k for
 * "prior"); items are sorted by key, ties by their ranked position. A prefix of length m then
 * holds at most ⌈m · s_k⌉ + 1 items of class k. "none" returns the ranking unchanged.
 * @param ranked candidates in the rule's pick order; @param classOf class index in [0, K)
 * @param prior K class shares (normalised here; all zero counts as uniform)
 */
export function interleaveByClass<T>(
  rule: ClassCap,
  ranked: readonly T[],
  classOf: (item: T) => number,
  prior: readonly number[],
): T[] {
  if (rule === 'none') return ranked.slice();
  const K = prior.length;
  const total = prior.reduce((a, b) => a + b, 0);
  const shares = rule === 'balanced' || total <= 0 ? prior.map(() => 1 / K) : prior.map((p) => p / total);
  const seen = new Array<number>(K).fill(0);
  const keyed = ranked.map((item, pos) => {
    const k = classOf(item);
    const j = seen[k]++;
    return { item, pos, key: shares[k] > 0 ? (j + 1) / shares[k] : Infinity };
  });
  return keyed.sort((a, b) => a.key - b.key || a.pos - b.pos).map((x) => x.item);
}
