/**
 * Teacher layer against the loopback fake teacher (tests/helpers/fake-teacher.ts, a test
 * double): OpenAI-compatible client, error mapping, persisted cache, completeAll.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { parseConfig } from '../../config/schema.js';
import type { SamplingParams } from '../../domain/types.js';
import {
  callSeed,
  completeAll,
  createTeacher,
  isRefusal,
  OpenAITeacher,
  TeacherCache,
  TeacherConfigError,
  TeacherUnavailableError,
  type Teacher,
  type TeacherCall,
} from '../../teacher/index.js';
import { startFakeTeacher, type FakeTeacher } from '../helpers/fake-teacher.js';

/** The replies of a batch, failing the test on a context-length refusal. */
async function settledReplies(outcomes: ReturnType<typeof completeAll>) {
  return (await outcomes).map((r) => {
    if (isRefusal(r)) throw new Error(`unexpected refusal: ${r.message}`);
    return r;
  });
}

const params: SamplingParams = { temperature: 0.9, topP: 0.95, maxTokens: 64 };

let fake: FakeTeacher;
let root: string;
let dir: string;

before(async () => {
  fake = await startFakeTeacher({ model: 'fake-model' });
  root = await mkdtemp(path.join(os.tmpdir(), 's3-teacher-'));
});
after(async () => {
  await fake.close();
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(root, 'cache-'));
  fake.mode = 'normal';
  fake.failNext(0);
});

function openai(overrides: Partial<ConstructorParameters<typeof OpenAITeacher>[0]> = {}): OpenAITeacher {
  return new OpenAITeacher({
    baseURL: fake.baseURL,
    model: 'fake-model',
    apiKeyEnv: 'S3_TEST_NO_SUCH_KEY',
    timeoutMs: 5000,
    maxRetries: 0,
    ...overrides,
  });
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('OpenAITeacher', () => {
  test('sends the sampling parameters and a seed derived from prompt + sampleIndex', async () => {
    const t = openai();
    const call = { prompt: 'Write a positive movie review.', sampleIndex: 3 };
    const before = fake.requests;
    const r = await t.complete(call, params);
    assert.equal(fake.requests, before + 1);
    const req = fake.requestLog.at(-1)!;
    assert.equal(req.prompt, call.prompt);
    assert.equal(req.seed, callSeed(call));
    assert.equal(req.temperature, 0.9);
    assert.equal(req.top_p, 0.95);
    assert.equal(req.max_tokens, 64);
    assert.match(r.text, /positive/);
    assert.equal(r.cached, false);
    assert.ok(r.promptTokens > 0 && r.completionTokens > 0);
    assert.equal(t.modelId, 'openai:fake-model');
  });

  test("a call's grammar travels as llama-server's `grammar` field; without one there is none", async () => {
    const t = openai();
    await t.complete({ prompt: 'Ask a question.', sampleIndex: 0, grammar: 'root ::= "Why?"' }, params);
    assert.equal(fake.requestLog.at(-1)!.grammar, 'root ::= "Why?"');
    await t.complete({ prompt: 'Ask a question.', sampleIndex: 1 }, params);
    assert.equal(fake.requestLog.at(-1)!.grammar, undefined);
  });

  test('different sampleIndex => different seed and text; same call => same text', async () => {
    const t = openai();
    const a = await t.complete({ prompt: 'Write a spam e-mail.', sampleIndex: 0 }, params);
    const b = await t.complete({ prompt: 'Write a spam e-mail.', sampleIndex: 1 }, params);
    const a2 = await t.complete({ prompt: 'Write a spam e-mail.', sampleIndex: 0 }, params);
    assert.notEqual(a.text, b.text);
    assert.equal(a.text, a2.text);
    assert.notEqual(callSeed({ prompt: 'p', sampleIndex: 0 }), callSeed({ prompt: 'p', sampleIndex: 1 }));
    // runs with different seeds sample the same prompt independently
    assert.notEqual(
      callSeed({ prompt: 'p', sampleIndex: 0, seed: 1 }),
      callSeed({ prompt: 'p', sampleIndex: 0, seed: 2 }),
    );
    const s1 = await t.complete({ prompt: 'Write a spam e-mail.', sampleIndex: 0, seed: 1 }, params);
    const s2 = await t.complete({ prompt: 'Write a spam e-mail.', sampleIndex: 0, seed: 2 }, params);
    assert.notEqual(s1.text, s2.text);
  });

  test('an unreachable server gives an error naming the base URL and ECONNREFUSED', async () => {
    const baseURL = `http://127.0.0.1:${await closedPort()}/v1`;
    const t = openai({ baseURL });
    await assert.rejects(t.complete({ prompt: 'x', sampleIndex: 0 }, params), (err: Error) => {
      assert.ok(err instanceof TeacherUnavailableError, String(err));
      assert.ok(err.message.includes(baseURL), err.message);
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    });
  });

  test('HTTP 404 (unknown model) and 401 (bad key) are TeacherConfigError', async () => {
    await assert.rejects(openai({ model: 'nope' }).complete({ prompt: 'x', sampleIndex: 0 }, params), (err: Error) => {
      assert.ok(err instanceof TeacherConfigError);
      assert.equal(err.name, 'TeacherConfigError');
      assert.equal((err as TeacherConfigError).status, 404);
      assert.ok(err.message.includes(fake.baseURL) && err.message.includes('"nope"'), err.message);
      return true;
    });
    const keyed = await startFakeTeacher({ apiKey: 'right-key' });
    try {
      process.env.S3_TEST_WRONG_KEY = 'wrong-key';
      const t = openai({ baseURL: keyed.baseURL, apiKeyEnv: 'S3_TEST_WRONG_KEY' });
      await assert.rejects(t.complete({ prompt: 'x', sampleIndex: 0 }, params), (err: Error) => {
        assert.ok(err instanceof TeacherConfigError);
        assert.equal((err as TeacherConfigError).status, 401);
        assert.ok(!err.message.includes('wrong-key'), 'the key must not appear in errors');
        return true;
      });
      process.env.S3_TEST_RIGHT_KEY = 'right-key';
      const ok = openai({ baseURL: keyed.baseURL, apiKeyEnv: 'S3_TEST_RIGHT_KEY' });
      assert.match((await ok.complete({ prompt: 'Write a ham e-mail.', sampleIndex: 0 }, params)).text, /ham/);
    } finally {
      delete process.env.S3_TEST_WRONG_KEY;
      delete process.env.S3_TEST_RIGHT_KEY;
      await keyed.close();
    }
  });

  test('HTTP 500 is transient and retried by the package (maxRetries)', async () => {
    fake.failNext(1, 500);
    const before = fake.requests;
    const r = await openai({ maxRetries: 2 }).complete({ prompt: 'Write a negative review.', sampleIndex: 0 }, params);
    assert.match(r.text, /negative/);
    assert.equal(fake.requests - before, 2, 'one failure + one successful retry');

    fake.mode = 'error500';
    await assert.rejects(openai().complete({ prompt: 'x', sampleIndex: 0 }, params), (err: Error) => {
      assert.ok(err instanceof TeacherUnavailableError);
      assert.equal((err as TeacherUnavailableError).status, 500);
      return true;
    });
  });

  test('a server that never answers times out with an error naming the URL', async () => {
    fake.mode = 'hang';
    const t = openai({ timeoutMs: 300 });
    await assert.rejects(t.complete({ prompt: 'x', sampleIndex: 0 }, params), (err: Error) => {
      assert.ok(err instanceof TeacherUnavailableError);
      assert.ok(err.message.includes(fake.baseURL) && /did not answer within 300 ms/.test(err.message), err.message);
      return true;
    });
  });

  test('an empty completion is returned as empty text (cleaning rejects it later)', async () => {
    fake.mode = 'empty';
    assert.equal((await openai().complete({ prompt: 'x', sampleIndex: 0 }, params)).text, '');
  });
});

describe('createTeacher', () => {
  test('builds an OpenAI teacher from the config', () => {
    const cfg = parseConfig({
      task: { labels: ['ham', 'spam'], source: { type: 'spamassassin' } },
      teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-model' },
    });
    const t = createTeacher(cfg.teacher, '/nonexistent.gguf');
    assert.ok(t instanceof OpenAITeacher);
    assert.equal(t.modelId, 'openai:fake-model');
  });

  test('llama-cpp with a missing model file => TeacherConfigError naming the path', () => {
    const cfg = parseConfig({ task: { labels: ['ham', 'spam'], source: { type: 'spamassassin' } } });
    assert.throws(
      () => createTeacher(cfg.teacher, '/nonexistent/dir/model.gguf'),
      (err: Error) => err instanceof TeacherConfigError && err.message.includes('/nonexistent/dir/model.gguf'),
    );
  });
});

describe('completeAll', () => {
  const calls = (n: number, prompt = 'Write a spam e-mail.'): TeacherCall[] =>
    Array.from({ length: n }, (_, i) => ({ prompt, sampleIndex: i }));

  test('a cache hit costs no second HTTP call, even from a new cache object', async () => {
    const t = openai();
    const call = { prompt: 'Write a ham e-mail about lunch.', sampleIndex: 7 };
    const first = await settledReplies(
      completeAll(t, [call], params, { cache: new TeacherCache(dir), concurrency: 1 }),
    );
    assert.equal(fake.requestsFor(call.prompt, callSeed(call)), 1);
    assert.equal(first[0].cached, false);

    const again = await settledReplies(
      completeAll(t, [call], params, { cache: new TeacherCache(dir), concurrency: 1 }),
    );
    assert.equal(fake.requestsFor(call.prompt, callSeed(call)), 1, 'served from the persisted cache');
    assert.equal(again[0].cached, true);
    assert.equal(again[0].text, first[0].text);
    assert.equal(again[0].completionTokens, first[0].completionTokens);

    // other sampling parameters are another call
    await settledReplies(
      completeAll(t, [call], { ...params, temperature: 0.5 }, { cache: new TeacherCache(dir), concurrency: 1 }),
    );
    assert.equal(fake.requestsFor(call.prompt, callSeed(call)), 2);
  });

  test('results in input order, concurrency bounded, progress after each call', async () => {
    const slow = await startFakeTeacher({ delayMs: 40 });
    try {
      const t = openai({ baseURL: slow.baseURL, model: 'any' });
      const progress: [number, number][] = [];
      const batch = calls(9);
      const replies = await settledReplies(
        completeAll(t, batch, params, {
          cache: new TeacherCache(dir),
          concurrency: 3,
          onProgress: (done, total) => progress.push([done, total]),
        }),
      );
      assert.equal(slow.maxInFlight, 3);
      assert.deepEqual(
        progress,
        batch.map((_, i) => [i + 1, 9]),
      );
      const direct = await Promise.all(
        batch.map((c) => openai({ baseURL: slow.baseURL, model: 'any' }).complete(c, params)),
      );
      assert.deepEqual(
        replies.map((r) => r.text),
        direct.map((r) => r.text),
      );
    } finally {
      await slow.close();
    }
  });

  test('order is kept whatever order calls finish in (in-process teacher)', async () => {
    const t: Teacher = {
      modelId: 'test:delays',
      async complete(call) {
        await new Promise((r) => setTimeout(r, (5 - call.sampleIndex) * 10));
        return { text: `#${call.sampleIndex}`, promptTokens: 1, completionTokens: 1, cached: false, ms: 1 };
      },
      async probe() {
        return { detail: 'test double' };
      },
      async close() {},
    };
    const replies = await settledReplies(
      completeAll(t, calls(5), params, { cache: new TeacherCache(dir), concurrency: 5 }),
    );
    assert.deepEqual(
      replies.map((r) => r.text),
      ['#0', '#1', '#2', '#3', '#4'],
    );
  });

  test('a failed call rejects the batch; finished calls are cached and not paid again', async () => {
    let n = 0;
    const t: Teacher = {
      modelId: 'test:flaky',
      async complete(call) {
        n++;
        await new Promise((r) => setTimeout(r, 5 * call.sampleIndex));
        if (call.sampleIndex === 2) throw new TeacherUnavailableError('boom');
        return { text: `#${call.sampleIndex}`, promptTokens: 1, completionTokens: 1, cached: false, ms: 1 };
      },
      async probe() {
        return { detail: 'test double' };
      },
      async close() {},
    };
    const batch = calls(8);
    await assert.rejects(completeAll(t, batch, params, { cache: new TeacherCache(dir), concurrency: 2 }), /boom/);
    const issued = n;
    assert.ok(issued < 8, `no new calls after the failure (issued ${issued})`);
    // calls 0, 1 and 3 (in flight next to the failure) finished and were cached before the rejection
    n = 0;
    const ok: Teacher = {
      ...t,
      async complete(c) {
        n++;
        return { text: `#${c.sampleIndex}`, promptTokens: 1, completionTokens: 1, cached: false, ms: 1 };
      },
    };
    const replies = await settledReplies(
      completeAll(ok, batch, params, { cache: new TeacherCache(dir), concurrency: 2 }),
    );
    assert.equal(replies.filter((r) => r.cached).length, issued - 1);
    assert.equal(n, 8 - (issued - 1));
  });

  test('abort stops issuing new calls and rejects with the reason', async () => {
    const ac = new AbortController();
    let n = 0;
    const t: Teacher = {
      modelId: 'test:abort',
      async complete(call) {
        n++;
        if (call.sampleIndex === 1) ac.abort(new Error('cancelled by test'));
        await new Promise((r) => setTimeout(r, 5));
        return { text: `#${call.sampleIndex}`, promptTokens: 1, completionTokens: 1, cached: false, ms: 1 };
      },
      async probe() {
        return { detail: 'test double' };
      },
      async close() {},
    };
    await assert.rejects(
      completeAll(t, calls(10), params, { cache: new TeacherCache(dir), concurrency: 2, signal: ac.signal }),
      /cancelled by test/,
    );
    assert.equal(n, 2);
  });

  test('chatty and garbage fake modes come through as raw text', async () => {
    const opts = () => ({ cache: new TeacherCache(dir), concurrency: 1 });
    fake.mode = 'chatty';
    const [r] = await settledReplies(completeAll(openai(), calls(1, 'Write a positive review.'), params, opts()));
    assert.match(r.text, /^Sure! Here is the text you asked for:\n\n"A \w+ positive text/);
    assert.match(r.text, /I hope this helps!$/);
    fake.mode = 'garbage';
    const [g] = await settledReplies(completeAll(openai(), calls(1, 'Write a negative review.'), params, opts()));
    assert.ok(!/negative/.test(g.text), g.text);
  });
});
