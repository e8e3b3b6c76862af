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
 * (For K = 2 training itself also runs on d, at half the cost; see {@link trainLogReg}.)
 *
 * Pure module: no I/O.
 */
import { runCooperative, runSync, type Steps } from './cooperative.js';

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
export interface Csr {
  n: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array;
}

/** Whether a feature row is sparse ({indices, values}) rather than dense. */
export function isSparse(r: FeatureRow): r is SparseRow {
  return !Array.isArray(r) && !ArrayBuffer.isView(r);
}

/**
 * Packs feature rows into CSR (float64 values).
 * @param where prefix of error messages, e.g. "logreg" or "influence: training"
 * @throws Error on an index outside [0, dim), indices/values of different lengths, or a dense
 *   row of another length
 */
export function toCsr(rows: FeatureRow[], dim: number, where = 'logreg'): Csr {
  let nnz = 0;
  for (const r of rows) nnz += isSparse(r) ? r.indices.length : r.length;
  const indptr = new Int32Array(rows.length + 1);
  const indices = new Int32Array(nnz);
  const values = new Float64Array(nnz);
  let p = 0;
  rows.forEach((r, i) => {
    if (isSparse(r)) {
      if (r.indices.length !== r.values.length)
        throw new Error(`${where}: row ${i} has indices/values of different lengths`);
      for (let t = 0; t < r.indices.length; t++) {
        const j = r.indices[t];
        if (!(j >= 0 && j < dim)) throw new Error(`${where}: row ${i} has feature index ${j} outside [0, ${dim})`);
        indices[p] = j;
        values[p++] = r.values[t];
      }
    } else {
      if (r.length !== dim) throw new Error(`${where}: dense row ${i} has length ${r.length}, expected ${dim}`);
      for (let j = 0; j < dim; j++) {
        indices[p] = j;
        values[p++] = r[j];
      }
    }
    indptr[i + 1] = p;
  });
  return { n: rows.length, indptr, indices, values };
}

/** z[i·C + k] = b_k + Σ_j x_ij W[j·C + k] for θ = [W (dim·C, feature-major), b (C)]. */
function linear(x: Csr, theta: Float64Array, C: number, z: Float64Array): void {
  const { indptr, indices, values } = x;
  const bOff = theta.length - C;
  for (let i = 0, o = 0; i < x.n; i++, o += C) {
    const start = indptr[i];
    const end = indptr[i + 1];
    for (let k = 0; k < C; k++) {
      let s = theta[bOff + k];
      for (let p = start; p < end; p++) s += values[p] * theta[indices[p] * C + k];
      z[o + k] = s;
    }
  }
}

/** Replaces each row of C scores in z (n·C) by its softmax. */
function softmaxRows(z: Float64Array, C: number): void {
  for (let o = 0; o < z.length; o += C) {
    let max = -Infinity;
    for (let k = 0; k < C; k++) max = Math.max(max, z[o + k]);
    let sum = 0;
    for (let k = 0; k < C; k++) sum += z[o + k] = Math.exp(z[o + k] - max);
    for (let k = 0; k < C; k++) z[o + k] /= sum;
  }
}

/**
 * Mean loss + penalty at θ = [W (dim·C, feature-major), b (C)] and its gradient.
 * C = K ≥ 3: softmax cross-entropy. C = 1: binary logistic loss on the margin z = w·x + b with
 * y ∈ {0, 1} (the K = 2 softmax reduced to d = w₁ − w₀, see {@link trainLogReg}).
 * Writes ∂f/∂θ into `grad`; `z` is scratch of n·C.
 */
function lossGrad(
  x: Csr,
  y: Int32Array,
  theta: Float64Array,
  C: number,
  l2: number,
  grad: Float64Array,
  z: Float64Array,
): number {
  const { indptr, indices, values, n } = x;
  linear(x, theta, C, z);
  let loss = 0;
  if (C === 1) {
    for (let i = 0; i < n; i++) {
      const t = y[i] === 1 ? -z[i] : z[i]; // loss = softplus(t)
      loss += Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
      z[i] = 1 / (1 + Math.exp(-z[i])) - y[i]; // residual σ(z) − y
    }
  } else {
    softmaxRows(z, C);
    for (let i = 0, o = 0; i < n; i++, o += C) {
      loss -= Math.log(Math.max(z[o + y[i]], 1e-300));
      z[o + y[i]] -= 1; // residual p − onehot
    }
  }
  grad.fill(0);
  const bOff = theta.length - C;
  const invN = 1 / n;
  for (let i = 0, o = 0; i < n; i++, o += C) {
    const start = indptr[i];
    const end = indptr[i + 1];
    for (let k = 0; k < C; k++) {
      const r = z[o + k] * invN;
      grad[bOff + k] += r;
      for (let p = start; p < end; p++) grad[indices[p] * C + k] += values[p] * r;
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

/** x ← x + a·y */
function axpy(x: Float64Array, a: number, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) x[i] += a * y[i];
}

/**
 * Minimises a smooth convex f from θ = 0 with L-BFGS (two-loop recursion, Nocedal & Wright
 * Alg. 7.4) and a backtracking Armijo line search (c₁ = 1e-4, halving).
 * @param fg writes ∇f(θ) into its second argument and returns f(θ)
 * @returns the minimiser, its f and gradient max-norm, and iterations done
 */
function* lbfgs(
  fg: (theta: Float64Array, grad: Float64Array) => number,
  size: number,
  maxIter: number,
  tol: number,
  m: number,
): Steps<{ theta: Float64Array; f: number; gradMax: number; iterations: number }> {
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let thetaNew = new Float64Array(size);
  let gradNew = new Float64Array(size);
  const dir = new Float64Array(size);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(m);
  let f = fg(theta, grad);
  let it = 0;
  while (it < maxIter && maxAbs(grad) > tol) {
    // dir = −H·grad
    for (let i = 0; i < size; i++) dir[i] = -grad[i];
    for (let h = S.length - 1; h >= 0; h--) {
      alpha[h] = rho[h] * dot(S[h], dir);
      axpy(dir, -alpha[h], Y[h]);
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = 1 / (rho[last] * dot(Y[last], Y[last]));
      for (let i = 0; i < size; i++) dir[i] *= gamma;
    }
    for (let h = 0; h < S.length; h++) axpy(dir, alpha[h] - rho[h] * dot(Y[h], dir), S[h]);
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // not a descent direction (numerical trouble): forget the history, use steepest descent
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < size; i++) dir[i] = -grad[i];
      slope = dot(grad, dir);
    }
    // backtracking: halve the step until the Armijo condition holds
    let step = S.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew: number;
    for (let tries = 0; ; tries++, step *= 0.5) {
      if (tries === 40) return { theta, f, gradMax: maxAbs(grad), iterations: it }; // no decrease at float precision
      for (let i = 0; i < size; i++) thetaNew[i] = theta[i] + step * dir[i];
      fNew = fg(thetaNew, gradNew);
      if (fNew <= f + 1e-4 * step * slope) break;
      yield; // each evaluation is a pass over the data: a point to pause (student/cooperative.ts)
    }
    yield;
    it++;
    const full = S.length === m;
    const s = full ? S.shift()! : new Float64Array(size);
    const yv = full ? Y.shift()! : new Float64Array(size);
    if (full) rho.shift();
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
    [theta, thetaNew] = [thetaNew, theta];
    [grad, gradNew] = [gradNew, grad];
    const fOld = f;
    f = fNew;
    if (fOld - f <= 1e-15 * Math.max(1, Math.abs(f))) break; // stalled
  }
  return { theta, f, gradMax: maxAbs(grad), iterations: it };
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

/** θ = [W (feature-major, dim·K), b (K)] of a model. */
function packTheta(model: LogRegModel): Float64Array {
  const theta = new Float64Array(model.weights.length + model.bias.length);
  theta.set(model.weights);
  theta.set(model.bias, model.weights.length);
  return theta;
}

/**
 * Trains the head from zero initialisation with L-BFGS.
 * For K = 2 it optimises the equivalent binary problem on d = w₁ − w₀ (half the work): the
 * softmax objective depends on W only through d, and for a given d the penalty ‖w₀‖² + ‖w₁‖²
 * is smallest at w₁ = −w₀ = d/2, where it equals ‖d‖²/2; so the binary penalty is (l2/4)‖d‖²
 * and the returned softmax model is w₁ = d/2, w₀ = −d/2 (same for the bias).
 * @param rows n feature rows (sparse or dense), all with indices in [0, dim)
 * @param labels n class indices in [0, numClasses)
 * @param numClasses K ≥ 2
 * @param dim number of feature columns
 * @param opts l2 penalty, iteration cap, gradient tolerance
 * @returns the model, iterations done, final objective (mean nats + penalty), max |gradient|
 *   (for K = 2 the gradient of the binary problem, which is twice the softmax one)
 * @throws Error on empty input, K < 2, bad labels or bad feature indices
 */
export function trainLogReg(
  rows: FeatureRow[],
  labels: ArrayLike<number>,
  numClasses: number,
  dim: number,
  opts: LogRegOptions,
): LogRegResult {
  return runSync(trainLogRegSteps(rows, labels, numClasses, dim, opts));
}

/**
 * {@link trainLogReg} that lets the event loop run between L-BFGS steps (student/cooperative.ts),
 * for activities: same arguments, same result, same errors (as a rejection).
 */
export function trainLogRegAsync(
  rows: FeatureRow[],
  labels: ArrayLike<number>,
  numClasses: number,
  dim: number,
  opts: LogRegOptions,
): Promise<LogRegResult> {
  return runCooperative(trainLogRegSteps(rows, labels, numClasses, dim, opts));
}

function* trainLogRegSteps(
  rows: FeatureRow[],
  labels: ArrayLike<number>,
  numClasses: number,
  dim: number,
  opts: LogRegOptions,
): Steps<LogRegResult> {
  if (rows.length === 0) throw new Error('logreg: no training rows');
  if (!(numClasses >= 2)) throw new Error(`logreg: need at least 2 classes, got ${numClasses}`);
  const K = numClasses;
  const x = toCsr(rows, dim);
  const y = checkLabels(labels, x.n, K);
  const C = K === 2 ? 1 : K;
  const l2 = K === 2 ? opts.l2 / 2 : opts.l2;
  const tol = opts.tol ?? 1e-6;
  const z = new Float64Array(x.n * C);
  const r = yield* lbfgs((t, g) => lossGrad(x, y, t, C, l2, g, z), dim * C + C, opts.maxIter, tol, opts.memory ?? 10);
  const model: LogRegModel = { dim, numClasses: K, weights: new Float64Array(dim * K), bias: new Float64Array(K) };
  if (K === 2) {
    for (let j = 0; j < dim; j++) {
      model.weights[2 * j] = -r.theta[j] / 2;
      model.weights[2 * j + 1] = r.theta[j] / 2;
    }
    model.bias[0] = -r.theta[dim] / 2;
    model.bias[1] = r.theta[dim] / 2;
  } else {
    model.weights.set(r.theta.subarray(0, dim * K));
    model.bias.set(r.theta.subarray(dim * K));
  }
  return { model, iterations: r.iterations, loss: r.f, gradMax: r.gradMax, converged: r.gradMax <= tol };
}

/**
 * Softmax objective and gradient of a model on data (for diagnostics and tests).
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
  const grad = new Float64Array(dim * K + K);
  const loss = lossGrad(x, y, packTheta(model), K, l2, grad, new Float64Array(x.n * K));
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
  const z = new Float64Array(x.n * K);
  linear(x, packTheta(model), K, z);
  softmaxRows(z, K);
  return Array.from({ length: x.n }, (_, i) => Array.from(z.subarray(i * K, (i + 1) * K)));
}
