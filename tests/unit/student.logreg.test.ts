import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objective, predictProba, trainLogReg, type SparseRow } from '../../student/logreg.js';

// Same data as tests/fixtures/logreg_reference.py (zeros left out of the sparse rows).
const X = [
  [1.0, 0.0, 0.5, 0.0],
  [0.8, 0.2, 0.0, 0.0],
  [0.9, 0.0, 0.0, 0.3],
  [0.2, 0.0, 1.0, 0.0],
  [0.0, 1.0, 0.1, 0.0],
  [0.0, 0.7, 0.0, 0.6],
  [0.3, 0.9, 0.0, 0.0],
  [0.0, 0.4, 0.8, 0.0],
  [0.0, 0.0, 0.2, 1.0],
  [0.1, 0.0, 0.0, 0.9],
  [0.5, 0.0, 0.0, 0.8],
  [0.0, 0.3, 0.6, 0.7],
];
const y3 = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
const y2 = [0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1];
const sparse: SparseRow[] = X.map((r) => {
  const indices = r.flatMap((v, j) => (v !== 0 ? [j] : []));
  return { indices: Int32Array.from(indices), values: Float32Array.from(indices.map((j) => r[j])) };
});

// scikit-learn 1.9.1 output of tests/fixtures/logreg_reference.py
const REF3 = {
  l2: 0.1,
  coef: [
    [0.804459, -0.495681, 0.206425, -0.573825],
    [-0.48792, 0.924755, -0.099966, -0.403969],
    [-0.316538, -0.429074, -0.106459, 0.977794],
  ],
  intercept: [0.03925, 0.062611, -0.101861],
  probaRow0: [0.674198, 0.162603, 0.163199],
};
const REF2 = {
  l2: 0.05,
  coefD: [-2.617533, 0.266655, 1.30259, 0.793428],
  interceptD: 0.506353,
  probaRow0: [0.811515, 0.188485],
};

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs reference ${b}`);

test('multinomial LR matches scikit-learn (l2 = 1/(C n)) and has zero gradient', () => {
  // Float32 feature values: the reference used float64, so allow 1e-5.
  const r = trainLogReg(sparse, y3, 3, 4, { l2: REF3.l2, maxIter: 500, tol: 1e-9 });
  assert.ok(r.converged, `not converged, gradMax ${r.gradMax}`);
  const { weights, bias } = r.model;
  for (let k = 0; k < 3; k++) {
    for (let j = 0; j < 4; j++) close(weights[j * 3 + k], REF3.coef[k][j], 1e-5, `W[${k}][${j}]`);
    close(bias[k], REF3.intercept[k], 1e-5, `b[${k}]`);
  }
  predictProba(r.model, sparse.slice(0, 1))[0].forEach((p, k) => close(p, REF3.probaRow0[k], 1e-5, `p[${k}]`));
  const g = objective(r.model, sparse, y3, REF3.l2);
  const gmax = Math.max(...g.gradW.map(Math.abs), ...g.gradB.map(Math.abs));
  assert.ok(gmax < 1e-8, `gradient at solution ${gmax}`);
  assert.ok(Math.abs(g.loss - r.loss) < 1e-12);
  // any perturbation increases the (strictly convex) objective
  const w2 = r.model.weights.slice();
  w2[5] += 1e-3;
  assert.ok(objective({ ...r.model, weights: w2 }, sparse, y3, REF3.l2).loss > r.loss);
});

test('binary softmax LR matches scikit-learn binary LR (l2 = 2/(C n)); dense rows accepted', () => {
  const r = trainLogReg(X, y2, 2, 4, { l2: REF2.l2, maxIter: 500, tol: 1e-10 });
  assert.ok(r.converged);
  const { weights, bias } = r.model;
  for (let j = 0; j < 4; j++) {
    close(weights[j * 2 + 1] - weights[j * 2], REF2.coefD[j], 1e-5, `d[${j}]`);
    close(weights[j * 2 + 1], -weights[j * 2], 1e-9, `symmetry ${j}`);
  }
  close(bias[1] - bias[0], REF2.interceptD, 1e-5, 'intercept');
  predictProba(r.model, X.slice(0, 1))[0].forEach((p, k) => close(p, REF2.probaRow0[k], 1e-6, `p[${k}]`));
});

test('LR is deterministic, probabilities sum to 1, and bad input throws', () => {
  const a = trainLogReg(sparse, y3, 3, 4, { l2: 1e-3, maxIter: 50 });
  const b = trainLogReg(sparse, y3, 3, 4, { l2: 1e-3, maxIter: 50 });
  assert.deepEqual(a.model.weights, b.model.weights);
  assert.ok(a.iterations <= 50);
  for (const row of predictProba(a.model, sparse))
    close(
      row.reduce((s, p) => s + p, 0),
      1,
      1e-12,
      'sum',
    );
  assert.throws(() => trainLogReg([], [], 2, 4, { l2: 0, maxIter: 5 }), /no training rows/);
  assert.throws(() => trainLogReg(sparse, y3, 2, 4, { l2: 0, maxIter: 5 }), /not a class index/);
  assert.throws(() => trainLogReg([{ indices: [7], values: [1] }], [0], 2, 4, { l2: 0, maxIter: 5 }), /outside/);
});

test('LR fits 5,000 rows x 100,000 sparse features x 3 classes quickly', () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const n = 5000;
  const dim = 100_000;
  const rows: SparseRow[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    const idx = new Set<number>();
    while (idx.size < 100) idx.add(rand() < 0.1 ? c * 10 + Math.floor(rand() * 10) : Math.floor(rand() * dim));
    const indices = Int32Array.from([...idx].sort((p, q) => p - q));
    rows.push({ indices, values: new Float32Array(indices.length).fill(0.1) });
    labels.push(c);
  }
  const t0 = performance.now();
  const r = trainLogReg(rows, labels, 3, dim, { l2: 1e-4, maxIter: 100 });
  const ms = performance.now() - t0;
  const acc = predictProba(r.model, rows).filter((p, i) => p.indexOf(Math.max(...p)) === labels[i]).length / n;
  assert.ok(acc > 0.99, `train accuracy ${acc}`);
  assert.ok(ms < 15_000, `took ${ms} ms`);
  console.log(`5000x100000x3 sparse (100 nnz/row): ${r.iterations} iterations, ${ms.toFixed(0)} ms`);
});
