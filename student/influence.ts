/**
 * Influence functions for the student's logistic-regression head (./logreg.ts): how much each
 * training example helps or hurts the mean loss on the gold validation set. This is the
 * scoring step of the ProGen baseline (Ye et al. 2022, "ProGen: Progressive Zero-shot Dataset
 * Generation via In-context Feedback", §3.2), which puts the most helpful synthetic examples
 * into the next round's generation prompts.
 *
 * Definitions (Koh & Liang 2017, "Understanding Black-box Predictions via Influence
 * Functions", §2.1). The head minimises the training objective of ./logreg.ts,
 *   f(θ) = (1/n) Σ_i ℓ(z_i, θ) + Ω(θ),   ℓ = softmax cross-entropy (nats),  Ω = (l2/2)‖W‖²
 * (bias not penalised), at θ̂. The validation loss is L_val(θ) = (1/m) Σ_j ℓ(v_j, θ) (no
 * penalty). Let H = ∇²f(θ̂) (including the L2 term). Then
 *   influence  I(z) = −∇L_val(θ̂)ᵀ H⁻¹ ∇ℓ(z, θ̂)          [nats per unit of upweight ε]
 * is d L_val / dε for θ̂_ε = argmin f(θ) + ε·ℓ(z, θ). Positive I(z): upweighting z raises the
 * validation loss (z hurts).
 *
 * Sign convention of what callers should rank by:
 *   helpfulness(z) = predicted L_val(θ̂ retrained without z) − L_val(θ̂)      [nats]
 * positive = z helps (removing it would raise the validation loss). The student is retrained
 * on the MEAN loss with the same l2, so dropping z is, up to a positive scale that does not
 * move the minimiser, the perturbation ε = −1/n on ℓ(z) together with −1/n on Ω (the penalty
 * weighs 1/(n−1) more per remaining example). To first order
 *   helpfulness(z) = −(I(z) + I_Ω)/n,   I_Ω = −∇L_valᵀ H⁻¹ ∇Ω(θ̂)
 * At an exact optimum ∇Ω = −(1/n) Σ_i ∇ℓ(z_i), so I_Ω = −mean_i I(z_i) and helpfulness sums to
 * zero over the training set. I_Ω is the same for every z, so ranking by helpfulness is
 * ranking by −I(z); Koh & Liang's "−I(z)/n" is the prediction for a retrain that keeps the
 * summed-loss weight of the penalty fixed (l2 scaled by n/(n−1)). tests/unit/influence.test.ts
 * checks both against brute-force leave-one-out retraining.
 *
 * Computation: ∇L_val once; s = H⁻¹ ∇L_val by one conjugate-gradient solve (Hestenes &
 * Stiefel 1952) using exact Hessian-vector products (Pearlmutter 1994, "Fast exact
 * multiplication by the Hessian": the R{·} operator of the gradient, here in closed form
 * Hv = (1/n) Σ_i x̃_i ⊗ (diag p_i − p_i p_iᵀ)(V x_i + v_b) + l2·[V; 0], never forming H, cost
 * O(nnz·K) per product); then I(z) = −sᵀ∇ℓ(z) for every z in one pass, ∇ℓ(z) = x̃ ⊗ (p − e_y).
 *
 * Parameterisation and the flat direction of the unpenalised bias: adding a constant to every
 * class bias changes no prediction, so the softmax H is singular along (0, 1_K).
 * - K = 2: work in the reduced parameterisation of trainLogReg, d = w₁ − w₀, c = b₁ − b₀
 *   (binary logistic loss on d·x + c, penalty (l2/4)‖d‖²); its Hessian is positive definite
 *   when l2 > 0, and influence is a derivative of L_val along the path θ̂_ε, so it does not
 *   depend on the parameterisation (the penalty keeps w₁ = −w₀ for every ε).
 * - K ≥ 3: work on the subspace Σ_k b_k = 0 (projected CG): the right-hand side and every Hv
 *   are projected onto it. All gradients ∇ℓ already lie in it (Σ_k (p_k − y_k) = 0), so this
 *   is exact, with no damping; on that subspace H is positive definite when l2 > 0.
 * No damping is used by default. `damping` (λ ≥ 0, adds λI) exists for l2 = 0, where H is
 * singular whenever the dimension exceeds the rank of the data (TF-IDF) and is then required.
 *
 * Pure module: no I/O.
 */
import { toCsr, type Csr, type FeatureRow, type LogRegModel } from './logreg.js';

/** Input of {@link influenceOnValidation}. */
export interface InfluenceInput {
  /** the head trained on trainRows/trainLabels with this l2 (trainLogReg's output) */
  model: LogRegModel;
  /** the n training rows the head was fitted on (sparse or dense, indices in [0, model.dim)) */
  trainRows: FeatureRow[];
  /** n class indices in [0, K) */
  trainLabels: ArrayLike<number>;
  /** the m validation rows */
  valRows: FeatureRow[];
  /** m class indices in [0, K) */
  valLabels: ArrayLike<number>;
  /** the L2 penalty of the training objective (on the mean loss, as in trainLogReg) */
  l2: number;
  /** CG stops when ‖H s − ∇L_val‖ ≤ cgTol·‖∇L_val‖ (default 1e-8) */
  cgTol?: number;
  /** CG iteration cap (one Hessian-vector product each; default 2000) */
  cgMaxIter?: number;
  /** λ ≥ 0 added to the Hessian as λI (default 0; needed only when l2 = 0) */
  damping?: number;
}

/** Output of {@link influenceOnValidation}. Arrays are aligned with trainRows. */
export interface InfluenceResult {
  /** I(z_i) = −∇L_valᵀ H⁻¹ ∇ℓ(z_i): d L_val / dε when z_i is upweighted by ε (nats; positive = hurts) */
  influence: Float64Array;
  /** predicted L_val(retrained without z_i) − L_val = −(I(z_i) + I_Ω)/n (nats; positive = helps) */
  helpfulness: Float64Array;
  /** I_Ω = −∇L_valᵀ H⁻¹ ∇Ω (nats): the influence of the penalty, shared by every example */
  penaltyInfluence: number;
  /** L_val(θ̂): mean validation cross-entropy, nats */
  valLoss: number;
  /** CG iterations (= Hessian-vector products) of the solve */
  cgIterations: number;
  /** relative residual ‖H s − ∇L_val‖ / ‖∇L_val‖ of the returned s, recomputed exactly (0 if ∇L_val = 0) */
  cgResidual: number;
  /** cgResidual ≤ cgTol */
  converged: boolean;
}

function checkLabels(labels: ArrayLike<number>, n: number, K: number, what: string): Int32Array {
  if (labels.length !== n) throw new Error(`influence: ${n} ${what} rows but ${labels.length} labels`);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!(Number.isInteger(c) && c >= 0 && c < K))
      throw new Error(`influence: ${what} label ${c} of row ${i} is not a class index in [0, ${K})`);
    y[i] = c;
  }
  return y;
}

function checkModel(model: LogRegModel): void {
  const { dim, numClasses: K } = model;
  if (!(K >= 2)) throw new Error(`influence: model has ${K} classes, need at least 2`);
  if (model.weights.length !== dim * K || model.bias.length !== K)
    throw new Error(
      `influence: model weights/bias have lengths ${model.weights.length}/${model.bias.length}, expected ${dim * K}/${K}`,
    );
}

/**
 * Scores z = Θ x + b for θ = [Θ (dim·C, feature-major), b (C)], then turns them into
 * probabilities: C = 1 → σ(z) (probability of class 1), C ≥ 2 → softmax rows. Returns n·C.
 */
function probabilities(x: Csr, theta: Float64Array, C: number): Float64Array {
  const { indptr, indices, values, n } = x;
  const out = new Float64Array(n * C);
  const bOff = theta.length - C;
  for (let i = 0, o = 0; i < n; i++, o += C) {
    for (let k = 0; k < C; k++) {
      let s = theta[bOff + k];
      for (let p = indptr[i]; p < indptr[i + 1]; p++) s += values[p] * theta[indices[p] * C + k];
      out[o + k] = s;
    }
    if (C === 1) {
      out[o] = 1 / (1 + Math.exp(-out[o]));
    } else {
      let max = -Infinity;
      for (let k = 0; k < C; k++) max = Math.max(max, out[o + k]);
      let sum = 0;
      for (let k = 0; k < C; k++) sum += out[o + k] = Math.exp(out[o + k] - max);
      for (let k = 0; k < C; k++) out[o + k] /= sum;
    }
  }
  return out;
}

/** Residuals p − onehot(y) in place (C = 1: σ − y with y ∈ {0, 1}); returns mean cross-entropy, nats. */
function residuals(P: Float64Array, y: Int32Array, C: number): number {
  let loss = 0;
  if (C === 1) {
    for (let i = 0; i < y.length; i++) {
      const p = P[i];
      loss -= Math.log(Math.max(y[i] === 1 ? p : 1 - p, 1e-300));
      P[i] = p - y[i];
    }
  } else {
    for (let i = 0, o = 0; i < y.length; i++, o += C) {
      loss -= Math.log(Math.max(P[o + y[i]], 1e-300));
      P[o + y[i]] -= 1;
    }
  }
  return loss / y.length;
}

/** Mean of x̃_i ⊗ R_i over rows (x̃ = [x; 1]): the gradient of the mean loss given residuals R (n·C). */
function meanOuter(x: Csr, R: Float64Array, C: number, size: number): Float64Array {
  const { indptr, indices, values, n } = x;
  const g = new Float64Array(size);
  const bOff = size - C;
  const invN = 1 / n;
  for (let i = 0, o = 0; i < n; i++, o += C) {
    for (let k = 0; k < C; k++) {
      const r = R[o + k] * invN;
      g[bOff + k] += r;
      for (let p = indptr[i]; p < indptr[i + 1]; p++) g[indices[p] * C + k] += values[p] * r;
    }
  }
  return g;
}

/**
 * out = H v for the objective (1/n) Σ ℓ_i + (l2/2)‖Θ‖² at probabilities P (n·C), exact
 * (Pearlmutter 1994): per row u = V x_i + v_b, r = (diag p − p pᵀ) u (C = 1: σ(1−σ)·u),
 * out = (1/n) Σ x̃_i ⊗ r + l2·[V; 0] + damping·v. `u` is scratch of C.
 */
function hessVec(
  x: Csr,
  P: Float64Array,
  C: number,
  l2: number,
  damping: number,
  v: Float64Array,
  out: Float64Array,
  u: Float64Array,
): void {
  const { indptr, indices, values, n } = x;
  const bOff = v.length - C;
  const invN = 1 / n;
  out.fill(0);
  for (let i = 0, o = 0; i < n; i++, o += C) {
    const start = indptr[i];
    const end = indptr[i + 1];
    for (let k = 0; k < C; k++) {
      let s = v[bOff + k];
      for (let p = start; p < end; p++) s += values[p] * v[indices[p] * C + k];
      u[k] = s;
    }
    if (C === 1) {
      const p = P[i];
      u[0] *= p * (1 - p);
    } else {
      let pu = 0;
      for (let k = 0; k < C; k++) pu += P[o + k] * u[k];
      for (let k = 0; k < C; k++) u[k] = P[o + k] * (u[k] - pu);
    }
    for (let k = 0; k < C; k++) {
      const r = u[k] * invN;
      out[bOff + k] += r;
      for (let p = start; p < end; p++) out[indices[p] * C + k] += values[p] * r;
    }
  }
  for (let j = 0; j < bOff; j++) out[j] += l2 * v[j];
  if (damping > 0) for (let j = 0; j < v.length; j++) out[j] += damping * v[j];
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Removes the mean of the last C entries (the biases): projection onto Σ_k b_k = 0. */
function centreBias(v: Float64Array, C: number): void {
  const bOff = v.length - C;
  let m = 0;
  for (let k = 0; k < C; k++) m += v[bOff + k];
  m /= C;
  for (let k = 0; k < C; k++) v[bOff + k] -= m;
}

/**
 * Conjugate gradient for A s = b with A symmetric positive definite (Hestenes & Stiefel 1952),
 * from s = 0, stopping at ‖r‖ ≤ tol·‖b‖ or maxIter products.
 * @throws Error if a search direction has non-positive curvature (A not positive definite)
 */
function conjugateGradient(
  apply: (v: Float64Array, out: Float64Array) => void,
  b: Float64Array,
  tol: number,
  maxIter: number,
): { s: Float64Array; iterations: number } {
  const size = b.length;
  const s = new Float64Array(size);
  const r = Float64Array.from(b);
  const d = Float64Array.from(b);
  const Ad = new Float64Array(size);
  const bNorm = Math.sqrt(dot(b, b));
  let rr = dot(r, r);
  let it = 0;
  while (it < maxIter && Math.sqrt(rr) > tol * bNorm) {
    apply(d, Ad);
    const dAd = dot(d, Ad);
    if (!(dAd > 0))
      throw new Error(
        `influence: the Hessian is not positive definite along a CG direction (dᵀHd = ${dAd}); use l2 > 0 or damping > 0`,
      );
    const alpha = rr / dAd;
    for (let i = 0; i < size; i++) {
      s[i] += alpha * d[i];
      r[i] -= alpha * Ad[i];
    }
    const rrNew = dot(r, r);
    const beta = rrNew / rr;
    rr = rrNew;
    for (let i = 0; i < size; i++) d[i] = r[i] + beta * d[i];
    it++;
  }
  return { s, iterations: it };
}

/**
 * Influence of every training example on the mean validation loss of a trained head (Koh &
 * Liang 2017), for ProGen's in-context example selection (Ye et al. 2022). See the module doc
 * for the definitions, the sign convention and the treatment of the flat bias direction.
 * Cost: one CG solve (≤ cgMaxIter Hessian-vector products, each O(nnz(train)·K)) plus one pass
 * over the training and validation rows; memory O(n·K + dim·K).
 * @param input model, training rows/labels it was fitted on, validation rows/labels, its l2;
 *   optional cgTol (relative residual, default 1e-8), cgMaxIter (default 2000), damping (default 0)
 * @returns per training row: influence I(z) and helpfulness (nats), plus the penalty's
 *   influence, the validation loss and the CG diagnostics. CG not reaching cgTol is not an
 *   error: check `converged` / `cgResidual`.
 * @throws Error on empty training or validation rows, labels not in [0, K), rows not matching
 *   model.dim, a malformed model, l2 < 0, damping < 0, l2 = 0 without damping, or a Hessian
 *   found not positive definite during CG
 */
export function influenceOnValidation(input: InfluenceInput): InfluenceResult {
  const { model, l2 } = input;
  const damping = input.damping ?? 0;
  const cgTol = input.cgTol ?? 1e-8;
  const cgMaxIter = input.cgMaxIter ?? 2000;
  checkModel(model);
  if (!(Number.isFinite(l2) && l2 >= 0)) throw new Error(`influence: l2 must be ≥ 0, got ${l2}`);
  if (!(Number.isFinite(damping) && damping >= 0)) throw new Error(`influence: damping must be ≥ 0, got ${damping}`);
  if (l2 === 0 && damping === 0)
    throw new Error('influence: with l2 = 0 the Hessian can be singular; pass damping > 0');
  if (!(cgTol > 0)) throw new Error(`influence: cgTol must be > 0, got ${cgTol}`);
  if (!(Number.isInteger(cgMaxIter) && cgMaxIter >= 1))
    throw new Error(`influence: cgMaxIter must be a positive integer, got ${cgMaxIter}`);
  if (input.trainRows.length === 0) throw new Error('influence: no training rows');
  if (input.valRows.length === 0) throw new Error('influence: no validation rows');

  const { dim, numClasses: K } = model;
  const xt = toCsr(input.trainRows, dim, 'influence: training');
  const xv = toCsr(input.valRows, dim, 'influence: validation');
  const yt = checkLabels(input.trainLabels, xt.n, K, 'training');
  const yv = checkLabels(input.valLabels, xv.n, K, 'validation');

  // Reduced parameters: K = 2 → θ = [d = w₁ − w₀ (dim), c = b₁ − b₀], penalty (l2/2)/2 ‖d‖²;
  // K ≥ 3 → θ = [W (dim·K, feature-major), b (K)], penalty (l2/2)‖W‖², biases kept centred.
  const C = K === 2 ? 1 : K;
  const l2r = K === 2 ? l2 / 2 : l2;
  const size = dim * C + C;
  const theta = new Float64Array(size);
  if (K === 2) {
    for (let j = 0; j < dim; j++) theta[j] = model.weights[2 * j + 1] - model.weights[2 * j];
    theta[dim] = model.bias[1] - model.bias[0];
  } else {
    theta.set(model.weights);
    theta.set(model.bias, dim * K);
  }
  const project = C >= 2 ? (v: Float64Array) => centreBias(v, C) : () => undefined;

  const Pt = probabilities(xt, theta, C); // kept for the Hessian
  const Rv = probabilities(xv, theta, C);
  const valLoss = residuals(Rv, yv, C);
  const gVal = meanOuter(xv, Rv, C, size);
  project(gVal);

  const u = new Float64Array(C);
  const apply = (v: Float64Array, out: Float64Array) => {
    hessVec(xt, Pt, C, l2r, damping, v, out, u);
    project(out);
  };
  const gNorm = Math.sqrt(dot(gVal, gVal));
  let s: Float64Array = new Float64Array(size);
  let cgIterations = 0;
  let cgResidual = 0;
  if (gNorm > 0) {
    const cg = conjugateGradient(apply, gVal, cgTol, cgMaxIter);
    s = cg.s;
    cgIterations = cg.iterations;
    const hs = new Float64Array(size);
    apply(s, hs);
    let e = 0;
    for (let i = 0; i < size; i++) e += (hs[i] - gVal[i]) ** 2;
    cgResidual = Math.sqrt(e) / gNorm;
  }

  // I(z_i) = −sᵀ∇ℓ(z_i) = −Σ_k (p_ik − y_ik)(S_k·x_i + s_b,k)
  const Rt = Float64Array.from(Pt);
  residuals(Rt, yt, C);
  const { indptr, indices, values, n } = xt;
  const influence = new Float64Array(n);
  const bOff = size - C;
  for (let i = 0, o = 0; i < n; i++, o += C) {
    let acc = 0;
    for (let k = 0; k < C; k++) {
      let t = s[bOff + k];
      for (let p = indptr[i]; p < indptr[i + 1]; p++) t += values[p] * s[indices[p] * C + k];
      acc += Rt[o + k] * t;
    }
    influence[i] = -acc;
  }
  // I_Ω = −sᵀ∇Ω, ∇Ω = l2r·[Θ; 0]
  let sOmega = 0;
  for (let j = 0; j < bOff; j++) sOmega += s[j] * theta[j];
  const penaltyInfluence = -l2r * sOmega;
  const helpfulness = new Float64Array(n);
  for (let i = 0; i < n; i++) helpfulness[i] = -(influence[i] + penaltyInfluence) / n;

  return {
    influence,
    helpfulness,
    penaltyInfluence,
    valLoss,
    cgIterations,
    cgResidual,
    converged: cgResidual <= cgTol,
  };
}

/**
 * Exact Hessian-vector product of the training objective of ./logreg.ts in the full softmax
 * parameterisation (Pearlmutter 1994), f = (1/n) Σ CE + (l2/2)‖W‖², bias not penalised, for
 * checks against finite differences of `objective`. H does not depend on the labels.
 * Along (0, 1_K) on the biases H v = 0 (the flat direction; see the module doc).
 * @param model the point θ = [W, b] at which H is taken
 * @param rows the n training rows (n ≥ 1)
 * @param l2 penalty on the mean loss (≥ 0)
 * @param v direction, length dim·K + K: W part feature-major (v[j·K + k] for W[k][j]), then b
 * @returns H v, same layout as v (units: nats per unit² of θ times v)
 * @throws Error on empty rows, a v of the wrong length, rows not matching model.dim, or a malformed model
 */
export function hessianVectorProduct(
  model: LogRegModel,
  rows: FeatureRow[],
  l2: number,
  v: ArrayLike<number>,
): Float64Array {
  checkModel(model);
  const { dim, numClasses: K } = model;
  const size = dim * K + K;
  if (v.length !== size) throw new Error(`influence: direction has length ${v.length}, expected ${size}`);
  if (rows.length === 0) throw new Error('influence: no rows');
  const x = toCsr(rows, dim, 'influence: training');
  const theta = new Float64Array(size);
  theta.set(model.weights);
  theta.set(model.bias, dim * K);
  const out = new Float64Array(size);
  hessVec(x, probabilities(x, theta, K), K, l2, 0, Float64Array.from(v), out, new Float64Array(K));
  return out;
}
