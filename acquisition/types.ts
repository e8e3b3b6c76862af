/**
 * Types shared by the acquisition functions, plus the small ranking helpers they all use.
 *
 * An acquisition function (active learning; used here as in Kessler et al., "Towards Active
 * Synthetic Data Generation", arXiv 2512.00884) scores the items of a pool with the current
 * student and picks a batch of B of them for the teacher to expand.
 *
 * Determinism: every function is a pure function of its input. Ties are broken by id,
 * ascending, compared by UTF-16 code units (`<`, not locale-aware), so the result does not
 * depend on the order of the pool. Random choices use `new Rng(seed, '<function name>')`.
 *
 * Pure module: no I/O; safe to import from workflows.
 */
import { z } from 'zod';

/** Names of the acquisition functions, in the order reports list them. */
export const ACQUISITION_NAMES = [
  'misclassified',
  'loss',
  'least-confidence',
  'entropy',
  'margin',
  'random',
  'badge',
  'coreset',
  'lion',
  'teacher-judge',
] as const;

/** One of {@link ACQUISITION_NAMES}. */
export type AcquisitionName = (typeof ACQUISITION_NAMES)[number];

/** Zod schema of an acquisition function name (for configs). */
export const AcquisitionNameSchema = z.enum(ACQUISITION_NAMES);

/** What an acquisition function sees of the pool. All arrays are indexed by pool position. */
export interface AcquisitionInput {
  /** pool item ids, distinct (ties are broken by id, ascending, deterministically) */
  ids: string[];
  /** student class probabilities per pool item, n × K (rows sum to 1) */
  probs: number[][];
  /** known label index per item (gold, or the label the teacher was asked for), null if unknown */
  labels: (number | null)[];
  /** B: how many to pick (integer ≥ 0) */
  batch: number;
  /** seed for random / k-means++ / any randomness (streams: `new Rng(seed, '<function name>')`) */
  seed: number;
  /** h(x), dense, n × d, per pool item (badge, coreset) */
  features?: number[][];
  /** h(x) of the current training set, m × d (coreset) */
  trainFeatures?: number[][];
  /** the teacher's difficulty rating per pool item, 1 (easy) … 5 (hard), null when its answer
   * had no rating or was not asked (teacher-judge; filled by the judgeDifficulty activity) */
  judgeScores?: (number | null)[];
}

/**
 * One picked item. `score` is the function's value for the item (higher = picked first;
 * each module documents its score and unit).
 */
export interface Pick {
  /** position in the pool arrays */
  index: number;
  /** ids[index] */
  id: string;
  score: number;
}

/** An acquisition function and what it needs. */
export interface AcquisitionFunction {
  name: AcquisitionName;
  /** needs `features` (and, for coreset, optionally `trainFeatures`) */
  needsFeatures: boolean;
  /** uses `labels`; items whose label is null are skipped */
  needsLabels: boolean;
  /** the paper (or code) the function comes from */
  source: string;
  /**
   * Picks min(B, eligible items) items, in pick order. Does not validate its input: call
   * {@link pickBatch} in `acquisition/index.ts` for checked input.
   */
  pick(input: AcquisitionInput): Pick[];
}

/** Floor on probabilities before taking logs (same as domain/metrics.ts selectMisclassified). */
export const PROB_FLOOR = 1e-12;

/** Compares two ids by UTF-16 code units (locale-independent): −1, 0 or 1. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sort order of picks: score descending, then id ascending, then pool index ascending.
 * @returns negative when `a` comes first
 */
export function byScoreThenId(a: Pick, b: Pick): number {
  if (a.score !== b.score) return a.score > b.score ? -1 : 1;
  return compareIds(a.id, b.id) || a.index - b.index;
}

/**
 * Top-B items by score (score descending, ties by id ascending). Items whose score is null
 * are not eligible.
 * @param ids pool ids (length n)
 * @param scores one score per pool item, or null to skip the item (length n)
 * @param batch B (≥ 0); when B ≥ the number of eligible items, all of them are returned
 * @returns the picks, highest score first
 */
export function topByScore(ids: readonly string[], scores: readonly (number | null)[], batch: number): Pick[] {
  const all: Pick[] = [];
  scores.forEach((score, index) => {
    if (score !== null) all.push({ index, id: ids[index], score });
  });
  return all.sort(byScoreThenId).slice(0, Math.max(0, batch));
}

/**
 * Cross-entropy of a known label, −ln max(p[y], 1e-12), in nats.
 * @param p class probabilities (length K)
 * @param y class index in [0, K)
 */
export function crossEntropy(p: readonly number[], y: number): number {
  return -Math.log(Math.max(p[y], PROB_FLOOR));
}

/**
 * Pool positions sorted by id ascending: the canonical order that random choices walk, so
 * that a seeded choice does not depend on the order of the pool.
 */
export function indicesById(ids: readonly string[]): number[] {
  return ids.map((_, i) => i).sort((a, b) => compareIds(ids[a], ids[b]) || a - b);
}
