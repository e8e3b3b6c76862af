/**
 * Reliability under slow, failing, hostile and hanging teachers (issue: "no call paid twice,
 * no stale attempts, no silent truncation, no leaks"). A real local Temporal dev server, one
 * in-process worker, and the loopback fake teacher (a test double: tests/helpers/fake-teacher.ts)
 * with fault injection.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { S3ConfigInput } from '../../config/schema.js';
import { SyntheticExampleSchema } from '../../domain/types.js';
import type { TeacherPool } from '../../teacher/index.js';
import { describeFailure } from '../../scripts/progress.js';
import { createWorker } from '../../workers/worker.js';
import type { S3Result } from '../../workflows/types.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { scheduledActivities, startDevServer } from '../helpers/temporal.js';

const { EventType } = proto.temporal.api.enums.v1;
const TASK_QUEUE = 's3-reliability-test';
let env: TestWorkflowEnvironment;
let worker: Worker;
let teachers: TeacherPool;
let running: Promise<void>;
const gold = writeGoldTask({ validation: 30, test: 40 });

before(async () => {
  env = await startDevServer();
  ({ worker, teachers } = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue: TASK_QUEUE,
    maxActivities: 8,
  }));
  running = worker.run();
});

after(async () => {
  worker.shutdown();
  await running;
  await teachers.close();
  await env.teardown();
});

type Over = Parameters<typeof fakeRunConfig>[2] & {
  teacher?: Record<string, unknown>;
  synthesis?: Record<string, unknown>;
};

function config(fake: { baseURL: string }, over: Over, g: typeof gold = gold): S3ConfigInput {
  const c = fakeRunConfig(g, fake.baseURL, over) as S3ConfigInput & Record<string, Record<string, unknown>>;
  c.teacher = { ...c.teacher, ...over.teacher };
  c.synthesis = { ...c.synthesis, ...over.synthesis };
  return c;
}

async function run(c: S3ConfigInput) {
  const handle = await env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: c.runId!,
    args: [c],
  });
  let result: S3Result | undefined;
  let error: unknown;
  try {
    result = (await handle.result()) as S3Result;
  } catch (err) {
    error = err;
  }
  const history = await handle.fetchHistory();
  const timeouts = (history.events ?? []).filter(
    (e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  ).length;
  return { result, error, history, timeouts, activities: scheduledActivities(history) };
}

/** The root failure of a failed workflow: { type, message } of the ApplicationFailure. */
function rootCause(err: unknown): { type?: string; message: string; nonRetryable?: boolean } {
  assert.ok(err instanceof WorkflowFailedError, `expected a failed workflow, got ${String(err)}`);
  let e: unknown = err.cause;
  while ((e as { cause?: unknown })?.cause) e = (e as { cause: unknown }).cause;
  return e as { type?: string; message: string; nonRetryable?: boolean };
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

test('a teacher slower than the heartbeat timeout: the run completes, every call answered exactly once, no heartbeat timeout', async () => {
  const fake = await startFakeTeacher({ delayMs: 3500 });
  try {
    const c = config(fake, { runId: 'slow', seedSize: 4, rounds: 1, concurrency: 2, heartbeatSec: 2 });
    c.synthesis = { ...c.synthesis, maxPerRound: 2 };
    const t0 = Date.now();
    const { result, error, timeouts } = await run(c);
    assert.equal(error, undefined, String(error));
    console.log(
      `slow teacher: ${fake.requests} requests, ${fake.answered} answered, ${fake.aborted} aborted, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    assert.ok(result!.dataset.count > 0);
    assert.equal(timeouts, 0, 'no activity timed out');
    assert.deepEqual(fake.answeredTwice(), [], 'no call paid twice');
    assert.equal(fake.requests, fake.answered, 'every request answered once, none abandoned by a stale attempt');
    assert.ok(fake.maxInFlight <= 2, `at most teacher.concurrency calls in flight (saw ${fake.maxInFlight})`);
  } finally {
    await fake.close();
  }
});

test('a hanging endpoint fails the run with a clear timeout error in bounded time, before any synthesis', async () => {
  const fake = await startFakeTeacher({ mode: 'hang' });
  try {
    const t0 = Date.now();
    const { error, activities } = await run(config(fake, { runId: 'hang', teacher: { timeoutMs: 1500 } }));
    const s = (Date.now() - t0) / 1000;
    const cause = rootCause(error);
    assert.equal(cause.type, 'TeacherUnavailable');
    assert.match(cause.message, /did not answer within 1500 ms/);
    assert.ok(s < 30, `failed after ${s} s`);
    assert.deepEqual(activities, ['prepareTask']);
  } finally {
    await fake.close();
  }
});

test('an unreachable endpoint fails in under 30 s, non-retryable, before any synthesis', async () => {
  const port = await closedPort();
  const t0 = Date.now();
  const { error, activities } = await run(config({ baseURL: `http://127.0.0.1:${port}/v1` }, { runId: 'unreachable' }));
  const s = (Date.now() - t0) / 1000;
  const cause = rootCause(error);
  assert.equal(cause.type, 'TeacherUnavailable');
  assert.match(cause.message, /unreachable.*ECONNREFUSED/);
  assert.ok(s < 30, `failed after ${s} s`);
  assert.deepEqual(activities, ['prepareTask']);
  // what `s3 start` prints: the activity, the error type and message, the next step
  const printed = describeFailure(error, { runId: 'unreachable', cacheDir: '.s3-cache' });
  assert.match(printed, /failed in activity prepareTask: TeacherUnavailable: teacher preflight failed: .*unreachable/);
  assert.match(printed, /same run id \("unreachable"\)/);
  assert.match(printed, /will not be paid for again/);
});

test('20% injected 429 / 500 / unanswered calls: the run completes with the same dataset as a clean run', async () => {
  const clean = await startFakeTeacher();
  const faulty = await startFakeTeacher({ faultRate: 0.2, faultSeed: 3 });
  try {
    const over = { seedSize: 30, rounds: 1, concurrency: 3, teacher: { timeoutMs: 1000, maxRetries: 8 } };
    const a = await run(
      config(clean, { ...over, runId: 'faults-clean', cacheDir: path.join(gold.dir, 'cache-clean') }),
    );
    const b = await run(config(faulty, { ...over, runId: 'faults', cacheDir: path.join(gold.dir, 'cache-faulty') }));
    assert.equal(b.error, undefined, String(b.error));
    const f = faulty.faults;
    console.log(`faults injected: ${JSON.stringify(f)} of ${faulty.requests} requests`);
    assert.ok(f.status429 > 0 && f.status500 > 0 && f.hung > 0, 'every fault kind was injected');
    assert.equal(b.result!.dataset.sha256, a.result!.dataset.sha256, 'same dataset as the clean run');
    assert.deepEqual(faulty.answeredTwice(), [], 'no call paid twice');
    assert.equal(faulty.answered, clean.answered, 'as many paid calls as the clean run');
  } finally {
    await clean.close();
    await faulty.close();
  }
});

test('an endpoint echoing the Authorization header in its 401: no key in history or the run directory', async () => {
  const fake = await startFakeTeacher({ echoAuth: true });
  const secret = 'sk-live-s3test-9f8e7d6c5b4a39281706';
  process.env.S3_TEST_LEAKY_KEY = secret;
  try {
    const c = config(fake, { runId: 'leaky', teacher: { apiKeyEnv: 'S3_TEST_LEAKY_KEY' } });
    const { error, history, activities } = await run(c);
    const cause = rootCause(error);
    assert.equal(cause.type, 'InvalidInput');
    assert.match(cause.message, /HTTP 401/);
    assert.deepEqual(activities, ['prepareTask']);
    const text = JSON.stringify(history);
    assert.ok(!text.includes(secret) && !text.includes('9f8e7d6c5b4a'), 'the key is in history');
    const runDir = path.join(gold.dir, 'runs', 'leaky');
    for (const f of walk(runDir)) assert.ok(!readFileSync(f, 'utf8').includes('9f8e7d6c5b4a'), `the key is in ${f}`);
  } finally {
    delete process.env.S3_TEST_LEAKY_KEY;
    await fake.close();
  }
});

test('a context-length 400 for long EES prompts costs no run: the example is shortened (recorded) and asked once more', async () => {
  // gold texts of ~700 characters: every T_mis prompt exceeds the fake's 500-character context
  const long = writeGoldTask({ validation: 30, test: 40, seed: 11 });
  const pad = (t: string) => `${t} ${'and then the day went on as usual '.repeat(20)}`.trim();
  for (const f of [long.validation, long.test])
    writeFileSync(
      f,
      readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const r = JSON.parse(l);
          return JSON.stringify({ ...r, text: pad(r.text) });
        })
        .join('\n') + '\n',
    );
  const fake = await startFakeTeacher({ contextChars: 500 });
  try {
    const { result, error } = await run(config(fake, { runId: 'ctx', seedSize: 10, rounds: 1 }, long));
    assert.equal(error, undefined, String(error));
    const rows = readFileSync(result!.dataset.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => SyntheticExampleSchema.parse(JSON.parse(l)));
    const ees = rows.filter((r) => r.provenance.origin === 'ees');
    assert.ok(ees.length > 0, 'EES examples were kept');
    for (const r of ees) {
      assert.equal(r.provenance.promptTruncated?.reason, 'context_length');
      assert.ok(r.provenance.promptTruncated!.keptChars < r.provenance.promptTruncated!.fromChars);
      assert.ok(r.provenance.prompt.length <= 500);
    }
    const rejected = readFileSync(path.join(result!.runDir, 'synthetic', 'ees-round-1.rejected.jsonl'), 'utf8');
    assert.match(rejected, /"reason":"context_length"/);
    assert.ok(
      result!.warnings.some((w) => /shortened to fit/.test(w)),
      JSON.stringify(result!.warnings),
    );
  } finally {
    await fake.close();
  }
});

test('five concurrent workflows with different maxTokens on one worker: one teacher backend, no heartbeat timeout', async () => {
  const fake = await startFakeTeacher({ delayMs: 300 });
  try {
    const before = teachers.backends.length;
    const runs = await Promise.all(
      [24, 32, 48, 64, 96].map((maxTokens, i) =>
        run(
          config(fake, {
            runId: `five-${i}`,
            seedSize: 6,
            rounds: 1,
            concurrency: 2,
            heartbeatSec: 2,
            cacheDir: path.join(gold.dir, 'cache-five'),
            teacher: { maxTokens },
          }),
        ),
      ),
    );
    for (const r of runs) {
      assert.equal(r.error, undefined, String(r.error));
      assert.equal(r.timeouts, 0);
    }
    assert.equal(teachers.backends.length - before, 1, 'one backend for all five runs');
    assert.ok(fake.maxInFlight <= 2, `the shared queue kept ≤ 2 calls in flight (saw ${fake.maxInFlight})`);
    // the same prompt with another maxTokens is another call: count paid calls against the runs' own usage
    const paid = runs.reduce((n, r) => n + r.result!.usage.calls - r.result!.usage.cachedCalls, 0);
    assert.equal(fake.answered, paid, 'each call the runs paid for was answered once');
    assert.equal(fake.requests, fake.answered, 'no request abandoned');
  } finally {
    await fake.close();
  }
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
