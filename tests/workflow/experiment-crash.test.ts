/**
 * Crash test of the experiment harness: the worker process is killed with SIGKILL in the
 * middle of an experiment (inside a teacher call of some child), a new worker process takes
 * over, and the experiment completes with every arm finished and no teacher call answered
 * twice (counted at the fake teacher, a loopback test double).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ExperimentConfigInput } from '../../config/experiment.js';
import type { ExperimentResult } from '../../workflows/s3Experiment.js';
import { startFakeTeacher, type FakeTeacher } from '../helpers/fake-teacher.js';
import { writeGoldTask } from '../helpers/fixtures.js';
import { startDevServer, spawnWorker } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-experiment-crash-test';
let env: TestWorkflowEnvironment;
const workers: ChildProcess[] = [];
const gold = writeGoldTask({ validation: 40, test: 60 });
const trainFile = path.join(gold.dir, 'train.jsonl');
writeFileSync(
  trainFile,
  Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({
      id: `tr-${i}`,
      text: `${i % 2 ? 'negative' : 'positive'} thing ${i}`,
      label: i % 2 ? 'negative' : 'positive',
    }),
  ).join('\n') + '\n',
);

const startWorker = () => spawnWorker(env.address, TASK_QUEUE, workers);

before(async () => {
  env = await startDevServer();
});

after(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await env.teardown();
});

test('SIGKILL of the worker mid-experiment: a new worker completes it, no teacher call paid twice', async () => {
  let worker = await startWorker();
  let killedAt: number | undefined;
  /** the call in flight when the kill landed: not a finished call (see tests/workflow/crash.test.ts) */
  let interrupted: string | undefined;
  const KILL_AFTER = 30; // answered calls: inside the second child (active arm, seed 2)
  const fake: FakeTeacher = await startFakeTeacher({
    delayMs: 100,
    onRequest: (r) => {
      if (killedAt === undefined && fake.answered >= KILL_AFTER) {
        killedAt = fake.answered;
        interrupted = JSON.stringify([r.prompt, r.seed ?? null]);
        worker.kill('SIGKILL');
      }
    },
  });
  const cfg: ExperimentConfigInput = {
    experimentId: 'exp-crash',
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, 'cache'),
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test, train: trainFile },
    },
    teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 1 },
    synthesis: { rounds: 2, numRationales: 4 },
    timeouts: { heartbeatSec: 3, activityMin: 10 },
    seeds: [1, 2],
    budget: { examples: 16 },
    // the active arm first: the kill lands inside its rounds (seed 2), the others run after the restart
    arms: [
      { method: 'active', acquisition: 'entropy' },
      { method: 'gold' },
      { method: 'zerogen' },
      { method: 's3' },
      { method: 'seed-only' },
    ],
  };
  try {
    const handle = await env.client.workflow.start('s3Experiment', {
      taskQueue: TASK_QUEUE,
      workflowId: 'exp-crash',
      args: [cfg],
    });
    while (killedAt === undefined) await new Promise((r) => setTimeout(r, 50));
    // killed by a signal, a process keeps exitCode null: an 'exit' already emitted would never come again
    if (worker.exitCode === null && worker.signalCode === null) await new Promise((r) => worker.once('exit', r));
    worker = await startWorker(); // restart the worker; nothing else
    const out = (await handle.result()) as ExperimentResult;
    const rs = out.summary.results;
    assert.equal(rs.length, 10);
    for (const r of rs) assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
    for (const r of rs.filter((x) => x.method !== 'gold')) assert.equal(r.used.syntheticExamples, 16, r.workflowId);
    assert.deepEqual(
      fake.answeredTwice().filter((k) => k !== interrupted),
      [],
      'no finished teacher call paid twice',
    );
    console.log(
      `killed after ${killedAt} answered calls; experiment finished with ${fake.answered} answered, ` +
        `${fake.aborted} aborted by the kill`,
    );
  } finally {
    await fake.close();
  }
});
