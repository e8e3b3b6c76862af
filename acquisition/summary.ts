/**
 * Summary of the scores of a picked batch, for logs and reports. Pure module.
 */
import { median } from 'simple-statistics';
import type { Pick } from './types.js';

/** count, min, median and max of the picks' scores (units of the function's score). */
export interface ScoreSummary {
  count: number;
  min: number;
  median: number;
  max: number;
}

/**
 * Summarises the scores of a batch (median: simple-statistics `median`, the mean of the two
 * middle values for an even count).
 * @param picks picks of one acquisition function, any order
 * @returns the summary, or null for an empty batch
 */
export function scoreSummary(picks: readonly Pick[]): ScoreSummary | null {
  if (picks.length === 0) return null;
  const scores = picks.map((p) => p.score);
  return {
    count: scores.length,
    min: scores.reduce((a, b) => Math.min(a, b)),
    median: median(scores),
    max: scores.reduce((a, b) => Math.max(a, b)),
  };
}
