/**
 * The data-quality study (S3 Table 6 and Table 8): the pure numbers (quality/study.ts), the
 * seeded map (quality/map.ts) and the studyQuality activity end to end on a tiny run dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { distance } from 'fastest-levenshtein';
import { MapRowSchema, studyQuality } from '../../activities/quality.js';
import type { TaskRefs } from '../../activities/prepare.js';
import { parseConfig } from '../../config/schema.js';
import { readJsonl, writeJsonl } from '../../data/jsonl.js';
import { Rng } from '../../domain/rng.js';
import { ExampleSchema, type Example, type SyntheticExample } from '../../domain/types.js';
import { projectUmap, seededSubsample, tfidfProjection } from '../../quality/map.js';
import {
  chooseGamma,
  cosine,
  coverage,
  GAMMA_RULE,
  meanWords,
  median,
  nearestNeighbourDistances,
  pairStats,
  wordEditDistance,
  type Point,
} from '../../quality/study.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';

const close = (a: number | null, b: number, eps = 1e-9) =>
  assert.ok(a !== null && Math.abs(a - b) <= eps, `expected ${b}, got ${a}`);

test('cosine: dense and sparse vectors against hand-computed values', () => {
  // 1·4 + 2·5 + 3·6 = 32; ‖a‖² = 14, ‖b‖² = 77
  close(cosine([1, 2, 3], [4, 5, 6]), 32 / Math.sqrt(14 * 77));
  close(cosine([1, 0], [0, 1]), 0);
  close(cosine([1, 1], [-2, -2]), -1);
  close(cosine(new Float32Array([3, 4]), [3, 4]), 1);
  close(cosine([0, 0], [1, 2]), 0); // undefined -> 0
  // sparse: one shared column of two -> 1 / (√2 · √2)
  close(cosine({ indices: [0, 2], values: [1, 1] }, { indices: [5, 2], values: [1, 1] }), 0.5);
  close(cosine({ indices: [], values: [] }, { indices: [1], values: [1] }), 0);
  assert.throws(() => cosine([1, 2], [1, 2, 3]), RangeError);
  assert.throws(() => cosine([1, 2], { indices: [0], values: [1] }), TypeError);
});

test('edit distances and word counts against hand-computed values', () => {
  assert.equal(distance('kitten', 'sitting'), 3);
  assert.equal(wordEditDistance('the cat sat', 'the dog sat down'), 2); // substitute + insert
  assert.equal(wordEditDistance('', 'a b c'), 3);
  assert.equal(wordEditDistance('same words here', 'same  words\there'), 0);
  close(meanWords(['a b c', '  d  e ', '']), 5 / 3);
  assert.equal(meanWords([]), null);

  const s = pairStats([
    { gold: 'kitten', synthetic: 'sitting', goldVec: [1, 0], synVec: [1, 0] },
    { gold: 'a b', synthetic: 'a b c d', goldVec: [1, 0], synVec: [0, 1] },
  ]);
  assert.equal(s.count, 2);
  close(s.cosine, 0.5); // (1 + 0) / 2
  close(s.editDistance, 3.5); // (3 + 4) / 2 characters
  close(s.editDistanceWords, 1.5); // (1 + 2) / 2 words
  close(s.goldWords, 1.5); // (1 + 2) / 2
  close(s.syntheticWords, 2.5); // (1 + 4) / 2
  assert.deepEqual(pairStats([]), {
    count: 0,
    cosine: null,
    editDistance: null,
    editDistanceWords: null,
    goldWords: null,
    syntheticWords: null,
  });
});

test('chooseGamma and coverage on a toy layout with a known answer', () => {
  // a unit square (nearest-neighbour distance 1 each) and a pair 2 apart (2 each)
  const base: Point[] = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
    [10, 10],
    [12, 10],
  ];
  assert.deepEqual(nearestNeighbourDistances(base), [1, 1, 1, 1, 2, 2]);
  assert.equal(median([1, 1, 1, 1, 2, 2]), 1);
  assert.equal(median([3, 1, 2]), 2);
  const { gamma, rule } = chooseGamma(base);
  assert.equal(gamma, 1);
  assert.equal(rule, GAMMA_RULE);

  // shifted to negative coordinates too, to exercise the grid's floor on both signs
  for (const [ox, oy] of [
    [0, 0],
    [-100.3, -50.7],
  ]) {
    const gold = base.map(([x, y]) => [x + ox, y + oy] as const);
    const syn: Point[] = [
      [0.5 + ox, 0 + oy], // 0.5 from (0,0) and (1,0); √1.25 from the upper two
      [11 + ox, 10 + oy], // exactly 1 from (10,10) and (12,10): closed discs count them
    ];
    close(coverage(gold, syn, 1), 4 / 6);
    close(coverage(gold, syn, 0.5), 2 / 6);
    close(coverage(gold, syn, 0.4), 0);
    close(coverage(gold, syn, 100), 1);
    close(coverage(gold, [[1 + ox, 1 + oy]], 0), 1 / 6); // gamma 0: exact hits only
  }
  assert.equal(coverage(base, [], 1), 0);
  assert.throws(() => coverage([], [[0, 0]], 1), RangeError);
  assert.throws(() => coverage(base, [[0, 0]], -1), RangeError);
  assert.throws(() => chooseGamma([[0, 0]]), RangeError);
});

test('coverage: the grid agrees with brute force on random layouts', () => {
  const rng = new Rng(3, 'coverage-test');
  for (let trial = 0; trial < 20; trial++) {
    const pts = (n: number): Point[] => Array.from({ length: n }, () => [rng.next() * 20 - 10, rng.next() * 20 - 10]);
    const gold = pts(200);
    const syn = pts(50);
    const gamma = rng.next() * 3;
    const brute =
      gold.filter((p) => syn.some((q) => Math.hypot(p[0] - q[0], p[1] - q[1]) <= gamma)).length / gold.length;
    close(coverage(gold, syn, gamma), brute);
  }
});

/** Three well-separated Gaussian clusters of 20 points in 10 dimensions. */
function clusters(): { vectors: number[][]; cluster: number[] } {
  const rng = new Rng(11, 'clusters');
  const vectors: number[][] = [];
  const cluster: number[] = [];
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < 20; i++) {
      vectors.push(Array.from({ length: 10 }, (_, d) => (d === c ? 10 : 0) + rng.next() - 0.5));
      cluster.push(c);
    }
  return { vectors, cluster };
}

test('projectUmap: same seed gives identical coordinates, another seed different ones; clusters stay apart', async () => {
  const { vectors, cluster } = clusters();
  const a = await projectUmap(vectors, 1, { nEpochs: 200 });
  const b = await projectUmap(vectors, 1, { nEpochs: 200 });
  const c = await projectUmap(vectors, 2, { nEpochs: 200 });
  assert.equal(a.length, 60);
  assert.ok(a.every((p) => p.length === 2 && p.every(Number.isFinite)));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  // every point's nearest map neighbour comes from its own cluster
  for (const xy of [a, c]) {
    const nn = xy.map((p, i) => {
      let best = -1;
      let bd = Infinity;
      xy.forEach((q, j) => {
        const d = Math.hypot(p[0] - q[0], p[1] - q[1]);
        if (j !== i && d < bd) [best, bd] = [j, d];
      });
      return best;
    });
    assert.ok(nn.every((j, i) => cluster[j] === cluster[i]));
  }
  // fewer points than 16: nNeighbors drops to n - 1
  assert.equal((await projectUmap(vectors.slice(0, 8), 1, { nEpochs: 50 })).length, 8);
  await assert.rejects(projectUmap(vectors.slice(0, 2), 1), RangeError);
  await assert.rejects(projectUmap([[1, 2], [1], [3, 4]], 1), RangeError);
});

test('tfidfProjection: 256-dim unit rows, deterministic, near-orthogonal for disjoint texts', () => {
  const texts = ['apple banana cherry', 'apple banana cherry', 'zebra quokka', ''];
  const v = tfidfProjection(texts, 5);
  assert.equal(v.length, 4);
  assert.ok(v.every((r) => r.length === 256));
  for (const r of v.slice(0, 3)) close(Math.hypot(...r), 1, 1e-9);
  assert.ok(v[3].every((x) => x === 0)); // no terms
  close(cosine(v[0], v[1]), 1, 1e-12);
  assert.ok(Math.abs(cosine(v[0], v[2])) < 0.3, `disjoint texts: ${cosine(v[0], v[2])}`);
  assert.deepEqual(tfidfProjection(texts, 5), v);
  assert.notDeepEqual(tfidfProjection(texts, 6), v);
});

test('seededSubsample keeps file order, is seeded, and returns everything when k is large', () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const a = seededSubsample(xs, 10, new Rng(1, 's'));
  assert.equal(a.length, 10);
  assert.deepEqual(
    a,
    [...a].sort((p, q) => p - q),
  );
  assert.deepEqual(seededSubsample(xs, 10, new Rng(1, 's')), a);
  assert.deepEqual(seededSubsample(xs, 60, new Rng(1, 's')), xs);
});

// ---------- studyQuality end to end ----------

function synthetic(
  id: string,
  text: string,
  label: string,
  origin: 'seed' | 'ees',
  misclassifiedId: string | null,
  textPair?: string,
): SyntheticExample {
  return {
    id,
    text,
    ...(textPair !== undefined ? { text_pair: textPair } : {}),
    label,
    provenance: {
      origin,
      round: origin === 'seed' ? 0 : 1,
      rationales: [],
      misclassifiedId,
      templateId: 'test',
      prompt: 'p',
      teacherModel: 'fake',
      sampling: { temperature: 0.9, topP: 0.95, maxTokens: 64 },
      sampleIndex: 0,
      rawOutput: text,
    },
  };
}

async function taskRefs(runDir: string, validation: Example[], testRows: Example[]): Promise<TaskRefs> {
  return {
    runDir,
    validation: await writeJsonl(path.join(runDir, 'gold', 'validation.jsonl'), validation),
    test: await writeJsonl(path.join(runDir, 'gold', 'test.jsonl'), testRows),
    contexts: null,
  };
}

test('studyQuality end to end with TF-IDF features: Table 6 pairs, map file, coverage share', async () => {
  const gold = writeGoldTask({ validation: 40, test: 60 });
  const config = parseConfig(fakeRunConfig(gold, 'http://127.0.0.1:9/v1', { runId: 'quality' }));
  const runDir = path.join(gold.dir, 'runs', 'quality');
  const validation = await readJsonl(gold.validation, ExampleSchema);
  const testRows = await readJsonl(gold.test, ExampleSchema);
  const task = await taskRefs(runDir, validation, testRows);

  const rows: (SyntheticExample | Example)[] = [];
  for (let i = 0; i < 30; i++) {
    const label = i % 2 ? 'negative' : 'positive';
    rows.push(synthetic(`seed-${i}`, `a ${label} story about the service number ${i}`, label, 'seed', null));
  }
  // 10 EES examples written from validation examples val-0 .. val-9
  const ees = validation.slice(0, 10).map((v, i) => synthetic(`ees-${i}`, `${v.text} and more`, v.label, 'ees', v.id));
  rows.push(...ees);
  // EES rows whose original is not in the validation set: not a pair, still synthetic points
  rows.push(synthetic('ees-x', 'orphan positive text', 'positive', 'ees', 'val-missing'));
  rows.push(synthetic('ees-y', 'another orphan', 'negative', 'ees', null));
  // a gold row mixed into the training set (no provenance): not in the study
  rows.push({ id: 'gold-row', text: 'a gold row', label: 'positive' });
  const dataset = await writeJsonl(path.join(runDir, 'final.jsonl'), rows);

  const outDir = path.join(runDir, 'quality', 's3', 'seed-42');
  const q = await studyQuality({ config, task, arm: 's3', seed: 42, dataset, outDir, features: 'tfidf' });

  assert.equal(q.arm, 's3');
  assert.equal(q.seed, 42);
  assert.match(q.features, /^TF-IDF, random projection to 256 dims/);
  // Table 6
  assert.equal(q.pairs.count, 10);
  const goldTexts = validation.slice(0, 10).map((v) => v.text);
  close(q.pairs.goldWords, meanWords(goldTexts)!);
  close(q.pairs.syntheticWords, meanWords(goldTexts)! + 2); // "and more"
  close(q.pairs.editDistance, 9); // " and more" appended: 9 insertions
  assert.ok(q.pairs.cosine! > 0.5 && q.pairs.cosine! < 1, `cosine ${q.pairs.cosine}`);
  // Table 8
  assert.ok(q.coverage.share >= 0 && q.coverage.share <= 1, `share ${q.coverage.share}`);
  assert.ok(q.coverage.gamma > 0);
  assert.equal(q.coverage.gammaRule, GAMMA_RULE);
  // the map: 60 gold test points + 42 synthetic (30 seed + 12 EES; the gold row left out)
  assert.equal(q.map.path, path.join(outDir, 'map.jsonl'));
  const map = await readJsonl(q.map.path, MapRowSchema);
  assert.equal(map.length, 102);
  assert.equal(q.map.count, 102);
  assert.equal(map.filter((r) => r.set === 'gold-test').length, 60);
  assert.equal(map.filter((r) => r.set === 'synthetic').length, 42);
  assert.deepEqual(
    map.filter((r) => r.set === 'gold-test').map((r) => r.label),
    testRows.map((r) => r.label),
  );
  // the share is the one recomputed from the written map
  const pts = (set: string) => map.filter((r) => r.set === set).map((r) => [r.x, r.y] as const);
  const g = chooseGamma(pts('gold-test'));
  assert.equal(g.gamma, q.coverage.gamma);
  assert.equal(coverage(pts('gold-test'), pts('synthetic'), g.gamma), q.coverage.share);

  // deterministic: the same inputs give the same map bytes
  const again = await studyQuality({ config, task, arm: 's3', seed: 42, dataset, outDir, features: 'tfidf' });
  assert.equal(again.map.sha256, q.map.sha256);
  assert.deepEqual(again.coverage, q.coverage);
});

test('studyQuality: no EES pairs gives count 0 and null stats; pair tasks compare text_pair', async () => {
  const gold = writeGoldTask({ validation: 10, test: 20 });
  const input = fakeRunConfig(gold, 'http://127.0.0.1:9/v1', { runId: 'quality-pair' });
  const config = parseConfig({ ...input, task: { ...input.task, kind: 'pair' } });
  const runDir = path.join(gold.dir, 'runs', 'quality-pair');
  const premise = (i: number) => `premise number ${i} about the place`;
  const validation: Example[] = Array.from({ length: 10 }, (_, i) => ({
    id: `val-${i}`,
    text: premise(i),
    text_pair: `hypo ${i}`,
    label: i % 2 ? 'negative' : 'positive',
  }));
  const testRows: Example[] = Array.from({ length: 20 }, (_, i) => ({
    id: `test-${i}`,
    text: premise(i),
    text_pair: `the claim ${i} is ${i % 2 ? 'false' : 'true'}`,
    label: i % 2 ? 'negative' : 'positive',
  }));
  const task = await taskRefs(runDir, validation, testRows);
  const seedRows = Array.from({ length: 12 }, (_, i) =>
    synthetic(`seed-${i}`, premise(i), i % 2 ? 'negative' : 'positive', 'seed', null, `written claim ${i}`),
  );

  const none = await studyQuality({
    config,
    task,
    arm: 'zerogen',
    seed: 1,
    dataset: await writeJsonl(path.join(runDir, 'seed.jsonl'), seedRows),
    outDir: path.join(runDir, 'q0'),
    features: 'tfidf',
  });
  assert.deepEqual(none.pairs, { count: 0, cosine: null, editDistance: null, goldWords: null, syntheticWords: null });
  assert.equal(none.map.count, 32);

  const ees = validation
    .slice(0, 4)
    .map((v, i) => synthetic(`ees-${i}`, v.text, v.label, 'ees', v.id, `${v.text_pair} indeed so`));
  const withPairs = await studyQuality({
    config,
    task,
    arm: 's3',
    seed: 1,
    dataset: await writeJsonl(path.join(runDir, 'final.jsonl'), [...seedRows, ...ees]),
    outDir: path.join(runDir, 'q1'),
    features: 'tfidf',
  });
  assert.equal(withPairs.pairs.count, 4);
  close(withPairs.pairs.goldWords, 2); // "hypo i", not the premise
  close(withPairs.pairs.syntheticWords, 4); // "hypo i indeed so"
  close(withPairs.pairs.editDistance, 10); // " indeed so": 10 insertions
  const map = readFileSync(withPairs.map.path, 'utf8').trim().split('\n');
  assert.equal(map.length, 20 + 16);
  assert.ok(withPairs.coverage.share >= 0 && withPairs.coverage.share <= 1);
});

test('studyQuality fails as InvalidInput when the gold test set is too small', async () => {
  const gold = writeGoldTask({ validation: 4, test: 4 });
  const config = parseConfig(fakeRunConfig(gold, 'http://127.0.0.1:9/v1', { runId: 'quality-small' }));
  const runDir = mkdtempSync(path.join(tmpdir(), 's3-quality-'));
  const task = await taskRefs(runDir, [], [{ id: 't', text: 'only one', label: 'positive' }]);
  const dataset = await writeJsonl(path.join(runDir, 'd.jsonl'), [synthetic('s', 'x', 'positive', 'seed', null)]);
  await assert.rejects(
    studyQuality({ config, task, arm: 'a', seed: 1, dataset, outDir: runDir, features: 'tfidf' }),
    (err: Error & { type?: string }) => err.type === 'InvalidInput' && /at least 2 needed/.test(err.message),
  );
});
