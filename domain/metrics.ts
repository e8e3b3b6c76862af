/**
 * Classification metrics on gold splits, and the choice of misclassified examples that
 * EES extrapolates. Pure module.
 */
import type { SplitMetrics } from './types.js';

/** Index of the largest value (first one on ties). */
export function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

/**
 * Accuracy and macro-F1 (unweighted mean of per-class F1 over all `labels`; a class with
 * no gold and no predicted example contributes F1 = 0, as scikit-learn's default does).
 * @param gold gold labels; @param pred predicted labels, same length
 * @throws Error when lengths differ or the split is empty
 */
export function scoreSplit(gold: readonly string[], pred: readonly string[], labels: readonly string[]): SplitMetrics {
  if (gold.length !== pred.length) throw new Error(`scoreSplit: ${gold.length} gold vs ${pred.length} predictions`);
  if (gold.length === 0) throw new Error('scoreSplit: empty split');
  let correct = 0;
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const fn = new Map<string, number>();
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let i = 0; i < gold.length; i++) {
    if (gold[i] === pred[i]) {
      correct++;
      inc(tp, gold[i]);
    } else {
      inc(fp, pred[i]);
      inc(fn, gold[i]);
    }
  }
  let f1sum = 0;
  for (const l of labels) {
    const t = tp.get(l) ?? 0;
    const denom = 2 * t + (fp.get(l) ?? 0) + (fn.get(l) ?? 0);
    f1sum += denom === 0 ? 0 : (2 * t) / denom;
  }
  return {
    count: gold.length,
    accuracy: correct / gold.length,
    macroF1: f1sum / labels.length,
    misclassified: gold.length - correct,
  };
}

export interface Misclassified {
  /** position in the gold validation split */
  index: number;
  /** cross-entropy of the gold label under the student, -ln p(y|x) (nats) */
  loss: number;
}

/**
 * The gold validation examples the student gets wrong (S3 Alg. 2 line 6, D_mis). With a budget
 * `max`, keeps the `max` with the highest loss (the `loss` rule's choice; S3's own rule under a
 * cap is a seeded uniform sample: acquisition/misclassified.ts, which the activities use);
 * ties keep split order. Result is in split order.
 * @param probs class probabilities per example, columns in `labels` order
 * @param goldIdx gold class index per example
 */
export function selectMisclassified(
  probs: readonly number[][],
  goldIdx: readonly number[],
  max?: number,
): Misclassified[] {
  const wrong: Misclassified[] = [];
  probs.forEach((p, i) => {
    if (argmax(p) !== goldIdx[i]) wrong.push({ index: i, loss: lossOf(p, goldIdx[i]) });
  });
  if (max === undefined || wrong.length <= max) return wrong;
  return wrong
    .slice()
    .sort((a, b) => b.loss - a.loss || a.index - b.index)
    .slice(0, max)
    .sort((a, b) => a.index - b.index);
}

const lossOf = (p: readonly number[], y: number) => -Math.log(Math.max(p[y], 1e-12));

/**
 * GoldGen (S3 §3.2): every gold validation example is extrapolated, whatever the student
 * predicts. With a budget `max` smaller than the split, a uniform sample drawn with `rng` is
 * kept (not the highest-loss ones: that would be S3's error-driven choice again). Result in
 * split order, with each example's loss.
 * @param probs class probabilities per example; @param goldIdx gold class index per example
 */
export function selectAll(
  probs: readonly number[][],
  goldIdx: readonly number[],
  max: number | undefined,
  rng: { sample<T>(xs: readonly T[], k: number): T[] },
): Misclassified[] {
  const all = probs.map((p, i) => ({ index: i, loss: lossOf(p, goldIdx[i]) }));
  if (max === undefined || all.length <= max) return all;
  return rng.sample(all, max).sort((a, b) => a.index - b.index);
}

/**
 * Whether EES should stop after a round (S3 Alg. 2 "or until converged").
 * @param history validation accuracies so far, one per trained round (seed round first)
 * @param misclassified misclassified count of the latest round
 * @param epsilon minimum absolute gain in validation accuracy that counts as improving (undefined: never stop on a plateau)
 * @returns a reason string, or null to go on
 */
export function convergenceReason(
  history: readonly number[],
  misclassified: number,
  epsilon: number | undefined,
): string | null {
  if (misclassified === 0) return 'no misclassified validation examples';
  if (epsilon !== undefined && history.length >= 2) {
    const gain = history[history.length - 1] - history[history.length - 2];
    if (gain <= epsilon) return `validation accuracy gain ${gain.toFixed(4)} <= epsilon ${epsilon}`;
  }
  return null;
}
