/**
 * Registry of the acquisition functions and the checked entry point {@link pickBatch}.
 *
 * Pure module: no I/O; safe to import from workflows.
 */
import { badge } from './badge.js';
import { coreset } from './coreset.js';
import { entropy } from './entropy.js';
import { leastConfidence } from './leastConfidence.js';
import { lion } from './lion.js';
import { loss } from './loss.js';
import { margin } from './margin.js';
import { misclassified } from './misclassified.js';
import { random } from './random.js';
import { teacherJudge } from './teacherJudge.js';
import type { AcquisitionFunction, AcquisitionInput, AcquisitionName, Pick } from './types.js';
import { ACQUISITION_NAMES, AcquisitionNameSchema } from './types.js';

export type { AcquisitionFunction, AcquisitionInput, AcquisitionName, Pick } from './types.js';
export { ACQUISITION_NAMES, AcquisitionNameSchema } from './types.js';
export { scoreSummary } from './summary.js';
export type { ScoreSummary } from './summary.js';

/** Every acquisition function by name. */
export const ACQUISITIONS: Record<AcquisitionName, AcquisitionFunction> = {
  misclassified,
  loss,
  'least-confidence': leastConfidence,
  entropy,
  margin,
  random,
  badge,
  coreset,
  lion,
  'teacher-judge': teacherJudge,
};

/** Tolerance on probabilities: entries in [−1e-6, 1 + 1e-6], rows summing to 1 ± 1e-6. */
export const PROB_TOLERANCE = 1e-6;

function checkMatrix(what: string, rows: unknown, n: number | null, dim: number | null): number {
  if (!Array.isArray(rows)) throw new RangeError(`${what} must be an array of rows`);
  if (n !== null && rows.length !== n) throw new RangeError(`${what} has ${rows.length} rows, expected ${n}`);
  let d = dim;
  rows.forEach((row: unknown, i) => {
    if (!Array.isArray(row)) throw new RangeError(`${what}[${i}] is not an array`);
    if (d === null) d = row.length;
    if (row.length !== d) throw new RangeError(`${what}[${i}] has length ${row.length}, expected ${d}`);
    row.forEach((v: unknown, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${what}[${i}][${j}] is not finite: ${v}`);
    });
  });
  return d ?? 0;
}

/**
 * Checks an input for the function `name`.
 * Rules: `name` is a known function; ids are distinct strings; probs and labels have one
 * entry per id; every probs row has the same length K ≥ 1, finite entries in
 * [−1e-6, 1 + 1e-6] and sums to 1 within 1e-6; each label is null or an integer in [0, K);
 * batch is an integer ≥ 0; seed is an integer; when the function needs features,
 * `features` is n × d with d ≥ 1 and finite entries, and `trainFeatures`, if given, is m × d.
 * @throws RangeError naming the first rule broken
 */
export function validateAcquisitionInput(name: AcquisitionName, input: AcquisitionInput): void {
  const parsed = AcquisitionNameSchema.safeParse(name);
  if (!parsed.success) {
    throw new RangeError(
      `unknown acquisition function ${JSON.stringify(name)}; expected one of ${ACQUISITION_NAMES.join(', ')}`,
    );
  }
  const { ids, probs, labels, batch, seed } = input;
  if (!Array.isArray(ids)) throw new RangeError(`${name}: ids must be an array`);
  const n = ids.length;
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string') throw new RangeError(`${name}: ids[${i}] is not a string`);
    if (seen.has(id)) throw new RangeError(`${name}: duplicate id ${JSON.stringify(id)} at ids[${i}]`);
    seen.add(id);
  });
  if (!Array.isArray(labels) || labels.length !== n) {
    throw new RangeError(
      `${name}: labels has ${Array.isArray(labels) ? labels.length : 'no'} entries, expected ${n} (one per id)`,
    );
  }
  if (!Number.isInteger(batch) || batch < 0)
    throw new RangeError(`${name}: batch must be an integer >= 0, got ${batch}`);
  if (!Number.isInteger(seed)) throw new RangeError(`${name}: seed must be an integer, got ${seed}`);
  const K = checkMatrix(`${name}: probs`, probs, n, null);
  if (n > 0 && K < 1) throw new RangeError(`${name}: probs rows must have at least one class`);
  probs.forEach((row, i) => {
    let sum = 0;
    row.forEach((v, k) => {
      if (v < -PROB_TOLERANCE || v > 1 + PROB_TOLERANCE) {
        throw new RangeError(`${name}: probs[${i}][${k}] = ${v} is not a probability`);
      }
      sum += v;
    });
    if (Math.abs(sum - 1) > PROB_TOLERANCE) {
      throw new RangeError(`${name}: probs[${i}] sums to ${sum}, not 1 (tolerance ${PROB_TOLERANCE})`);
    }
  });
  labels.forEach((y, i) => {
    if (y !== null && !(Number.isInteger(y) && y >= 0 && y < K)) {
      throw new RangeError(`${name}: labels[${i}] = ${y} is not null or a class index in [0, ${K})`);
    }
  });
  if (ACQUISITIONS[name].needsFeatures) {
    if (input.features === undefined) throw new RangeError(`${name}: features (h(x) per pool item) are required`);
    const d = checkMatrix(`${name}: features`, input.features, n, null);
    if (n > 0 && d < 1) throw new RangeError(`${name}: features rows must have at least one dimension`);
    if (input.trainFeatures !== undefined)
      checkMatrix(`${name}: trainFeatures`, input.trainFeatures, null, n > 0 ? d : null);
  }
}

/**
 * Validates the input, then picks a batch with the function `name`.
 * @param name one of {@link ACQUISITION_NAMES}
 * @param input the pool (see {@link AcquisitionInput})
 * @returns min(B, eligible) picks in pick order (each function documents its order and
 *   score); when B ≥ the number of eligible items, every eligible item, ordered by score
 *   (descending, ties by id ascending), except "misclassified", whose order is a seeded
 *   shuffle (acquisition/misclassified.ts). Label-based functions (misclassified, loss, lion)
 *   skip items whose label is null.
 * @throws RangeError when the input breaks a rule of {@link validateAcquisitionInput}
 */
export function pickBatch(name: AcquisitionName, input: AcquisitionInput): Pick[] {
  validateAcquisitionInput(name, input);
  return ACQUISITIONS[name].pick(input);
}
