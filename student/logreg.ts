/**
 * Multinomial (softmax) logistic regression on sparse or dense feature rows, trained
 * full-batch with L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., Alg. 7.4
 * two-loop recursion) and a backtracking Armijo line search. Deterministic: zero
 * initialisation, no randomness, fixed summation order.
 *
 * Objective (mean loss; the bias is not penalised):
 *   f(W, b) = (1/n) Σ_i −log softmax(W x_i + b)[y_i] + (l2/2) ‖W‖²
 * scikit-learn's LogisticRegression(C) minimises C·Σ_i loss_i + ½‖W‖², i.e. the same
 * minimiser when l2 = 1/(C·n) (multinomial, K ≥ 3). For K = 2 sklearn fits a single vector
 * d = w₁ − w₀, and our symmetric softmax solution has w₁ = −w₀ = d/2, so l2 = 2/(C·n).
 *
 * Pure module: no I/O.
 */

/** A sparse feature vector: parallel arrays of column indices (0-based, < dim) and values. */
export interface SparseRow {
  indices: Int32Array | number[];
  values: Float32Array | Float64Array | number[];
}

/** A feature row: sparse, or dense (a plain array of length dim). */
export type FeatureRow = SparseRow | Float32Array | Float64Array | number[];

/** Training options. */
export interface LogRegOptions {
  /** L2 penalty on the weights, applied to the mean loss (≥ 0) */
  l2: number;
  /** maximum L-BFGS iterations (each one costs ≥ 1 pass over the data) */
  maxIter: number;
  /** stop when the largest absolute gradient entry is ≤ tol (default 1e-6) */
  tol?: number;
  /** L-BFGS memory: number of (s, y) pairs kept (default 10) */
  memory?: number;
}

/** A trained head. `weights` is feature-major: weights[j*numClasses + k] is W[k][j]. */
export interface LogRegModel {
  dim: number;
  numClasses: number;
  weights: Float64Array;
  bias: Float64Array;
}

/** Result of {@link trainLogReg}. `loss` is the final objective value (nats). */
export interface LogRegResult {
  model: LogRegModel;
  iterations: number;
  loss: number;
  /** max |∂f/∂θ| at the returned parameters */
  gradMax: number;
  converged: boolean;
}

/** Rows packed in compressed-sparse-row form. */
interface Csr {
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

function isSparse(r: FeatureRow): r is SparseRow {
  return !Array.isArray(r) && !ArrayBuffer.isView(r);
}

/**
 * Packs rows into CSR form.
 * @throws Error if an index is outside [0, dim), or a sparse row's arrays differ in length,
 *   or a dense row's length is not dim
 */
function toCsr(rows: FeatureRow[], dim: number): Csr {
  let nnz = 0;
  for (const r of rows) nnz += isSparse(r) ? r.indices.length : r.length;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let p = 0;
  rows.forEach((r, i) => {
    if (isSparse(r)) {
      if (r.indices.length !== r.values.length) throw new Error(`logreg: row ${i} has indices/values of different lengths`);
      for (let t = 0; t < r.indices.length; t++) {
        const j = r.indices[t];
        if (!(j >= 0 && j < dim)) throw new Error(`logreg: row ${i} has feature index ${j} outside [0, ${dim})`);
        indices[p] = j;
        values[p++] = r.values[t];
      }
    } else {
      if (r.length !== dim) throw new Error(`logreg: dense row ${i} has length ${r.length}, expected ${dim}`);
      for (let j = 0; j < dim; j++) {
        indices[p] = j;
        values[p++] = r[j];
      }
    }
    indptr[i + 1] = p;
  });
  return { n: rows.length, indptr, indices, values };
}

/**
 * Writes softmax(W x_i + b) for every row i into `proba` (n·K, row-major).
 * θ = [W (feature-major, dim·K), b (K)].
 */
function forward(x: Csr, theta: Float64Array, dim: number, K: number, proba: Float64Array): void {
  const { indptr, indices, values } = x;
  const bOff = dim * K;
  for (let i = 0, o = 0; i < x.n; i++, o += K) {
    for (let k = 0; k < K; k++) proba[o + k] = theta[bOff + k];
    for (let p = indptr[i], end = indptr[i + 1]; p < end; p++) {
      const v = values[p];
      const w = indices[p] * K;
      for (let k = 0; k < K; k++) proba[o + k] += v * theta[w + k];
    }
    let max = -Infinity;
    for (let k = 0; k < K; k++) if (proba[o + k] > max) max = proba[o + k];
    let sum = 0;
    for (let k = 0; k < K; k++) sum += proba[o + k] = Math.exp(proba[o + k] - max);
    for (let k = 0; k < K; k++) proba[o + k] /= sum;
  }
}

/** Objective value at θ; writes ∂f/∂θ into `grad` (same length as θ). `proba` is scratch (n·K). */
function lossGrad(
  x: Csr,
  y: Int32Array,
  theta: Float64Array,
  dim: number,
  K: number,
  l2: number,
  grad: Float64Array,
  proba: Float64Array,
): number {
  const { indptr, indices, values } = x;
  const bOff = dim * K;
  const invN = 1 / x.n;
  forward(x, theta, dim, K, proba);
  grad.fill(0);
  let loss = 0;
  for (let i = 0, o = 0; i < x.n; i++, o += K) {
    loss -= Math.log(Math.max(proba[o + y[i]], 1e-300));
    proba[o + y[i]] -= 1; // now the residual p − onehot
    for (let k = 0; k < K; k++) grad[bOff + k] += proba[o + k] * invN;
    for (let p = indptr[i], end = indptr[i + 1]; p < end; p++) {
      const v = values[p] * invN;
      const w = indices[p] * K;
      for (let k = 0; k < K; k++) grad[w + k] += v * proba[o + k];
    }
  }
  let pen = 0;
  for (let j = 0; j < bOff; j++) {
    pen += theta[j] * theta[j];
    grad[j] += l2 * theta[j];
  }
  return loss * invN + 0.5 * l2 * pen;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function checkLabels(labels: ArrayLike<number>, n: number, numClasses: number): Int32Array {
  if (labels.length !== n) throw new Error(`logreg: ${n} rows but ${labels.length} labels`);
  const y = Int32Array.from(labels);
  y.forEach((c, i) => {
    if (!(c >= 0 && c < numClasses && Number.isInteger(labels[i])))
      throw new Error(`logreg: label ${labels[i]} of row ${i} is not a class index in [0, ${numClasses})`);
  });
  return y;
}

/**
 * Trains the head from zero initialisation with L-BFGS.
 * @param rows n feature rows (sparse or dense), all with indices in [0, dim)
 * @param labels n class indices in [0, numClasses)
 * @param numClasses K ≥ 2
 * @param dim number of feature columns
 * @param opts l2 penalty, iteration cap, gradient tolerance
 * @returns the model, iterations done, final objective (mean nats + penalty), max |gradient|
 * @throws Error on empty input, K < 2, bad labels or bad feature indices
 */
export function trainLogReg(
  rows: FeatureRow[],
  labels: ArrayLike<number>,
  numClasses: number,
  dim: number,
  opts: LogRegOptions,
): LogRegResult {
  if (rows.length === 0) throw new Error('logreg: no training rows');
  if (!(numClasses >= 2)) throw new Error(`logreg: need at least 2 classes, got ${numClasses}`);
  const K = numClasses;
  const x = toCsr(rows, dim);
  const y = checkLabels(labels, x.n, K);
  const { l2, maxIter } = opts;
  const tol = opts.tol ?? 1e-6;
  const m = opts.memory ?? 10;
  const size = dim * K + K;
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let thetaNew = new Float64Array(size);
  let gradNew = new Float64Array(size);
  const dir = new Float64Array(size);
  const proba = new Float64Array(x.n * K);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  let f = lossGrad(x, y, theta, dim, K, l2, grad, proba);
  let it = 0;
  let converged = false;
  while (it < maxIter) {
    if (maxAbs(grad) <= tol) {
      converged = true;
      break;
    }
    // two-loop recursion: dir = −H·grad
    for (let i = 0; i < size; i++) dir[i] = -grad[i];
    for (let h = S.length - 1; h >= 0; h--) {
      alpha[h] = rho[h] * dot(S[h], dir);
      const yh = Y[h];
      for (let i = 0; i < size; i++) dir[i] -= alpha[h] * yh[i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < size; i++) dir[i] *= gamma;
    }
    for (let h = 0; h < S.length; h++) {
      const beta = rho[h] * dot(Y[h], dir);
      const sh = S[h];
      for (let i = 0; i < size; i++) dir[i] += (alpha[h] - beta) * sh[i];
    }
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // not a descent direction (numerical trouble): restart from steepest descent
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < size; i++) dir[i] = -grad[i];
      slope = dot(grad, dir);
    }
    // backtracking Armijo line search (c1 = 1e-4); first step scaled to unit length
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = NaN;
    let accepted = false;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < size; i++) thetaNew[i] = theta[i] + step * dir[i];
      fNew = lossGrad(x, y, thetaNew, dim, K, l2, gradNew, proba);
      if (fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break; // no decrease possible at float precision: we are at the optimum
    it++;
    const s = S.length === m ? S.shift()! : new Float64Array(size);
    const yv = Y.length === m ? Y.shift()! : new Float64Array(size);
    if (rho.length === m) rho.shift();
    for (let i = 0; i < size; i++) {
      s[i] = thetaNew[i] - theta[i];
      yv[i] = gradNew[i] - grad[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(yv, yv) * dot(s, s))) {
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const fOld = f;
    [theta, thetaNew] = [thetaNew, theta];
    [grad, gradNew] = [gradNew, grad];
    f = fNew;
    if (fOld - f <= 1e-15 * Math.max(1, Math.abs(f))) break; // stalled
  }
  const gradMax = maxAbs(grad);
  converged ||= gradMax <= tol;
  const model: LogRegModel = { dim, numClasses: K, weights: theta.slice(0, dim * K), bias: theta.slice(dim * K) };
  return { model, iterations: it, loss: f, gradMax, converged };
}

/**
 * Objective and gradient of a model on data (for diagnostics and tests).
 * @returns loss as in the module doc; gradW feature-major (dim·K); gradB (K)
 * @throws Error on bad labels or feature indices
 */
export function objective(
  model: LogRegModel,
  rows: FeatureRow[],
  labels: ArrayLike<number>,
  l2: number,
): { loss: number; gradW: Float64Array; gradB: Float64Array } {
  const { dim, numClasses: K } = model;
  const x = toCsr(rows, dim);
  const y = checkLabels(labels, x.n, K);
  const theta = new Float64Array(dim * K + K);
  theta.set(model.weights);
  theta.set(model.bias, dim * K);
  const grad = new Float64Array(theta.length);
  const loss = lossGrad(x, y, theta, dim, K, l2, grad, new Float64Array(x.n * K));
  return { loss, gradW: grad.slice(0, dim * K), gradB: grad.slice(dim * K) };
}

/**
 * Class probabilities softmax(W x + b).
 * @param model a trained head
 * @param rows feature rows with indices in [0, model.dim)
 * @returns one row of numClasses probabilities (summing to 1) per input row
 * @throws Error on bad feature indices or dense rows of the wrong length
 */
export function predictProba(model: LogRegModel, rows: FeatureRow[]): number[][] {
  const { dim, numClasses: K } = model;
  const x = toCsr(rows, dim);
  const theta = new Float64Array(dim * K + K);
  theta.set(model.weights);
  theta.set(model.bias, dim * K);
  const proba = new Float64Array(x.n * K);
  forward(x, theta, dim, K, proba);
  return Array.from({ length: x.n }, (_, i) => Array.from(proba.subarray(i * K, (i + 1) * K)));
}
