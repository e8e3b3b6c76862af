/**
 * The worker's shared teacher layer (teacher/pool.ts, teacher/queue.ts), with in-process
 * test-double teachers and the loopback fake teacher: fair queue, in-flight de-duplication,
 * abort of stale attempts, per-call deadlines and retries, one backend per model, redaction.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../config/schema.js';
import type { SamplingParams } from '../../domain/types.js';
import {
  completeAll,
  createTeacher,
  FairQueue,
  isRefusal,
  OpenAITeacher,
  redactSecrets,
  TeacherBackend,
  TeacherCache,
  TeacherConfigError,
  TeacherContextLengthError,
  TeacherPool,
  TeacherTimeoutError,
  type Teacher,
  type TeacherCall,
} from '../../teacher/index.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';

const params: SamplingParams = { temperature: 0.9, topP: 0.95, maxTokens: 32 };
let root: string;
before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 's3-pool-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});
const cache = async () => new TeacherCache(await mkdtemp(path.join(root, 'c-')));

/** TEST DOUBLE: an in-process teacher answering after `ms`, honouring the abort signal, counting calls. */
function slowTeacher(ms: number, modelId = 'test:slow') {
  const stats = { started: 0, finished: 0, aborted: 0 };
  const teacher: Teacher = {
    modelId,
    async complete(call, p, opts) {
      stats.started++;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        opts?.signal?.addEventListener('abort', () => {
          clearTimeout(t);
          stats.aborted++;
          reject(opts.signal!.reason);
        });
      });
      stats.finished++;
      return {
        text: `${call.prompt}#${call.sampleIndex}@${p.maxTokens}`,
        promptTokens: 3,
        completionTokens: 2,
        cached: false,
        ms,
      };
    },
    async probe() {
      return { detail: 'test double' };
    },
    async close() {},
  };
  return { teacher, stats };
}

const callsOf = (n: number, prompt = 'p'): TeacherCall[] =>
  Array.from({ length: n }, (_, i) => ({ prompt, sampleIndex: i }));

describe('FairQueue', () => {
  test('bounds the jobs in flight and serves waiting clients in turn', async () => {
    const q = new FairQueue(1);
    const order: string[] = [];
    let maxActive = 0;
    const job = (name: string) => async () => {
      maxActive = Math.max(maxActive, q.active);
      order.push(name);
      await new Promise((r) => setTimeout(r, 2));
    };
    // client A queues 4 jobs first, then B 2: B must not wait for all of A's
    await Promise.all([
      ...['a1', 'a2', 'a3', 'a4'].map((n) => q.run('A', job(n))),
      ...['b1', 'b2'].map((n) => q.run('B', job(n))),
    ]);
    assert.equal(maxActive, 1);
    assert.deepEqual(order, ['a1', 'a2', 'b1', 'a3', 'b2', 'a4']);
  });

  test('a waiting job whose signal aborts is dropped, the others run', async () => {
    const q = new FairQueue(1);
    const ac = new AbortController();
    const ran: string[] = [];
    const first = q.run('A', async () => {
      ac.abort(new Error('gone'));
      ran.push('first');
    });
    const dropped = q.run('B', async () => void ran.push('dropped'), ac.signal);
    const third = q.run('C', async () => void ran.push('third'));
    await first;
    await assert.rejects(dropped, /gone/);
    await third;
    assert.deepEqual(ran, ['first', 'third']);
  });
});

describe('TeacherBackend', () => {
  test('a second request for a call in flight waits for it instead of paying again (stale attempt + new attempt)', async () => {
    const { teacher, stats } = slowTeacher(60);
    const backend = new TeacherBackend(teacher, 2);
    const c = await cache();
    const opts = { cache: c, client: 'wf', callTimeoutMs: 5000, maxRetries: 0 };
    const [a, b] = await Promise.all([
      backend.call({ prompt: 'x', sampleIndex: 0 }, params, opts),
      backend.call({ prompt: 'x', sampleIndex: 0 }, params, { ...opts, client: 'other-wf' }),
    ]);
    assert.equal(stats.started, 1, 'paid once');
    assert.equal(a.text, b.text);
    assert.equal(a.cached, false);
    assert.equal(b.cached, true, 'the joiner did not pay');
    assert.equal(backend.stats.joined, 1);
  });

  test('cancelling the only waiter aborts its call at once; another waiter keeps it alive', async () => {
    const { teacher, stats } = slowTeacher(2000);
    const backend = new TeacherBackend(teacher, 2);
    const c = await cache();
    const stale = new AbortController();
    const t0 = Date.now();
    const p = backend.call({ prompt: 'y', sampleIndex: 0 }, params, {
      cache: c,
      client: 'wf',
      callTimeoutMs: 10_000,
      maxRetries: 0,
      signal: stale.signal,
    });
    await new Promise((r) => setTimeout(r, 50));
    stale.abort(new Error('attempt cancelled'));
    await assert.rejects(p, /attempt cancelled/);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(stats.aborted, 1, 'the call was aborted');
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(backend.inFlight, 0);

    // two waiters, one cancels: the call goes on for the other
    const { teacher: t2, stats: s2 } = slowTeacher(100);
    const b2 = new TeacherBackend(t2, 1);
    const gone = new AbortController();
    const base = { cache: c, client: 'wf', callTimeoutMs: 10_000, maxRetries: 0 };
    const p1 = b2.call({ prompt: 'z', sampleIndex: 0 }, params, { ...base, signal: gone.signal });
    const p2 = b2.call({ prompt: 'z', sampleIndex: 0 }, params, base);
    gone.abort(new Error('one left'));
    await assert.rejects(p1, /one left/);
    assert.match((await p2).text, /^z#0/);
    assert.equal(s2.aborted, 0);
    assert.equal(s2.started, 1);
  });

  test('an attempt past its deadline is retried with backoff, counted, and fails with TeacherTimeoutError when retries run out', async () => {
    const { teacher, stats } = slowTeacher(5000);
    const backend = new TeacherBackend(teacher, 1);
    const t0 = Date.now();
    await assert.rejects(
      backend.call({ prompt: 't', sampleIndex: 0 }, params, {
        cache: await cache(),
        client: 'wf',
        callTimeoutMs: 100,
        maxRetries: 1,
      }),
      (err: Error) =>
        err instanceof TeacherTimeoutError && /within 100 ms/.test(err.message) && /2 attempt/.test(err.message),
    );
    assert.equal(stats.started, 2);
    assert.equal(backend.stats.timeouts, 2);
    assert.equal(backend.stats.retries, 1);
    assert.ok(Date.now() - t0 < 3000, `bounded: ${Date.now() - t0} ms`);
  });

  test('a context-length refusal costs only its call: completeAll returns it in its slot', async () => {
    const teacher: Teacher = {
      modelId: 'test:ctx',
      async complete(call) {
        if (call.prompt.length > 10) throw new TeacherContextLengthError('too long');
        return { text: 'ok', promptTokens: 1, completionTokens: 1, cached: false, ms: 1 };
      },
      async probe() {
        return { detail: 'test double' };
      },
      async close() {},
    };
    const out = await completeAll(
      teacher,
      [
        { prompt: 'short', sampleIndex: 0 },
        { prompt: 'much too long prompt', sampleIndex: 0 },
      ],
      params,
      {
        cache: await cache(),
        concurrency: 2,
      },
    );
    assert.equal(isRefusal(out[0]), false);
    assert.equal(isRefusal(out[1]), true);
  });
});

describe('TeacherPool', () => {
  test('one backend (one loaded model) per model, whatever the sampling parameters', () => {
    let created = 0;
    const pool = new TeacherPool({
      defaultModelPath: '/models/x.gguf',
      create: () => {
        created++;
        return slowTeacher(1).teacher;
      },
    });
    const cfg = (teacher: Record<string, unknown>) =>
      parseConfig({ task: { labels: ['a', 'b'], source: { type: 'spamassassin' } }, teacher }).teacher;
    const a = pool.backend(cfg({ maxTokens: 32 }));
    const b = pool.backend(cfg({ maxTokens: 200, temperature: 0.2, topP: 0.5 }));
    const c = pool.backend(cfg({ concurrency: 4 }));
    assert.equal(a, b);
    assert.equal(a, c);
    assert.equal(created, 1);
    pool.backend(cfg({ modelPath: '/models/other.gguf' }));
    pool.backend(cfg({ provider: 'openai', baseURL: 'http://127.0.0.1:1/v1', model: 'm' }));
    assert.equal(created, 3);
    assert.equal(pool.backends.length, 3);
  });

  test('five workflows with different maxTokens share one backend and pay each distinct call once', async () => {
    const { teacher, stats } = slowTeacher(5);
    const pool = new TeacherPool({ defaultModelPath: '/m.gguf', create: () => teacher });
    const c = await cache();
    const cfg = parseConfig({ task: { labels: ['a', 'b'], source: { type: 'spamassassin' } } }).teacher;
    await Promise.all(
      [16, 24, 32, 48, 64].map((maxTokens, i) =>
        completeAll(
          pool.backend(cfg),
          callsOf(6, 'shared prompt'),
          { ...params, maxTokens },
          { cache: c, client: `wf-${i}` },
        ),
      ),
    );
    assert.equal(pool.backends.length, 1);
    assert.equal(stats.started, 30, '5 × 6 distinct calls (maxTokens is part of the call)');
    // the same five again (a resumed experiment): nothing paid
    await Promise.all(
      [16, 24, 32, 48, 64].map((maxTokens, i) =>
        completeAll(
          pool.backend(cfg),
          callsOf(6, 'shared prompt'),
          { ...params, maxTokens },
          { cache: c, client: `wf-${i}` },
        ),
      ),
    );
    assert.equal(stats.started, 30);
  });
});

describe('OpenAI provider against the fake teacher (test double)', () => {
  test('an endpoint echoing the Authorization header: the key never appears in the error', async () => {
    const fake = await startFakeTeacher({ echoAuth: true });
    process.env.S3_TEST_SECRET_KEY = 'sk-test-0123456789abcdefSECRET';
    try {
      const t = new OpenAITeacher({
        baseURL: fake.baseURL,
        model: 'm',
        apiKeyEnv: 'S3_TEST_SECRET_KEY',
        timeoutMs: 5000,
      });
      for (const attempt of [() => t.probe(), () => t.complete({ prompt: 'x', sampleIndex: 0 }, params)])
        await assert.rejects(attempt(), (err: Error) => {
          assert.ok(err instanceof TeacherConfigError, String(err));
          assert.equal((err as TeacherConfigError).status, 401);
          assert.ok(!err.message.includes('0123456789abcdef'), err.message);
          assert.ok(!JSON.stringify(err).includes('0123456789abcdef'));
          assert.equal(err.cause, undefined, 'no unfiltered cause attached');
          assert.match(err.message, /\[redacted\]/);
          return true;
        });
    } finally {
      delete process.env.S3_TEST_SECRET_KEY;
      await fake.close();
    }
  });

  test('a context-length 400 (llama-server wording) is a TeacherContextLengthError, not a config error', async () => {
    const fake = await startFakeTeacher({ contextChars: 50 });
    try {
      const t = new OpenAITeacher({ baseURL: fake.baseURL, model: 'm', apiKeyEnv: 'S3_TEST_NO_KEY', timeoutMs: 5000 });
      await assert.rejects(t.complete({ prompt: 'x'.repeat(80), sampleIndex: 0 }, params), TeacherContextLengthError);
      assert.equal((await t.complete({ prompt: 'short', sampleIndex: 0 }, params)).cached, false);
    } finally {
      await fake.close();
    }
  });

  test('probe: a model the endpoint does not list is a config error; an unreachable endpoint is unavailable', async () => {
    const fake = await startFakeTeacher({ model: 'served-model' });
    try {
      const wrong = new OpenAITeacher({
        baseURL: fake.baseURL,
        model: 'other',
        apiKeyEnv: 'S3_TEST_NO_KEY',
        timeoutMs: 5000,
      });
      await assert.rejects(
        wrong.probe(),
        (e: Error) => e instanceof TeacherConfigError && /does not serve model "other"/.test(e.message),
      );
      const right = new OpenAITeacher({
        baseURL: fake.baseURL,
        model: 'served-model',
        apiKeyEnv: 'S3_TEST_NO_KEY',
        timeoutMs: 5000,
      });
      assert.match((await right.probe()).detail, /answered/);
      assert.equal(fake.requests, 0, 'the probe pays for no completion');
    } finally {
      await fake.close();
    }
    const cfg = parseConfig({
      task: { labels: ['a', 'b'], source: { type: 'spamassassin' } },
      teacher: { provider: 'openai', baseURL: 'http://127.0.0.1:9/v1', model: 'm' },
    });
    await assert.rejects(createTeacher(cfg.teacher, '/x.gguf').probe({ timeoutMs: 2000 }), /unreachable/);
  });
});

test('redactSecrets removes bearer tokens, sk- keys, key assignments and literal secrets', () => {
  const s = redactSecrets('401: Bearer abc.def-123 and sk-proj-XYZ12345 api_key=hunter2hunter and mysecretvalue', [
    'mysecretvalue',
  ]);
  assert.ok(!/abc\.def|XYZ12345|hunter2|mysecretvalue/.test(s), s);
});
