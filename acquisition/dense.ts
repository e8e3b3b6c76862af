/**
 * Dense features for the acquisition functions that measure distances (badge, coreset): the
 * student's dense rows as they are (frozen-encoder embeddings), and sparse TF-IDF rows
 * projected to `dims` dimensions by a seeded Gaussian random projection (Johnson–Lindenstrauss:
 * pairwise distances are kept up to a factor 1 ± O(1/√dims)). Pure module.
 */
import { Rng } from '../domain/rng.js';
import { isSparse, type FeatureRow, type SparseRow } from '../student/logreg.js';

/**
 * @param rows the student's feature rows (student.features), all of one kind
 * @param dim the feature dimension (for sparse rows: the vocabulary size)
 * @param seed projection seed (stream "dense-projection"); the same seed gives the same matrix,
 *   so rows projected in different calls are comparable
 * @param dims target dimension for sparse rows (default 256)
 * @returns one dense array per row
 */
export function denseFeatures(rows: readonly FeatureRow[], dim: number, seed: number, dims = 256): number[][] {
  if (!rows.length || !isSparse(rows[0])) return rows.map((r) => Array.from(r as ArrayLike<number>));
  // column j of the projection is generated on demand from (seed, j), so only used columns cost
  const columns = new Map<number, Float64Array>();
  const column = (j: number) => {
    let c = columns.get(j);
    if (!c) {
      const rng = new Rng(seed, `dense-projection-${j}`);
      c = new Float64Array(dims);
      for (let k = 0; k < dims; k++) {
        // Box–Muller: N(0, 1/dims)
        const u = Math.max(rng.next(), 1e-12);
        c[k] = (Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next())) / Math.sqrt(dims);
      }
      columns.set(j, c);
    }
    return c;
  };
  return rows.map((r) => {
    const out = new Array<number>(dims).fill(0);
    const { indices, values } = r as SparseRow;
    for (let t = 0; t < indices.length; t++) {
      if (indices[t] >= dim) throw new RangeError(`denseFeatures: index ${indices[t]} ≥ dim ${dim}`);
      const c = column(indices[t]);
      for (let k = 0; k < dims; k++) out[k] += values[t] * c[k];
    }
    return out;
  });
}
