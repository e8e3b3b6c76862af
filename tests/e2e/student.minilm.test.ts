/**
 * The real sentence encoder, sentence-transformers/all-MiniLM-L6-v2, converted to ONNX by
 * scripts/make_encoder.py into models/all-MiniLM-L6-v2 (opt-in: `S3_ENCODER=1 bash scripts/setup.sh`
 * or `python3 scripts/make_encoder.py`). Skipped when the model has not been built.
 *
 * Reference values: sentence-transformers 6.2.0 on PyTorch 2.15 (CPU), loading the original
 * safetensors model folder (mean pooling + normalisation), printed to 7 decimals.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FrozenEncoder, resetEmbeddingCaches } from '../../student/encoder.js';

const MODEL = fileURLToPath(new URL('../../models/all-MiniLM-L6-v2', import.meta.url));
const skip = existsSync(join(MODEL, 'onnx', 'model.onnx'))
  ? false
  : 'models/all-MiniLM-L6-v2/onnx/model.onnx not built (run `S3_ENCODER=1 bash scripts/setup.sh`)';
const tmp = mkdtempSync(join(tmpdir(), 's3-minilm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FOOD = 'A man is eating food.';
const BREAD = 'A man is eating a piece of bread.';
const BABY = 'The girl is carrying a baby.';
const HORSE = 'A man is riding a horse.';
/** first 5 dims of the sentence-transformers embeddings */
const REFERENCE: Record<string, number[]> = {
  [FOOD]: [0.0332416, 0.004406, -0.006277, 0.0483787, -0.1387023],
  [BREAD]: [0.0525185, 0.0552413, -0.0111882, -0.0057454, -0.1272083],
  [BABY]: [-0.0363089, -0.0356535, -0.0272226, 0.0383199, 0.0707776],
};
const dot = (u: Float32Array, v: Float32Array) => u.reduce((s, x, i) => s + x * v[i], 0);

test('all-MiniLM-L6-v2: embeddings match sentence-transformers; cosine ordering', { skip }, async () => {
  resetEmbeddingCaches();
  const enc = new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'ref') });
  const [food, bread, baby, horse] = await enc.embed([FOOD, BREAD, BABY, HORSE]);
  for (const [text, v] of [
    [FOOD, food],
    [BREAD, bread],
    [BABY, baby],
  ] as const) {
    assert.equal(v.length, 384);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5, 'unit norm');
    REFERENCE[text].forEach((x, i) => assert.ok(Math.abs(v[i] - x) < 1e-4, `${text} dim ${i}: ${v[i]} vs ${x}`));
  }
  const [fb, fh, fg] = [dot(food, bread), dot(food, horse), dot(food, baby)];
  console.log(
    `cos(food, bread) = ${fb.toFixed(4)}, cos(food, horse) = ${fh.toFixed(4)}, cos(food, baby) = ${fg.toFixed(4)}`,
  );
  assert.ok(Math.abs(fb - 0.7553) < 1e-3, `cos(food, bread) = ${fb}`);
  assert.ok(fb > 0.7 && fb > fh && fh > fg && fg < 0.1, 'paraphrase > related > unrelated');
  // a text longer than model_max_length (256 tokens) is truncated, not rejected
  const [long] = await enc.embed(['word '.repeat(600)]);
  assert.ok(Math.abs(Math.hypot(...long) - 1) < 1e-5);
});

test('all-MiniLM-L6-v2: embedding throughput (200 short texts)', { skip }, async () => {
  resetEmbeddingCaches();
  const enc = new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'speed') });
  await enc.embed(['warm-up']); // model load is not timed
  const subjects = ['the customer', 'our team', 'a new study', 'the manager', 'my neighbour'];
  const verbs = ['reported', 'questioned', 'celebrated', 'ignored', 'reviewed'];
  const objects = ['the quarterly results', 'a free prize offer', 'the weather forecast', 'the invoice'];
  const texts = Array.from(
    { length: 200 },
    (_, i) => `${subjects[i % 5]} ${verbs[Math.floor(i / 5) % 5]} ${objects[i % 4]} on day ${i}.`,
  );
  const t0 = performance.now();
  const vs = await enc.embed(texts);
  const s = (performance.now() - t0) / 1000;
  assert.equal(vs.length, 200);
  console.log(
    `all-MiniLM-L6-v2 throughput: ${(200 / s).toFixed(1)} texts/s (200 texts in ${s.toFixed(2)} s, batch 32)`,
  );
});
