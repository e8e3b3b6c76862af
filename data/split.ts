/**
 * Seeded stratified splitting of labeled examples into disjoint gold splits.
 * Pure: safe to import anywhere (randomness only from the seeded Rng).
 */
import { Rng } from '../domain/rng.js';
import type { Example } from '../domain/types.js';

/**
 * Splits `total` into per-label quotas proportional to `counts` (largest remainder,
 * ties broken by label order), so the quotas sum to exactly `total`.
 */
export function proportionalQuotas(counts: ReadonlyMap<string, number>, total: number): Map<string, number> {
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  const entries = [...counts.entries()].map(([label, c], order) => {
    const exact = (c * total) / n;
    return { label, order, quota: Math.floor(exact), rest: exact - Math.floor(exact) };
  });
  let left = total - entries.reduce((a, e) => a + e.quota, 0);
  for (const e of [...entries].sort((a, b) => b.rest - a.rest || a.order - b.order)) {
    if (left-- <= 0) break;
    e.quota++;
  }
  return new Map(entries.map((e) => [e.label, e.quota]));
}

/**
 * Stratified, disjoint split of examples: per label, a seeded shuffle, then the first
 * validation quota goes to validation and the next test quota to test. Quotas follow the
 * label proportions of `rows` (proportionalQuotas). Each split is returned in a seeded
 * shuffled order. Deterministic for (rows, seed, stream).
 * @throws RangeError when a size is not a non-negative integer, or validationSize + testSize
 *   exceeds what some label can supply
 */
export function stratifiedSplit(
  rows: readonly Example[],
  opts: { seed: number; validationSize: number; testSize: number; stream?: string },
): { validation: Example[]; test: Example[] } {
  const { validationSize, testSize } = opts;
  for (const [name, v] of Object.entries({ validationSize, testSize }))
    if (!Number.isInteger(v) || v < 0)
      throw new RangeError(`stratifiedSplit: ${name} must be a non-negative integer, got ${v}`);
  if (validationSize + testSize > rows.length)
    throw new RangeError(
      `stratifiedSplit: validationSize ${validationSize} + testSize ${testSize} exceeds the ${rows.length} examples`,
    );
  const rng = new Rng(opts.seed, opts.stream ?? 'gold-split');
  const byLabel = new Map<string, Example[]>();
  for (const r of rows) {
    const xs = byLabel.get(r.label);
    if (xs) xs.push(r);
    else byLabel.set(r.label, [r]);
  }
  const counts = new Map([...byLabel].map(([l, xs]) => [l, xs.length]));
  const valQ = proportionalQuotas(counts, validationSize);
  const testQ = proportionalQuotas(counts, testSize);
  const validation: Example[] = [];
  const test: Example[] = [];
  for (const [label, xs] of byLabel) {
    const v = valQ.get(label) ?? 0;
    const t = testQ.get(label) ?? 0;
    if (v + t > xs.length)
      throw new RangeError(
        `stratifiedSplit: validationSize ${validationSize} + testSize ${testSize} needs ${v + t} "${label}" examples, only ${xs.length} available (of ${rows.length} total)`,
      );
    const shuffled = rng.shuffle(xs);
    validation.push(...shuffled.slice(0, v));
    test.push(...shuffled.slice(v, v + t));
  }
  return { validation: rng.shuffle(validation), test: rng.shuffle(test) };
}

/**
 * Seeded subset of a gold split (config validationSize / testSize).
 * @param rows all rows
 * @param n rows to keep; undefined (or >= rows.length) keeps every row in the original order
 * @param rng seeded generator
 * @returns a new array: `n` rows uniformly without replacement, in sampled order
 * @throws RangeError when n is not a positive integer
 */
export function takeSample<T>(rows: readonly T[], n: number | undefined, rng: Rng): T[] {
  if (n === undefined) return rows.slice();
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`takeSample: n must be a positive integer, got ${n}`);
  return n >= rows.length ? rows.slice() : rng.sample(rows, n);
}
