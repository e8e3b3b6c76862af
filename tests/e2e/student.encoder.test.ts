/** encoder-logreg student with the tiny random BERT of tests/fixtures/tiny-encoder (see make_tiny_encoder.py). */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StudentSchema } from '../../config/schema.js';
import type { Example } from '../../domain/types.js';
import {
  FrozenEncoder,
  embeddingStats,
  pairFeatures,
  planBatches,
  resetEmbeddingCaches,
} from '../../student/encoder.js';
import { createStudent } from '../../student/index.js';

const MODEL = fileURLToPath(new URL('../fixtures/tiny-encoder', import.meta.url));
const HIDDEN = 32;
const tmp = mkdtempSync(join(tmpdir(), 's3-student-enc-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const words = [
  ['great', 'wonderful', 'loved', 'excellent', 'perfectly', 'friendly'],
  ['awful', 'terrible', 'boring', 'worst', 'bad', 'cold'],
];
const ex = (i: number, c: number): Example => ({
  id: `e${c}-${i}`,
  text: `the movie was ${words[c][i % 6]} and ${words[c][(i + 2) % 6]}`,
  label: c === 0 ? 'positive' : 'negative',
});
const labels = ['positive', 'negative'];
const cfg = StudentSchema.parse({ kind: 'encoder-logreg', encoderPath: MODEL, l2: 1e-4, maxIter: 500 });

test('encoder: unit-norm mean-pooled embeddings, independent of batch padding', async () => {
  resetEmbeddingCaches();
  const a = new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'pad-a') });
  const b = new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'pad-b') });
  const [alone] = await a.embed(['the cat sat']);
  const [, batched] = await b.embed(['a man is playing a guitar on the street today', 'the cat sat']);
  assert.equal(alone.length, HIDDEN);
  assert.ok(Math.abs(Math.hypot(...alone) - 1) < 1e-5);
  alone.forEach((x, i) => assert.ok(Math.abs(x - batched[i]) < 1e-5, `dim ${i}`));
  const [u, v] = await a.embed(['the cat sat', 'the dog slept']);
  assert.ok(Math.abs(Math.hypot(...u.map((x, i) => x - v[i]))) > 1e-3, 'different texts, different vectors');
  const f = pairFeatures(u, v);
  assert.equal(f.length, 4 * HIDDEN);
  assert.equal(f[2 * HIDDEN], Math.fround(Math.abs(u[0] - v[0])));
  assert.equal(f[3 * HIDDEN + 1], Math.fround(u[1] * v[1]));
  await assert.rejects(new FrozenEncoder(join(tmp, 'no-model'), { cacheDir: tmp }).embed(['x']), /lacks config\.json/);
});

test('planBatches: shortest first, at most maxTexts texts and maxTokens padded tokens per pass', () => {
  const items = [40, 10, 10, 300, 25, 10, 600, 25].map((tokens, i) => ({ id: i, tokens }));
  const passes = planBatches(items, { maxTexts: 3, maxTokens: 100 });
  // sorted: 10(1) 10(2) 10(5) 25(4) 25(7) 40(0) 300(3) 600(6)
  // [1,2,5]: 3 texts (count cap); [4,7]: 2×25=50, adding 40 would pad to 3×40=120 > 100;
  // [0]: 40, adding 300 → 600 > 100; [3] and [6] alone (each longer than maxTokens)
  assert.deepEqual(
    passes.map((p) => p.map((x) => x.id)),
    [[1, 2, 5], [4, 7], [0], [3], [6]],
  );
  assert.deepEqual(planBatches([], { maxTexts: 4, maxTokens: 10 }), []);
  // short texts fill passes up to maxTexts
  const short = Array.from({ length: 70 }, (_, i) => ({ id: i, tokens: 12 }));
  assert.deepEqual(
    planBatches(short, { maxTexts: 32, maxTokens: 2048 }).map((p) => p.length),
    [32, 32, 6],
  );
});

test('encoder: a pass never exceeds batchTokens padded tokens; embeddings match the unbounded batches', async () => {
  resetEmbeddingCaches();
  const texts = Array.from({ length: 12 }, (_, i) => `the movie was ${'very '.repeat(i * 3)}good`);
  const bounded = await new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'tok-a'), batchTokens: 64 }).embed(texts);
  const boundedStats = embeddingStats();
  resetEmbeddingCaches();
  const unbounded = await new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'tok-b'), batchTokens: 1e9 }).embed(texts);
  assert.equal(boundedStats.embedded, 12);
  // the texts run from about 6 to 40 tokens: 64 padded tokens per pass allows at most 10 short
  // ones together and 1 of the longest, so more than 2 passes; unbounded, all 12 go in one
  assert.ok(boundedStats.passes > 2, `passes ${boundedStats.passes}`);
  assert.equal(embeddingStats().passes, 1);
  bounded.forEach((v, i) => v.forEach((x, d) => assert.ok(Math.abs(x - unbounded[i][d]) < 1e-5, `text ${i} dim ${d}`)));
});

test('encoder student: fits a toy task; the disk cache means later fits embed only new texts', async () => {
  resetEmbeddingCaches();
  const cacheDir = join(tmp, 'cache');
  const train = [0, 1, 2, 3, 4, 5].flatMap((i) => [ex(i, 0), ex(i, 1)]);
  const s = createStudent(cfg, { cacheDir });
  const st = await s.fit(train, labels);
  assert.equal(st.features, HIDDEN);
  assert.equal(embeddingStats().embedded, 12);
  const p = await s.predictProba(train);
  p.forEach((row, i) => {
    assert.ok(Math.abs(row[0] + row[1] - 1) < 1e-9);
    assert.equal(labels[row[0] > row[1] ? 0 : 1], train[i].label, `train example ${i}`);
  });
  assert.equal(embeddingStats().embedded, 12, 'predicting on the training texts embeds nothing');

  const file = new FrozenEncoder(MODEL, { cacheDir }).cacheFile;
  assert.ok(existsSync(file));
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 12);
  assert.equal(Buffer.from(JSON.parse(lines[0]).v, 'base64').length, 4 * HIDDEN);

  // EES round 1: same data plus two new examples -> exactly two new embeddings
  const round1 = [
    ...train,
    { id: 'n1', text: 'the film was great', label: 'positive' },
    { id: 'n2', text: 'the film was awful', label: 'negative' },
  ];
  const before = embeddingStats();
  await createStudent(cfg, { cacheDir }).fit(round1, labels);
  const mid = embeddingStats();
  assert.equal(mid.embedded - before.embedded, 2);
  assert.equal(mid.cacheHits - before.cacheHits, 12);

  // a new process (empty memory) reads the vectors back from disk and embeds nothing
  resetEmbeddingCaches();
  const s2 = createStudent(cfg, { cacheDir });
  await s2.fit(round1, labels);
  assert.deepEqual(embeddingStats(), { embedded: 0, cacheHits: 14, loadedFromDisk: 14, passes: 0 });
  const s1 = createStudent(cfg, { cacheDir });
  await s1.fit(round1, labels);
  assert.deepEqual(await s1.predictProba(train), await s2.predictProba(train), 'deterministic');
});

test('encoder student on pairs uses [u, v, |u-v|, u*v] features', async () => {
  const pairs: Example[] = [
    { id: 'p1', text: 'a man is playing a guitar', text_pair: 'a man is playing music', label: 'entailment' },
    { id: 'p2', text: 'a man is playing a guitar', text_pair: 'nobody is playing any music', label: 'contradiction' },
    {
      id: 'p3',
      text: 'two children are running in the park',
      text_pair: 'children are running outside',
      label: 'entailment',
    },
    {
      id: 'p4',
      text: 'two children are running in the park',
      text_pair: 'nobody is running outside',
      label: 'contradiction',
    },
  ];
  const s = createStudent(cfg, { cacheDir: join(tmp, 'pairs') });
  const st = await s.fit(pairs, ['entailment', 'contradiction']);
  assert.equal(st.features, 4 * HIDDEN);
  const p = await s.predictProba(pairs);
  p.forEach((row, i) => assert.equal(row[0] > 0.5, i % 2 === 0, `pair ${i}`));
});
