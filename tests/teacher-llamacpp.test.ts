/**
 * The embedded llama-cpp teacher with a real GGUF model (SmolLM2-135M-Instruct). Skips when
 * no model file is installed (scripts/setup.sh installs it to models/). Set S3_TEACHER_MODEL
 * to test another GGUF file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  completeAll,
  disposeLlamaModels,
  LlamaCppTeacher,
  TeacherCache,
  TeacherConfigError,
} from '../teacher/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const candidates = [
  process.env.S3_TEACHER_MODEL,
  path.join(root, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf'),
  '/tmp/smol.gguf',
].filter((p): p is string => !!p);
const modelPath = candidates.find((p) => existsSync(p));
const skip = modelPath ? false : `no teacher GGUF found (looked at ${candidates.join(', ')}); run scripts/setup.sh`;
const params = { temperature: 0.9, topP: 0.95, maxTokens: 24 };

after(async () => {
  await disposeLlamaModels();
});

test('missing model file => TeacherConfigError naming the path', () => {
  assert.throws(
    () => new LlamaCppTeacher({ modelPath: '/no/such/model.gguf', concurrency: 1 }),
    (err: Error) => err instanceof TeacherConfigError && err.message.includes('/no/such/model.gguf'),
  );
});

test('real generation: text, token counts, seed determinism, parallel sequences, cache', { skip }, async (t) => {
  const teacher = new LlamaCppTeacher({ modelPath: modelPath!, concurrency: 2, threads: os.availableParallelism() });
  assert.equal(teacher.modelId, `llama-cpp:${path.basename(modelPath!)}`);
  const call = { prompt: 'Write a one-sentence positive movie review.', sampleIndex: 0 };

  let t0 = performance.now();
  const first = await teacher.complete(call, params);
  t.diagnostic(`first call (incl. model load) ${Math.round(performance.now() - t0)} ms, generation ${first.ms} ms`);
  assert.ok(first.text.trim().length > 0, 'non-empty reply');
  assert.ok(first.completionTokens > 0 && first.completionTokens <= params.maxTokens + 1, `${first.completionTokens}`);
  assert.ok(first.promptTokens > 8, `templated prompt tokens: ${first.promptTokens}`);
  assert.equal(first.cached, false);

  const again = await teacher.complete(call, params);
  t.diagnostic(`second call ${again.ms} ms, ${again.completionTokens} tokens`);
  assert.equal(again.text, first.text, 'same prompt + sampleIndex => same seed => same text');

  const dir = await mkdtemp(path.join(os.tmpdir(), 's3-llama-'));
  try {
    const calls = [1, 2, 3, 4].map((sampleIndex) => ({ prompt: call.prompt, sampleIndex }));
    t0 = performance.now();
    const replies = await completeAll(teacher, calls, params, { cache: new TeacherCache(dir), concurrency: 2 });
    const ms = performance.now() - t0;
    const tokens = replies.reduce((s, r) => s + r.completionTokens, 0);
    t.diagnostic(
      `4 calls, 2 in parallel: ${Math.round(ms)} ms, ${tokens} tokens, ${((tokens * 1000) / ms).toFixed(1)} tokens/s`,
    );
    assert.ok(new Set(replies.map((r) => r.text)).size >= 3, 'different sampleIndex => different samples');
    const cached = await completeAll(teacher, calls, params, { cache: new TeacherCache(dir), concurrency: 2 });
    assert.ok(cached.every((r) => r.cached));
    assert.deepEqual(
      cached.map((r) => r.text),
      replies.map((r) => r.text),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    await teacher.close();
  }
});
