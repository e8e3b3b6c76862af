/**
 * Crash tests: the worker process is killed with SIGKILL inside each kind of activity that
 * lasts long enough to be hit (rationales, seed, EES, training; the report takes milliseconds
 * and heartbeats the same way as training); a new worker process takes over and the run
 * completes with the same final dataset as an uninterrupted run, without any finished teacher
 * call being paid for twice (counted at the fake teacher, a loopback test double). Every
 * activity heartbeats on a timer, so the new worker retries the interrupted one within
 * heartbeatSec instead of waiting for its start-to-close timeout.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { S3Result } from '../../workflows/types.js';
import { startFakeTeacher, type FakeRequest, type FakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { startDevServer, spawnWorker } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-crash-test';
let env: TestWorkflowEnvironment;
const workers: ChildProcess[] = [];
// a large gold test split makes training + scoring take long enough to be killed inside
const gold = writeGoldTask({ validation: 40, test: 6000 });

const startWorker = () => spawnWorker(env.address, TASK_QUEUE, workers);

let worker: ChildProcess;
let reference: { result: S3Result; answered: number };

before(async () => {
  env = await startDevServer();
  worker = await startWorker();
  const refFake = await startFakeTeacher({ delayMs: 20 });
  reference = { result: await start(refFake, 'crash-reference').result(), answered: 0 };
  reference.answered = refFake.answered;
  await refFake.close();
});

after(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await env.teardown();
});

function start(fake: FakeTeacher, runId: string) {
  const config = fakeRunConfig(gold, fake.baseURL, {
    runId,
    seedSize: 20,
    rounds: 2,
    concurrency: 1, // one call in flight: a kill on a request always lands inside a known call
    heartbeatSec: 3,
    cacheDir: path.join(gold.dir, `cache-${runId}`),
  });
  const handle = env.client.workflow.start('s3Synthesis', { taskQueue: TASK_QUEUE, workflowId: runId, args: [config] });
  return { handle, result: async () => (await (await handle).result()) as S3Result };
}

async function killWorker(): Promise<void> {
  const dead = worker;
  dead.kill('SIGKILL');
  // killed by a signal, a process keeps exitCode null: an 'exit' already emitted would never come again
  if (dead.exitCode === null && dead.signalCode === null) await new Promise((r) => dead.once('exit', r));
}

/** Runs one crashed run: `armed` decides when to kill (on a teacher request, or by polling the workflow). */
async function crashedRun(
  runId: string,
  trigger: { onRequest: (r: FakeRequest) => boolean } | { activity: string },
): Promise<void> {
  let killed: { answered: number; activity: string } | undefined;
  /** the call in flight when the kill landed (its key as answeredTwice names it): the killed
   * worker never received its answer, so it is not a finished call; whether the fake's write
   * still got out before the socket closed is a race in the kernel, not the product's doing */
  let interrupted: string | undefined;
  const fake: FakeTeacher = await startFakeTeacher({
    delayMs: 150,
    onRequest: (r) => {
      if (!killed && 'onRequest' in trigger && trigger.onRequest(r)) {
        killed = { answered: fake.answered, activity: 'teacher call' };
        interrupted = JSON.stringify([r.prompt, r.seed ?? null]);
        worker.kill('SIGKILL');
      }
    },
  });
  try {
    const run = start(fake, runId);
    const handle = await run.handle;
    if ('activity' in trigger) {
      // poll until the activity is running on the worker, then kill it
      for (let i = 0; i < 6000 && !killed; i++) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const p = pending.find((a) => a.activityType?.name === trigger.activity && a.state === 2 /* STARTED */);
        if (p) {
          killed = { answered: fake.answered, activity: trigger.activity };
          worker.kill('SIGKILL');
        } else await new Promise((r) => setTimeout(r, 10));
      }
    } else while (!killed) await new Promise((r) => setTimeout(r, 20));
    assert.ok(killed, `the kill never landed inside ${JSON.stringify(trigger)}`);
    await killWorker();
    worker = await startWorker(); // "restart the worker; nothing else"
    const t0 = Date.now();
    const crashed = await run.result();
    console.log(
      `${runId}: killed inside ${killed.activity} after ${killed.answered} answered calls; recovered in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `answered ${fake.answered} (reference ${reference.answered}), aborted by the kill ${fake.aborted}`,
    );
    assert.deepEqual(
      fake.answeredTwice().filter((k) => k !== interrupted),
      [],
      'a finished teacher call was paid for twice',
    );
    const again = interrupted !== undefined && fake.answeredTwice().includes(interrupted) ? 1 : 0;
    assert.equal(
      fake.answered,
      reference.answered + again,
      'the crashed run paid for as many calls as the uninterrupted one (plus the interrupted call, if its answer got out)',
    );
    assert.equal(
      crashed.dataset.sha256,
      reference.result.dataset.sha256,
      'the final dataset differs from the uninterrupted run',
    );
    assert.deepEqual(
      crashed.rounds.map((r) => r.test.accuracy),
      reference.result.rounds.map((r) => r.test.accuracy),
    );
  } finally {
    await fake.close();
    if (worker.exitCode !== null) worker = await startWorker(); // the next test needs a live worker
  }
}

const nth = (n: number, re: RegExp) => {
  let seen = 0;
  return (r: FakeRequest) => re.test(r.prompt) && ++seen === n;
};

test('SIGKILL inside the rationales activity', () => crashedRun('crash-rationales', { onRequest: nth(2, /reasons/) }));
test('SIGKILL inside the seed activity', () => crashedRun('crash-seed', { onRequest: nth(5, /Now imagine/) }));
test('SIGKILL inside an EES round', () => crashedRun('crash-ees', { onRequest: nth(3, /similar to/) }));
test('SIGKILL inside training', () => crashedRun('crash-train', { activity: 'trainAndEvaluate' }));
