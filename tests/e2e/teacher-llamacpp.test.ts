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
  isRefusal,
  LlamaCppTeacher,
  TeacherCache,
  TeacherConfigError,
  TeacherContextLengthError,
  type TeacherReply,
} from '../../teacher/index.js';
import { QA_QUESTION_GRAMMAR, QUESTION_STARTS } from '../../tasks/qa.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [
  process.env.S3_TEACHER_MODEL,
  path.join(root, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf'),
  '/tmp/smol.gguf',
].filter((p): p is string => !!p);
const modelPath = candidates.find((p) => existsSync(p));
const skip = modelPath ? false : `no teacher GGUF found (looked at ${candidates.join(', ')}); run scripts/setup.sh`;
const params = { temperature: 0.9, topP: 0.95, maxTokens: 24 };

function reply(o: Awaited<ReturnType<typeof completeAll>>[number]): TeacherReply {
  assert.ok(!isRefusal(o), 'not refused');
  return o;
}

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
    const replies = (await completeAll(teacher, calls, params, { cache: new TeacherCache(dir), concurrency: 2 })).map(
      reply,
    );
    const ms = performance.now() - t0;
    const tokens = replies.reduce((s, r) => s + r.completionTokens, 0);
    t.diagnostic(
      `4 calls, 2 in parallel: ${Math.round(ms)} ms, ${tokens} tokens, ${((tokens * 1000) / ms).toFixed(1)} tokens/s`,
    );
    assert.ok(new Set(replies.map((r) => r.text)).size >= 3, 'different sampleIndex => different samples');
    const cached = (await completeAll(teacher, calls, params, { cache: new TeacherCache(dir), concurrency: 2 })).map(
      reply,
    );
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

test('countPromptTokens: the templated prompt, > 0 and growing with the prompt; probe loads', { skip }, async () => {
  const teacher = new LlamaCppTeacher({ modelPath: modelPath!, concurrency: 1, contextSize: 512 });
  try {
    assert.equal(teacher.contextTokens, 512);
    const probe = await teacher.probe({ timeoutMs: 60_000 });
    assert.match(probe.detail, /loaded in/);
    assert.equal(probe.contextTokens, 512);
    const short = await teacher.countPromptTokens('Hi.');
    const long = await teacher.countPromptTokens(
      'Hi. ' + 'Write a long and detailed email about cheap watches. '.repeat(10),
    );
    assert.ok(short > 5, `chat template + system prompt counted: ${short}`);
    assert.ok(long > short + 50, `${long} > ${short} + 50`);
    const r = await teacher.complete({ prompt: 'Hi.', sampleIndex: 0 }, { ...params, maxTokens: 2 });
    assert.equal(r.promptTokens, short, 'complete evaluates what countPromptTokens counts');
  } finally {
    await teacher.close();
  }
});

test(
  'a prompt over the context => TeacherContextLengthError with both numbers, nothing generated',
  { skip },
  async () => {
    const teacher = new LlamaCppTeacher({ modelPath: modelPath!, concurrency: 1, contextSize: 256 });
    try {
      const prompt = 'Summarize this text. ' + 'The quick brown fox jumps over the lazy dog. '.repeat(30);
      const tokens = await teacher.countPromptTokens(prompt);
      assert.ok(tokens > 256, `${tokens}`);
      await assert.rejects(
        teacher.complete({ prompt, sampleIndex: 0 }, params),
        (err: Error) =>
          err instanceof TeacherContextLengthError && err.promptTokens === tokens && err.contextTokens === 256,
      );
      // prompt alone fits, prompt + maxTokens does not
      const fits = 'Hello. '.repeat(20);
      const n = await teacher.countPromptTokens(fits);
      await assert.rejects(
        teacher.complete({ prompt: fits, sampleIndex: 0 }, { ...params, maxTokens: 256 - n + 1 }),
        TeacherContextLengthError,
      );
      const ok = await teacher.complete({ prompt: fits, sampleIndex: 0 }, { ...params, maxTokens: 4 });
      assert.ok(ok.completionTokens > 0);
    } finally {
      await teacher.close();
    }
  },
);

test('abort: a long generation stops at once with the signal reason; the sequence is reused', { skip }, async (t) => {
  const teacher = new LlamaCppTeacher({ modelPath: modelPath!, concurrency: 1 });
  try {
    const call = { prompt: 'Write a very long story about a dragon, with many chapters.', sampleIndex: 0 };
    const long = { temperature: 0.9, topP: 0.95, maxTokens: 400 };
    await teacher.probe();
    // how long the full generation takes (for the comparison below)
    const full = await teacher.complete(call, long);
    t.diagnostic(`full: ${full.completionTokens} tokens in ${full.ms} ms`);
    const ac = new AbortController();
    const reason = new Error('stop now');
    const t0 = performance.now();
    const p = teacher.complete(call, long, { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 150);
    await assert.rejects(p, (err) => err === reason);
    const ms = performance.now() - t0;
    t.diagnostic(`aborted after ${Math.round(ms)} ms`);
    assert.ok(ms < 150 + Math.max(500, full.ms / 4), `aborted in ${Math.round(ms)} ms (full call ${full.ms} ms)`);
    // an already-aborted signal rejects before anything runs; the sequence was given back
    await assert.rejects(teacher.complete(call, long, { signal: AbortSignal.abort(reason) }), (err) => err === reason);
    const after = await teacher.complete(call, { ...long, maxTokens: 8 });
    assert.ok(after.completionTokens > 0);
  } finally {
    await teacher.close();
  }
});

test(
  'grammar: replies follow the GBNF of a QA question; an invalid grammar is a TeacherConfigError',
  { skip },
  async () => {
    const teacher = new LlamaCppTeacher({ modelPath: modelPath!, concurrency: 2, threads: os.availableParallelism() });
    try {
      const context =
        'The Hoppings funfair, said to be the largest travelling funfair in Europe, is held on the Town Moor annually in June.';
      const prompt = `Given a context: ${context} \nthe Town Moor is the answer to the following question:`;
      const long = { temperature: 0.9, topP: 0.95, maxTokens: 64 };
      const starts = QUESTION_STARTS.map((w) => w.replace(/ /g, '\\s')).join('|');
      const form = new RegExp(`^(?:${starts}) [^?\\n]{2,120}\\?$`);
      const replies = await Promise.all(
        [0, 1, 2, 3].map((i) => teacher.complete({ prompt, sampleIndex: i, grammar: QA_QUESTION_GRAMMAR }, long)),
      );
      // a reply is a question of the grammar, or (cut at maxTokens) a prefix of one without "?"
      for (const r of replies)
        assert.ok(
          form.test(r.text) || (r.completionTokens >= long.maxTokens && !r.text.includes('?')),
          JSON.stringify(r.text),
        );
      assert.ok(
        replies.some((r) => form.test(r.text)),
        'at least one finished question',
      );
      await assert.rejects(
        teacher.complete({ prompt, sampleIndex: 0, grammar: 'root ::= (' }, long),
        (err: Error) => err instanceof TeacherConfigError && /invalid teacher grammar/.test(err.message),
      );
    } finally {
      await teacher.close();
    }
  },
);
