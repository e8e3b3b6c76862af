/**
 * student/influence.ts against brute force: leave-one-out retraining for the influence
 * predictions (Koh & Liang 2017 §2), finite differences of the gradient for the
 * Hessian-vector products (Pearlmutter 1994).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../domain/rng.js';
import { hessianVectorProduct, influenceOnValidation } from '../../student/influence.js';
import { objective, trainLogReg, type FeatureRow, type LogRegModel, type SparseRow } from '../../student/logreg.js';

/** Standard normal draw (Box-Muller). */
function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/** n points in `dim` dims around K class means, 15% of labels flipped (so some examples hurt). */
function blobs(rng: Rng, n: number, K: number, dim: number): { rows: number[][]; labels: number[] } {
  const means = Array.from({ length: K }, (_, k) =>
    Array.from({ length: dim }, (_, j) => 1.2 * Math.cos((2 * Math.PI * k) / K + j)),
  );
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % K;
    rows.push(means[k].map((m) => m + gauss(rng)));
    labels.push(rng.next() < 0.15 ? (k + 1 + rng.int(K - 1)) % K : k);
  }
  return { rows, labels };
}

const TIGHT = { maxIter: 5000, tol: 1e-11 };

function fit(rows: FeatureRow[], labels: number[], K: number, dim: number, l2: number): LogRegModel {
  const r = trainLogReg(rows, labels, K, dim, { l2, ...TIGHT });
  assert.ok(r.gradMax < 1e-7, `training did not converge: gradMax ${r.gradMax}`);
  return r.model;
}

const valLoss = (m: LogRegModel, rows: FeatureRow[], labels: number[]) => objective(m, rows, labels, 0).loss;

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/**
 * Brute-force leave-one-out: for each training row, retrain without it and measure the change
 * of the mean validation loss. `scaled`: scale l2 by n/(n−1) (keeps the penalty's weight
 * relative to the summed loss fixed: Koh & Liang's ε = −1/n setting); otherwise the same l2
 * (what the pipeline does: retrain on the mean loss).
 */
function leaveOneOut(
  train: { rows: FeatureRow[]; labels: number[] },
  val: { rows: FeatureRow[]; labels: number[] },
  K: number,
  dim: number,
  l2: number,
  scaled: boolean,
): Float64Array {
  const n = train.rows.length;
  const base = valLoss(fit(train.rows, train.labels, K, dim, l2), val.rows, val.labels);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const rows = train.rows.filter((_, t) => t !== i);
    const labels = train.labels.filter((_, t) => t !== i);
    const m = fit(rows, labels, K, dim, scaled ? (l2 * n) / (n - 1) : l2);
    out[i] = valLoss(m, val.rows, val.labels) - base;
  }
  return out;
}

function compare(
  what: string,
  predicted: ArrayLike<number>,
  actual: Float64Array,
): { r: number; maxErr: number; spread: number } {
  const spread = Math.max(...actual) - Math.min(...actual);
  let maxErr = 0;
  for (let i = 0; i < actual.length; i++) maxErr = Math.max(maxErr, Math.abs(predicted[i] - actual[i]));
  const r = pearson(predicted, actual);
  console.log(
    `${what}: pearson ${r.toFixed(5)}, max |pred − LOO| ${maxErr.toExponential(2)}, LOO spread ${spread.toExponential(2)} (ratio ${(maxErr / spread).toFixed(4)})`,
  );
  return { r, maxErr, spread };
}

/** The LOO problems: N_TRAIN training points, 40 validation points, l2 = 1 (well conditioned). */
const N_TRAIN = 60;
const L2 = 1;

/**
 * A blob problem with 3 coordinates. `wide`: the rows are sparse in 16 columns, the coordinates
 * at columns 2, 7, 12, each training row with one extra "word" column (13 + i mod 3) that the
 * validation rows never have, and columns 0, 1, 3… never used (like TF-IDF vocabulary).
 */
function problem(K: number, seed: number, wide: boolean) {
  const all = blobs(new Rng(seed, `influence-${K}`), N_TRAIN + 40, K, 3);
  const toSparse = (r: number[], extra: number | null): SparseRow => ({
    indices: Int32Array.from(extra === null ? [2, 7, 12] : [2, 7, 12, extra]),
    values: Float32Array.from(extra === null ? r : [...r, 0.5]),
  });
  const rows: FeatureRow[] = wide ? all.rows.map((r, i) => toSparse(r, i < N_TRAIN ? 13 + (i % 3) : null)) : all.rows;
  return {
    dim: wide ? 16 : 3,
    train: { rows: rows.slice(0, N_TRAIN), labels: all.labels.slice(0, N_TRAIN) },
    val: { rows: rows.slice(N_TRAIN), labels: all.labels.slice(N_TRAIN) },
  };
}

function checkAgainstLoo(K: number, seed: number, wide: boolean): void {
  const { dim, train, val } = problem(K, seed, wide);
  const n = train.rows.length;
  const model = fit(train.rows, train.labels, K, dim, L2);
  const res = influenceOnValidation({
    model,
    trainRows: train.rows,
    trainLabels: train.labels,
    valRows: val.rows,
    valLabels: val.labels,
    l2: L2,
    cgTol: 1e-12,
  });
  const size = K === 2 ? dim + 1 : dim * K + K;
  assert.ok(res.converged && res.cgResidual < 1e-12, `CG residual ${res.cgResidual}`);
  assert.ok(res.cgIterations > 0 && res.cgIterations <= 2 * size, `${res.cgIterations} CG iterations`);
  assert.ok(Math.abs(res.valLoss - valLoss(model, val.rows, val.labels)) < 1e-12);

  // At the optimum I_Ω = −mean I, so helpfulness sums to zero.
  const meanI = res.influence.reduce((a, b) => a + b, 0) / n;
  assert.ok(Math.abs(res.penaltyInfluence + meanI) < 1e-6, `I_Ω ${res.penaltyInfluence} vs −mean I ${-meanI}`);

  // Pipeline setting (same l2, mean loss): helpfulness = −(I + I_Ω)/n
  const loo = leaveOneOut(train, val, K, dim, L2, false);
  const a = compare(`K=${K} dim=${dim} helpfulness vs LOO (same l2)`, res.helpfulness, loo);
  assert.ok(a.r > 0.99, `pearson ${a.r}`);
  assert.ok(a.maxErr < 0.15 * a.spread, `max error ${a.maxErr} vs spread ${a.spread}`);

  // Koh & Liang setting (penalty weight fixed relative to the summed loss): −I/n
  const looScaled = leaveOneOut(train, val, K, dim, L2, true);
  const b = compare(
    `K=${K} dim=${dim} −I/n vs LOO (l2·n/(n−1))`,
    Array.from(res.influence, (v) => -v / n),
    looScaled,
  );
  assert.ok(b.r > 0.99, `pearson ${b.r}`);
  assert.ok(b.maxErr < 0.15 * b.spread, `max error ${b.maxErr} vs spread ${b.spread}`);

  // The sign agrees with LOO wherever the effect is clear, and both signs occur.
  let agree = 0;
  let clear = 0;
  for (let i = 0; i < n; i++) {
    if (Math.abs(loo[i]) < 0.1 * a.spread) continue;
    clear++;
    if (Math.sign(loo[i]) === Math.sign(res.helpfulness[i])) agree++;
  }
  assert.ok(clear >= 10 && agree === clear, `sign agreement ${agree}/${clear}`);
  assert.ok(res.helpfulness.some((h) => h > 0) && res.helpfulness.some((h) => h < 0));
}

/**
 * The exact derivative: upweight z by a small ε by replicating every training row M times and z
 * M + 1 times. The mean-loss objective is then ∝ (1/n)Σℓ + ℓ(z)/(nM) + Ω·(1 + 1/(nM)), i.e.
 * ε = 1/(nM) on ℓ(z) and on Ω, so ΔL_val = (I(z) + I_Ω)/(nM) + O(1/M²).
 */
function checkDerivative(K: number, seed: number, wide: boolean): void {
  const { dim, train, val } = problem(K, seed, wide);
  const n = 20;
  const rows = train.rows.slice(0, n);
  const labels = train.labels.slice(0, n);
  const M = 200;
  const model = fit(rows, labels, K, dim, L2);
  const base = valLoss(model, val.rows, val.labels);
  const res = influenceOnValidation({
    model,
    trainRows: rows,
    trainLabels: labels,
    valRows: val.rows,
    valLabels: val.labels,
    l2: L2,
    cgTol: 1e-12,
  });
  let worst = 0;
  let scale = 0;
  for (const z of [0, 3, 7, 12, 19]) {
    const rr: FeatureRow[] = [];
    const ll: number[] = [];
    for (let i = 0; i < n; i++)
      for (let c = 0; c < (i === z ? M + 1 : M); c++) {
        rr.push(rows[i]);
        ll.push(labels[i]);
      }
    const actual = (valLoss(fit(rr, ll, K, dim, L2), val.rows, val.labels) - base) * n * M;
    const predicted = res.influence[z] + res.penaltyInfluence;
    worst = Math.max(worst, Math.abs(actual - predicted));
    scale = Math.max(scale, Math.abs(predicted));
  }
  console.log(
    `K=${K} dim=${dim} d L_val/dε by replication (M=${M}): max error ${(worst / scale).toExponential(2)} of max |I + I_Ω|`,
  );
  assert.ok(worst < 1e-2 * scale, `derivative error ${worst} vs scale ${scale}`);
}

test('K = 2: influence is the exact derivative (replication) and helpfulness matches leave-one-out', () => {
  checkDerivative(2, 1, false);
  checkAgainstLoo(2, 1, false);
});

test('K = 3: the same (bias flat direction projected out)', () => {
  checkDerivative(3, 2, false);
  checkAgainstLoo(3, 2, false);
});

test('sparse rows in a 16-column space with unused and train-only columns: the same', () => {
  checkDerivative(3, 3, true);
  checkAgainstLoo(3, 3, true);
  checkAgainstLoo(2, 4, true);
});

test('sparse and dense encodings of the same data give the same influence', () => {
  const rng = new Rng(4, 'dense-sparse');
  const { rows, labels } = blobs(rng, 30, 3, 4);
  const sparse: SparseRow[] = rows.map((r) => {
    const idx = r.flatMap((v, j) => (Math.abs(v) > 0.5 ? [j] : []));
    return { indices: Int32Array.from(idx), values: Float64Array.from(idx.map((j) => r[j])) };
  });
  const dense = sparse.map((s) => {
    const d = new Float64Array(4);
    s.indices.forEach((j, t) => (d[j] = s.values[t]));
    return d;
  });
  const model = fit(sparse, labels, 3, 4, 0.05);
  const common = { model, trainLabels: labels, valLabels: labels.slice(0, 10), l2: 0.05, cgTol: 1e-12 };
  const a = influenceOnValidation({ ...common, trainRows: sparse, valRows: sparse.slice(0, 10) });
  const b = influenceOnValidation({ ...common, trainRows: dense, valRows: dense.slice(0, 10) });
  for (let i = 0; i < 30; i++) assert.ok(Math.abs(a.influence[i] - b.influence[i]) < 1e-10);
});

test('K = 3: adding a constant to every bias (the flat direction) changes nothing', () => {
  const rng = new Rng(5, 'flat');
  const { rows, labels } = blobs(rng, 30, 3, 3);
  const model = fit(rows, labels, 3, 3, 0.1);
  const shifted: LogRegModel = { ...model, bias: model.bias.map((b) => b + 7) };
  const args = { trainRows: rows, trainLabels: labels, valRows: rows.slice(0, 12), valLabels: labels.slice(0, 12) };
  const a = influenceOnValidation({ model, ...args, l2: 0.1 });
  const b = influenceOnValidation({ model: shifted, ...args, l2: 0.1 });
  for (let i = 0; i < 30; i++) assert.ok(Math.abs(a.helpfulness[i] - b.helpfulness[i]) < 1e-10);
});

/** (∇f(θ + h v) − ∇f(θ − h v)) / 2h via `objective`, in the layout [W feature-major, b]. */
function fdHv(model: LogRegModel, rows: FeatureRow[], labels: number[], l2: number, v: Float64Array, h: number) {
  const { dim, numClasses: K } = model;
  const at = (sign: number) => {
    const m: LogRegModel = {
      dim,
      numClasses: K,
      weights: model.weights.map((w, i) => w + sign * h * v[i]),
      bias: model.bias.map((b, k) => b + sign * h * v[dim * K + k]),
    };
    const g = objective(m, rows, labels, l2);
    return [...g.gradW, ...g.gradB];
  };
  const plus = at(1);
  const minus = at(-1);
  return plus.map((p, i) => (p - minus[i]) / (2 * h));
}

for (const K of [2, 3, 4]) {
  test(`Hessian-vector product matches finite differences of the gradient (K = ${K}, sparse rows)`, () => {
    const rng = new Rng(10 + K, 'hv');
    const dim = 7;
    const n = 15;
    const rows: SparseRow[] = Array.from({ length: n }, () => {
      const idx = [0, 1, 2, 3, 4, 5, 6].filter(() => rng.next() < 0.5);
      return { indices: Int32Array.from(idx), values: Float64Array.from(idx.map(() => gauss(rng))) };
    });
    const labels = Array.from({ length: n }, () => rng.int(K));
    // an arbitrary point (not the optimum): the product is exact everywhere
    const model: LogRegModel = {
      dim,
      numClasses: K,
      weights: Float64Array.from({ length: dim * K }, () => gauss(rng)),
      bias: Float64Array.from({ length: K }, () => gauss(rng)),
    };
    const v = Float64Array.from({ length: dim * K + K }, () => gauss(rng));
    const hv = hessianVectorProduct(model, rows, 0.3, v);
    const fd = fdHv(model, rows, labels, 0.3, v, 1e-5);
    const scale = Math.max(...fd.map(Math.abs));
    for (let i = 0; i < fd.length; i++)
      assert.ok(Math.abs(hv[i] - fd[i]) < 1e-7 * scale, `entry ${i}: Hv ${hv[i]} vs finite difference ${fd[i]}`);
    // the flat direction: every bias +1 gives H v = 0
    const flat = new Float64Array(dim * K + K);
    flat.fill(1, dim * K);
    assert.ok(hessianVectorProduct(model, rows, 0.3, flat).every((x) => Math.abs(x) < 1e-12));
  });
}

test('bad input is rejected with a reason', () => {
  const rows = [
    [1, 0],
    [0, 1],
  ];
  const model = fit(rows, [0, 1], 2, 2, 0.1);
  const base = { model, trainRows: rows, trainLabels: [0, 1], valRows: rows, valLabels: [0, 1], l2: 0.1 };
  assert.throws(() => influenceOnValidation({ ...base, l2: 0 }), /pass damping > 0/);
  assert.doesNotThrow(() => influenceOnValidation({ ...base, l2: 0, damping: 1e-3 }));
  assert.throws(() => influenceOnValidation({ ...base, valLabels: [0, 2] }), /not a class index/);
  assert.throws(() => influenceOnValidation({ ...base, trainRows: [], trainLabels: [] }), /no training rows/);
  assert.throws(() => influenceOnValidation({ ...base, valRows: [[1, 0, 0]], valLabels: [0] }), /length 3, expected 2/);
  assert.throws(() => hessianVectorProduct(model, rows, 0.1, [1, 2]), /expected 6/);
});
