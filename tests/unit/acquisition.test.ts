/** Unit tests of acquisition/ against hand-computed picks on tiny pools. */
import { parseRating } from '../../acquisition/teacherJudge.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gradientEmbedding } from '../../acquisition/badge.js';
import type { AcquisitionInput, AcquisitionName, Pick } from '../../acquisition/index.js';
import {
  ACQUISITIONS,
  ACQUISITION_NAMES,
  AcquisitionNameSchema,
  pickBatch,
  scoreSummary,
  validateAcquisitionInput,
} from '../../acquisition/index.js';
import { marginOf } from '../../acquisition/margin.js';
import { Rng } from '../../domain/rng.js';

const EPS = 1e-6;

/** Asserts the picked indices and their scores (to 1e-6). */
function expectPicks(picks: Pick[], indices: number[], scores: number[], what: string) {
  assert.deepEqual(
    picks.map((p) => p.index),
    indices,
    `${what}: indices`,
  );
  assert.equal(scores.length, picks.length, `${what}: count`);
  picks.forEach((p, i) => {
    assert.ok(Math.abs(p.score - scores[i]) <= EPS, `${what}: score[${i}] ${p.score} != ${scores[i]}`);
  });
}

/**
 * The shared tiny problem: 5 items, 3 classes.
 *   idx id  p                 label  argmax
 *   0   a   [0.7, 0.2, 0.1]   0      0  (right)
 *   1   b   [0.5, 0.4, 0.1]   1      0  (wrong)
 *   2   c   [0.2, 0.2, 0.6]   0      2  (wrong)
 *   3   d   [0.1, 0.8, 0.1]   1      1  (right)
 *   4   e   [1/3, 1/3, 1/3]   null   0
 */
function tiny(batch: number, seed = 7): AcquisitionInput {
  return {
    ids: ['a', 'b', 'c', 'd', 'e'],
    probs: [
      [0.7, 0.2, 0.1],
      [0.5, 0.4, 0.1],
      [0.2, 0.2, 0.6],
      [0.1, 0.8, 0.1],
      [1 / 3, 1 / 3, 1 / 3],
    ],
    labels: [0, 1, 0, 1, null],
    batch,
    seed,
  };
}

// Losses −ln p(y|x) of the labelled items (e is unlabelled):
//   a: −ln 0.7 = 0.3566749   b: −ln 0.4 = 0.9162907   c: −ln 0.2 = 1.6094379   d: −ln 0.8 = 0.2231436
const LOSS = { a: 0.3566749, b: 0.9162907, c: 1.6094379, d: 0.2231436 };

test('registry: one function per name, names match, zod schema accepts exactly the names', () => {
  assert.deepEqual(Object.keys(ACQUISITIONS).sort(), [...ACQUISITION_NAMES].sort());
  for (const name of ACQUISITION_NAMES) {
    assert.equal(ACQUISITIONS[name].name, name);
    assert.ok(ACQUISITIONS[name].source.length > 0);
    assert.equal(AcquisitionNameSchema.parse(name), name);
  }
  assert.equal(AcquisitionNameSchema.safeParse('bald').success, false);
  assert.deepEqual(
    ACQUISITION_NAMES.filter((n) => ACQUISITIONS[n].needsLabels),
    ['misclassified', 'loss', 'lion'],
  );
  assert.deepEqual(
    ACQUISITION_NAMES.filter((n) => ACQUISITIONS[n].needsFeatures),
    ['badge', 'coreset'],
  );
});

test('misclassified: argmax ≠ label, every one when B covers them, null labels skipped', () => {
  // wrong: b (argmax 0 ≠ 1, loss 0.9162907), c (argmax 2 ≠ 0, loss 1.6094379); e has no label
  const all = pickBatch('misclassified', tiny(5));
  assert.deepEqual(all.map((p) => p.id).sort(), ['b', 'c']);
  for (const p of all) assert.ok(Math.abs(p.score - (p.id === 'b' ? LOSS.b : LOSS.c)) <= EPS, 'score = loss');
  assert.deepEqual(pickBatch('misclassified', tiny(0)), []);
});

test('misclassified under a cap (S3 faithful under a budget): a seeded uniform sample, not the highest loss', () => {
  // the sample is Rng(seed, 'misclassified') shuffling the wrong items sorted by id: b, c
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const want = new Rng(seed, 'misclassified').sample(['b', 'c'], 1);
    assert.deepEqual(
      pickBatch('misclassified', tiny(1, seed)).map((p) => p.id),
      want,
      `seed ${seed}`,
    );
  }
  // over many pools the kept items follow the errors' class mix: 60 wrong items, 45 of class 0
  // with loss 3.0 and 15 of class 1 with loss 0.8; a cap of 20 kept the 20 highest-loss ones
  // (all class 0) before; the uniform sample keeps about 15 and 5 (hypergeometric mean)
  const n = 60;
  const ids = Array.from({ length: n }, (_, i) => `x${String(i).padStart(2, '0')}`);
  const labels = ids.map((_, i) => (i < 45 ? 0 : 1));
  const probs = labels.map((y) => (y === 0 ? [0.05, 0.95] : [0.55, 0.45]));
  let class1 = 0;
  const seeds = 200;
  for (let seed = 0; seed < seeds; seed++) {
    const picks = pickBatch('misclassified', { ids, probs, labels, batch: 20, seed });
    assert.equal(picks.length, 20);
    assert.equal(new Set(picks.map((p) => p.id)).size, 20, 'without replacement');
    class1 += picks.filter((p) => labels[p.index] === 1).length;
  }
  const mean = class1 / seeds;
  // mean 5, sd of one draw ≈ 1.7, of the average over 200 ≈ 0.12: 4.5..5.5 is ±4 sd
  assert.ok(mean > 4.5 && mean < 5.5, `class-1 picks per round ${mean}, expected about 5`);
  // the pick for B is a prefix of the pick for a larger B (a token budget expands a prefix)
  const small = pickBatch('misclassified', { ids, probs, labels, batch: 10, seed: 3 }).map((p) => p.id);
  const large = pickBatch('misclassified', { ids, probs, labels, batch: 40, seed: 3 }).map((p) => p.id);
  assert.deepEqual(large.slice(0, 10), small);
  // independent of the pool order
  const rev = [...ids.keys()].reverse();
  const shuffled = pickBatch('misclassified', {
    ids: rev.map((i) => ids[i]),
    probs: rev.map((i) => probs[i]),
    labels: rev.map((i) => labels[i]),
    batch: 10,
    seed: 3,
  }).map((p) => p.id);
  assert.deepEqual(shuffled, small);
});

test('loss: top-B by −ln p(y|x) over labelled items', () => {
  // c 1.6094 > b 0.9163 > a 0.3567 > d 0.2231; e skipped (null label)
  expectPicks(pickBatch('loss', tiny(3)), [2, 1, 0], [LOSS.c, LOSS.b, LOSS.a], 'B=3');
  // B ≥ pool: every eligible (labelled) item, by score
  expectPicks(pickBatch('loss', tiny(10)), [2, 1, 0, 3], [LOSS.c, LOSS.b, LOSS.a, LOSS.d], 'B=10');
});

test('least-confidence: 1 − max p', () => {
  // a 1−0.7=0.3, b 1−0.5=0.5, c 1−0.6=0.4, d 1−0.8=0.2, e 1−1/3=0.6666667 → e, b, c, a, d
  expectPicks(pickBatch('least-confidence', tiny(3)), [4, 1, 2], [2 / 3, 0.5, 0.4], 'B=3');
  expectPicks(pickBatch('least-confidence', tiny(5)), [4, 1, 2, 0, 3], [2 / 3, 0.5, 0.4, 0.3, 0.2], 'B=5');
});

test('entropy: −Σ p ln p (nats)', () => {
  // a: 0.7·0.3567 + 0.2·1.6094 + 0.1·2.3026 = 0.2497 + 0.3219 + 0.2303 = 0.8018186
  // b: 0.5·0.6931 + 0.4·0.9163 + 0.1·2.3026 = 0.3466 + 0.3665 + 0.2303 = 0.9433484
  // c: 2·0.2·1.6094 + 0.6·0.5108             = 0.6438 + 0.3065          = 0.9502705
  // d: 2·0.1·2.3026 + 0.8·0.2231             = 0.4605 + 0.1785          = 0.6390319
  // e: ln 3                                                              = 1.0986123
  // → e, c, b, a, d (c before b here, unlike least confidence)
  expectPicks(
    pickBatch('entropy', tiny(5)),
    [4, 2, 1, 0, 3],
    [1.0986123, 0.9502705, 0.9433484, 0.8018186, 0.6390319],
    'B=5',
  );
  expectPicks(pickBatch('entropy', tiny(2)), [4, 2], [1.0986123, 0.9502705], 'B=2');
});

test('margin: score 1 − (p₁ − p₂)', () => {
  // margins: a 0.7−0.2=0.5, b 0.5−0.4=0.1, c 0.6−0.2=0.4, d 0.8−0.1=0.7, e 0
  // scores 1 − margin: a 0.5, b 0.9, c 0.6, d 0.3, e 1 → e, b, c, a, d
  expectPicks(pickBatch('margin', tiny(5)), [4, 1, 2, 0, 3], [1, 0.9, 0.6, 0.5, 0.3], 'B=5');
  assert.ok(Math.abs(marginOf([0.3, 0.3, 0.4]) - 0.1) < EPS); // 0.4 − 0.3
  assert.equal(marginOf([1]), 1); // K = 1: p₂ = 0
});

test('ties are broken by id ascending, whatever the pool order', () => {
  const input: AcquisitionInput = {
    ids: ['z', 'm', 'a', 'q'],
    probs: [
      [0.5, 0.5],
      [0.5, 0.5],
      [0.5, 0.5],
      [0.9, 0.1],
    ],
    labels: [0, 0, 0, 0],
    batch: 2,
    seed: 1,
  };
  // three items tie on every score; ids a (idx 2) < m (idx 1) < z (idx 0)
  for (const name of ['loss', 'least-confidence', 'entropy', 'margin'] as const) {
    assert.deepEqual(
      pickBatch(name, input).map((p) => p.id),
      ['a', 'm'],
      name,
    );
  }
  // loss ln 2 = 0.6931472 for the three tied items; all labelled → lion hard = a, easy = q (−ln 0.9 = 0.1053605)
  expectPicks(pickBatch('lion', input), [2, 3], [0.6931472, 0.1053605], 'lion');
  // misclassified: 0.5/0.5 rows argmax 0 = label → none wrong
  assert.deepEqual(pickBatch('misclassified', input), []);
});

test('random: seeded, without replacement, independent of pool order, prefix-stable', () => {
  const a = pickBatch('random', tiny(3, 42));
  assert.deepEqual(pickBatch('random', tiny(3, 42)), a, 'same seed, same picks');
  assert.equal(new Set(a.map((p) => p.index)).size, 3, 'no duplicates');
  // score = n − position: 5, 4, 3
  assert.deepEqual(
    a.map((p) => p.score),
    [5, 4, 3],
  );
  // it is the Fisher–Yates sample of the id-sorted positions with stream 'random'
  assert.deepEqual(
    a.map((p) => p.index),
    new Rng(42, 'random').sample([0, 1, 2, 3, 4], 3),
  );
  // prefix of a larger batch; B ≥ n is a full permutation
  const all = pickBatch('random', tiny(9, 42));
  assert.deepEqual(all.slice(0, 3), a);
  assert.deepEqual(all.map((p) => p.index).sort(), [0, 1, 2, 3, 4]);
  // reversing the pool does not change which ids are picked
  const t = tiny(3, 42);
  const rev: AcquisitionInput = {
    ...t,
    ids: [...t.ids].reverse(),
    probs: [...t.probs].reverse(),
    labels: [...t.labels].reverse(),
  };
  assert.deepEqual(
    pickBatch('random', rev).map((p) => p.id),
    a.map((p) => p.id),
  );
  // different seeds give different orders; first picks are roughly uniform
  const counts = [0, 0, 0, 0, 0];
  const firsts = new Set<string>();
  for (let s = 0; s < 2000; s++) {
    const first = pickBatch('random', tiny(1, s))[0];
    counts[first.index]++;
    firsts.add(first.id);
  }
  assert.equal(firsts.size, 5);
  for (const c of counts) assert.ok(c > 300 && c < 500, `first-pick count ${c} not near 400`);
});

test('badge: gradient embedding layout matches student/logreg weights[j*K + k]', () => {
  // p = [0.2, 0.5, 0.3] → ŷ = 1, p − e_ŷ = [0.2, −0.5, 0.3]; h = [1, 2]
  // j=0: [0.2, −0.5, 0.3]·1; j=1: [0.2, −0.5, 0.3]·2 = [0.4, −1.0, 0.6]
  assert.deepEqual(Array.from(gradientEmbedding([0.2, 0.5, 0.3], [1, 2])), [0.2, -0.5, 0.3, 0.4, -1, 0.6]);
});

/**
 * BADGE on 3 items, K = 2, d = 1 (g[j·2 + k], here just [g₀, g₁]):
 *   a: p [0.6, 0.4], ŷ 0, p − e_ŷ = [−0.4, 0.4], h 1 → g = [−0.4, 0.4], ‖g‖² = 0.32
 *   b: p [0.9, 0.1], ŷ 0, p − e_ŷ = [−0.1, 0.1], h 2 → g = [−0.2, 0.2], ‖g‖² = 0.08
 *   c: p [0.2, 0.8], ŷ 1, p − e_ŷ = [0.2, −0.2], h 1 → g = [0.2, −0.2], ‖g‖² = 0.08
 * First pick a (largest ‖g‖), score 0.32.
 * D² to a: b (0.2)² + (−0.2)² = 0.08; c (0.6)² + (−0.6)² = 0.72 → P(c) = 0.72/0.80 = 0.9.
 * Third pick: after c, b's D² = min(0.08, ‖g_b − g_c‖² = 0.16 + 0.16 = 0.32) = 0.08;
 *             after b, c's D² = min(0.72, 0.32) = 0.32.
 */
function badgeInput(batch: number, seed: number): AcquisitionInput {
  return {
    ids: ['a', 'b', 'c'],
    probs: [
      [0.6, 0.4],
      [0.9, 0.1],
      [0.2, 0.8],
    ],
    labels: [null, null, null],
    batch,
    seed,
    features: [[1], [2], [1]],
  };
}

test('badge: first pick = largest ‖g‖, then D² sampling (hand-computed), deterministic by seed', () => {
  expectPicks(pickBatch('badge', badgeInput(1, 0)), [0], [0.32], 'B=1');
  let cSecond = 0;
  const orders = new Set<string>();
  for (let s = 0; s < 2000; s++) {
    const picks = pickBatch('badge', badgeInput(2, s));
    assert.equal(picks[0].index, 0);
    if (picks[1].index === 2) {
      cSecond++;
      expectPicks(picks, [0, 2], [0.32, 0.72], `seed ${s}`);
    } else {
      expectPicks(picks, [0, 1], [0.32, 0.08], `seed ${s}`);
    }
    orders.add(picks.map((p) => p.id).join());
  }
  assert.equal(orders.size, 2);
  assert.ok(cSecond > 1740 && cSecond < 1860, `P(c second) = ${cSecond / 2000}, expected 0.9`);
  // determinism: same seed → same picks (B = 2 < n keeps pick order)
  for (const s of [3, 11, 12345])
    assert.deepEqual(pickBatch('badge', badgeInput(2, s)), pickBatch('badge', badgeInput(2, s)));
  // B ≥ n: all items, ordered by score. Either a(0.32), c(0.72), b(0.08) → c, a, b
  //                                    or a(0.32), b(0.08), c(0.32) → a, c (tie 0.32, id a < c), b
  for (let s = 0; s < 50; s++) {
    const all = pickBatch('badge', badgeInput(3, s));
    const ids = all.map((p) => p.id).join();
    assert.ok(ids === 'c,a,b' || ids === 'a,c,b', ids);
    if (ids === 'c,a,b') expectPicks(all, [2, 0, 1], [0.72, 0.32, 0.08], `seed ${s}`);
    else expectPicks(all, [0, 2, 1], [0.32, 0.32, 0.08], `seed ${s}`);
  }
});

test('badge: independent of pool order; ties on ‖g‖ by id; all-duplicate pool falls back to uniform', () => {
  const t = badgeInput(2, 5);
  const perm = [2, 0, 1];
  const shuffled: AcquisitionInput = {
    ...t,
    ids: perm.map((i) => t.ids[i]),
    probs: perm.map((i) => t.probs[i]),
    labels: perm.map((i) => t.labels[i]),
    features: perm.map((i) => t.features![i]),
  };
  for (let s = 0; s < 20; s++) {
    assert.deepEqual(
      pickBatch('badge', { ...shuffled, seed: s }).map((p) => p.id),
      pickBatch('badge', { ...t, seed: s }).map((p) => p.id),
    );
  }
  // identical items: ‖g‖ ties → first pick is the smallest id; then every D² is 0 → uniform, score 0
  const dup: AcquisitionInput = {
    ids: ['y', 'x', 'w'],
    probs: [
      [0.7, 0.3],
      [0.7, 0.3],
      [0.7, 0.3],
    ],
    labels: [null, null, null],
    batch: 2,
    seed: 9,
    features: [[1], [1], [1]],
  };
  const picks = pickBatch('badge', dup);
  assert.equal(picks[0].id, 'w');
  assert.ok(Math.abs(picks[0].score - 0.18) < EPS); // g = [−0.3, 0.3], ‖g‖² = 0.18
  assert.equal(picks[1].score, 0);
  assert.notEqual(picks[1].id, 'w');
});

test('coreset: greedy k-center on a hand-computed 1-D example', () => {
  // training set {0}; pool h = 1, 2, 5, 9, 10 (ids = the values)
  const input: AcquisitionInput = {
    ids: ['1', '2', '5', '9', '10'],
    probs: Array.from({ length: 5 }, () => [0.5, 0.5]),
    labels: [null, null, null, null, null],
    batch: 5,
    seed: 0,
    features: [[1], [2], [5], [9], [10]],
    trainFeatures: [[0]],
  };
  // distances to {0}: 1, 2, 5, 9, 10 → pick 10 (score 10)
  // to {0,10}: 1, 2, 5, 1 → pick 5 (score 5)
  // to {0,10,5}: 1, 2, 1 (9: min(1, 4)) → pick 2 (score 2)
  // to {0,10,5,2}: 1 (1: min(1, 1)), 1 (9: min(1, 7)) → tie; id '1' < '9' → 1 (score 1), then 9 (score 1)
  expectPicks(pickBatch('coreset', input), [4, 2, 1, 0, 3], [10, 5, 2, 1, 1], 'B=5');
  expectPicks(pickBatch('coreset', { ...input, batch: 2 }), [4, 2], [10, 5], 'B=2');
  // no training set: first pick farthest from the pool centroid 27/5 = 5.4:
  //   |1−5.4| 4.4, |2−5.4| 3.4, |5−5.4| 0.4, |9−5.4| 3.6, |10−5.4| 4.6 → 10 (score 4.6)
  // to {10}: 9, 8, 5, 1 → 1 (score 9); to {10,1}: 1, 4, 1 → 5 (score 4)
  expectPicks(
    pickBatch('coreset', { ...input, batch: 3, trainFeatures: undefined }),
    [4, 0, 2],
    [4.6, 9, 4],
    'no train',
  );
  // then 2 and 9 tie at 1 → '2' < '9'; with B ≥ n all items come ordered by score: 1 (9), 10 (4.6), 5 (4), 2 (1), 9 (1)
  expectPicks(
    pickBatch('coreset', { ...input, batch: 5, trainFeatures: [] }),
    [0, 4, 2, 1, 3],
    [9, 4.6, 4, 1, 1],
    'no train, B=n',
  );
});

test('coreset: 2-D Euclidean distance', () => {
  // train {(0,0)}; pool (3,4) → 5, (1,1) → √2 = 1.4142136; after (3,4): (1,1) min(√2, √(4+9)) = √2
  const picks = pickBatch('coreset', {
    ids: ['p', 'q'],
    probs: [
      [1, 0],
      [0, 1],
    ],
    labels: [null, null],
    batch: 1,
    seed: 0,
    features: [
      [3, 4],
      [1, 1],
    ],
    trainFeatures: [[0, 0]],
  });
  expectPicks(picks, [0], [5], '2-D');
});

test('lion: ⌈B/2⌉ hardest + ⌊B/2⌋ easiest by loss, no duplicates, null labels skipped', () => {
  // labelled losses: c 1.6094 > b 0.9163 > a 0.3567 > d 0.2231 (e skipped)
  // B=2: hard {c}, easy {d}
  expectPicks(pickBatch('lion', tiny(2)), [2, 3], [LOSS.c, LOSS.d], 'B=2');
  // B=3 (odd): hard {c, b}, easy {d}
  expectPicks(pickBatch('lion', tiny(3)), [2, 1, 3], [LOSS.c, LOSS.b, LOSS.d], 'B=3');
  // B=1: the extra one goes to the hard half
  expectPicks(pickBatch('lion', tiny(1)), [2], [LOSS.c], 'B=1');
  // B=4 = #labelled, B=5: everything labelled, by loss descending
  expectPicks(pickBatch('lion', tiny(4)), [2, 1, 0, 3], [LOSS.c, LOSS.b, LOSS.a, LOSS.d], 'B=4');
  expectPicks(pickBatch('lion', tiny(5)), [2, 1, 0, 3], [LOSS.c, LOSS.b, LOSS.a, LOSS.d], 'B=5');
  assert.deepEqual(pickBatch('lion', tiny(0)), []);
});

test('B ≥ pool size returns every eligible item for every function; empty pool gives []', () => {
  const input: AcquisitionInput = {
    ...tiny(50),
    features: [[1], [2], [3], [4], [5]],
    trainFeatures: [[0]],
    judgeScores: [1, 2, 3, 4, 5],
  };
  for (const name of ACQUISITION_NAMES) {
    const picks = pickBatch(name, input);
    const expected = name === 'misclassified' ? 2 : ACQUISITIONS[name].needsLabels ? 4 : 5;
    assert.equal(picks.length, expected, name);
    assert.equal(new Set(picks.map((p) => p.index)).size, expected, `${name}: duplicates`);
    // every rule orders by score except S3's, which keeps its seeded sampled order
    if (name !== 'misclassified')
      for (let i = 1; i < picks.length; i++)
        assert.ok(picks[i - 1].score >= picks[i].score, `${name}: not ordered by score`);
    const empty: AcquisitionInput = {
      ids: [],
      probs: [],
      labels: [],
      batch: 3,
      seed: 1,
      features: [],
      judgeScores: [],
    };
    assert.deepEqual(pickBatch(name, empty), [], `${name}: empty pool`);
  }
});

test('input validation: RangeError with a clear message', () => {
  const bad = (name: AcquisitionName, patch: Partial<AcquisitionInput>, re: RegExp) =>
    assert.throws(
      () => pickBatch(name, { ...tiny(2), ...patch }),
      (e: unknown) => e instanceof RangeError && re.test(e.message),
    );
  bad('loss', { labels: [0, 1] }, /labels has 2 entries, expected 5/);
  bad('loss', { probs: tiny(2).probs.slice(1) }, /probs has 4 rows, expected 5/);
  bad('entropy', { batch: -1 }, /batch must be an integer >= 0/);
  bad('entropy', { batch: 1.5 }, /batch must be an integer >= 0/);
  bad('random', { seed: Number.NaN }, /seed must be an integer/);
  bad('entropy', { probs: [[0.7, 0.2, 0.2], ...tiny(2).probs.slice(1)] }, /probs\[0\] sums to 1\.(1|09)/);
  bad('entropy', { probs: [[1.2, -0.2, 0], ...tiny(2).probs.slice(1)] }, /probs\[0\]\[0\] = 1\.2 is not a probability/);
  bad('entropy', { probs: [[0.5, 0.5], ...tiny(2).probs.slice(1)] }, /probs\[1\] has length 3, expected 2/);
  bad('margin', { probs: [[Number.NaN, 0.5, 0.5], ...tiny(2).probs.slice(1)] }, /probs\[0\]\[0\] is not finite/);
  bad('loss', { labels: [0, 1, 3, 1, null] }, /labels\[2\] = 3 is not null or a class index in \[0, 3\)/);
  bad('loss', { ids: ['a', 'b', 'a', 'd', 'e'] }, /duplicate id "a"/);
  bad('badge', {}, /badge: features .* are required/);
  bad('coreset', { features: [[1], [2]] }, /features has 2 rows, expected 5/);
  bad('coreset', { features: [[1], [2], [3], [4], [5, 6]] }, /features\[4\] has length 2, expected 1/);
  bad(
    'coreset',
    { features: [[1], [2], [3], [4], [5]], trainFeatures: [[1, 2]] },
    /trainFeatures\[0\] has length 2, expected 1/,
  );
  bad('bald' as AcquisitionName, {}, /unknown acquisition function "bald"/);
  // within tolerance is fine; features are not needed (nor checked) by entropy
  const nearly = tiny(1);
  nearly.probs[0] = [0.7, 0.2, 0.1 + 5e-7];
  assert.doesNotThrow(() => validateAcquisitionInput('entropy', { ...nearly, features: [[1]] }));
});

test('scoreSummary: count, min, median, max; null when empty', () => {
  assert.equal(scoreSummary([]), null);
  // scores 0.72, 0.32, 0.08 → median 0.32
  assert.deepEqual(
    scoreSummary([
      { index: 0, id: 'a', score: 0.32 },
      { index: 1, id: 'b', score: 0.08 },
      { index: 2, id: 'c', score: 0.72 },
    ]),
    { count: 3, min: 0.08, median: 0.32, max: 0.72 },
  );
  // even count: mean of the middle two. Margin scores of e, b, c, a = 1, 0.9, 0.6, 0.5 → median (0.9 + 0.6) / 2 = 0.75
  const s = scoreSummary(pickBatch('margin', tiny(4)));
  assert.ok(s !== null && s.count === 4);
  assert.ok(Math.abs(s.median - 0.75) < EPS && Math.abs(s.min - 0.5) < EPS && Math.abs(s.max - 1) < EPS);
});

test('teacher-judge: the hardest by the teacher’s rating, unrated skipped, ties by id; ratings parsed from answers', () => {
  const input: AcquisitionInput = { ...tiny(2), judgeScores: [3, null, 5, 3, 1] };
  // ratings: a=3, b=none, c=5, d=3, e=1 → c (5), then a and d tie at 3 → a by id
  expectPicks(pickBatch('teacher-judge', input), [2, 0], [5, 3], 'B=2');
  assert.throws(() => pickBatch('teacher-judge', { ...tiny(2) }), /judgeScores/);
  assert.equal(parseRating('4'), 4);
  assert.equal(parseRating('Rating: 2/5'), 2);
  assert.equal(parseRating('I would say 3.'), 3);
  assert.equal(parseRating('It is 10 out of 10'), null);
  assert.equal(parseRating('hard'), null);
});

test('selectPerGroup (generate–evaluate–select): one candidate per group by the same function, hand-computed', async () => {
  const { selectPerGroup } = await import('../../acquisition/candidates.js');
  // the tiny pool as candidates of two pool items: a, b, c from item "x"; d, e from item "y"
  // (e's label is set: teacher outputs carry the asked label)
  const input = { ...tiny(0), labels: [0, 1, 0, 1, 0] };
  const groups = ['x', 'x', 'x', 'y', 'y'];
  // loss: x → c (1.609); y → e (−ln 1/3 = 1.0986) over d (0.223)
  const byLoss = selectPerGroup('loss', input, groups);
  assert.deepEqual(
    byLoss.map((p) => [p.group, p.id, p.of, p.decidedBy]),
    [
      ['x', 'c', 3, 'loss'],
      ['y', 'e', 2, 'loss'],
    ],
  );
  assert.ok(Math.abs(byLoss[1].score - Math.log(3)) < EPS);
  // least-confidence 1 − max p: x: a 0.3, b 0.5, c 0.4 → b; y: d 0.2, e 2/3 → e
  assert.deepEqual(
    selectPerGroup('least-confidence', input, groups).map((p) => p.id),
    ['b', 'e'],
  );
  // misclassified: x → c (wrong, highest loss); y: d right, e wrong (argmax 0 = label 0? no:
  // e's argmax is class 0 on ties and its label is 0, so right) → none wrong → falls back to loss → e
  const mis = selectPerGroup('misclassified', input, groups);
  assert.deepEqual(
    mis.map((p) => [p.id, p.decidedBy]),
    [
      ['c', 'misclassified'],
      ['e', 'loss'],
    ],
  );
  // group order = first appearance, indices point into the input
  const rev = selectPerGroup('loss', input, ['y', 'y', 'x', 'x', 'x']);
  assert.deepEqual(
    rev.map((p) => [p.group, p.index]),
    [
      ['y', 1],
      ['x', 2],
    ],
  );
  assert.throws(() => selectPerGroup('teacher-judge', input, groups), /teacher-judge/);
  assert.throws(() => selectPerGroup('loss', input, ['x']), /groups has 1 entries/);
});
