/**
 * Crash test: the worker process is killed with SIGKILL in the middle of an EES round; a new
 * worker process takes over and the run completes with the same final dataset as an
 * uninterrupted run, and without any finished teacher call being paid for twice (counted at
 * the fake teacher, a loopback test double).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../activities/run.js';
import type { S3Result } from '../workflows/types.js';
import { startFakeTeacher, type FakeTeacher } from './helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from './helpers/fixtures.js';
import { startDevServer } from './helpers/temporal.js';

const TASK_QUEUE = 's3-crash-test';
let env: TestWorkflowEnvironment;
const workers: ChildProcess[] = [];

/** Starts `workers/worker.ts` as a separate OS process, resolved once it polls its task queue. */
function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, S3_TASK_QUEUE: TASK_QUEUE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('s3-synth worker on')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting:\n${out}`)));
  });
}

before(async () => {
  env = await startDevServer();
});

after(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await env.teardown();
});

async function run(fake: FakeTeacher, gold: ReturnType<typeof writeGoldTask>, runId: string): Promise<S3Result> {
  const config = fakeRunConfig(gold, fake.baseURL, {
    runId,
    seedSize: 20,
    rounds: 2,
    concurrency: 1, // one call in flight: the kill always lands inside a known call
    heartbeatSec: 3,
    cacheDir: path.join(gold.dir, `cache-${runId}`),
  });
  const handle = await env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: runId,
    args: [config],
  });
  return (await handle.result()) as S3Result;
}

test('SIGKILL of the worker during an EES round: a new worker finishes the run, same dataset, no call paid twice', async () => {
  const gold = writeGoldTask({ validation: 40, test: 60 });

  // reference: the same run, uninterrupted
  const refFake = await startFakeTeacher({ delayMs: 20 });
  let worker = await spawnWorker();
  const reference = await run(refFake, gold, 'crash-reference');
  await refFake.close();

  // the crashed run: kill the worker while the 3rd EES teacher call of round 1 is in flight
  let eesCalls = 0;
  let killedAt = -1;
  const fake = await startFakeTeacher({
    delayMs: 150,
    onRequest: (r) => {
      if (killedAt < 0 && r.prompt.includes('similar to') && ++eesCalls === 3) {
        killedAt = fake.answered;
        worker.kill('SIGKILL');
      }
    },
  });
  const result = run(fake, gold, 'crash-run');
  while (killedAt < 0) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => worker.once('exit', r));
  worker = await spawnWorker(); // "restart the worker; nothing else"
  const crashed = await result;
  await fake.close();

  console.log(
    `crash test: killed after ${killedAt} answered calls; total answered ${fake.answered}, aborted by the kill ${fake.aborted}, ` +
      `reference run answered ${refFake.answered}`,
  );
  assert.ok(fake.aborted >= 1, 'the kill interrupted a call in flight');
  assert.deepEqual(fake.answeredTwice(), [], 'a finished teacher call was paid for twice');
  assert.equal(fake.answered, refFake.answered, 'the crashed run paid for as many calls as the uninterrupted one');
  assert.equal(crashed.dataset.count, reference.dataset.count);
  assert.equal(
    crashed.dataset.sha256,
    reference.dataset.sha256,
    'the final dataset differs from the uninterrupted run',
  );
  assert.deepEqual(
    crashed.rounds.map((r) => r.test.accuracy),
    reference.rounds.map((r) => r.test.accuracy),
  );
});
