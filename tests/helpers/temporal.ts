/** Temporal helpers for tests: a real local dev server (the installed `temporal` binary) and history scanning. */
import { spawn, type ChildProcess } from 'node:child_process';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../activities/paths.js';
import proto from '@temporalio/proto';
import type { temporal as T } from '@temporalio/proto';
import { temporalBin } from '../../scripts/devserver.js';
import { S3_PHASE, S3_ROUND, S3_VAL_ACCURACY } from '../../workflows/types.js';

const { temporal } = proto;
type IHistory = T.api.history.v1.IHistory;

/** Starts a throwaway dev server (in-memory, random port) with S3's search attributes registered. */
export function startDevServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBin() },
      searchAttributes: [S3_PHASE, S3_ROUND, S3_VAL_ACCURACY],
    },
  });
}

/**
 * The largest history event of a workflow, in bytes as encoded on the wire. Every payload
 * (workflow input/result, activity input/result, heartbeat details) is inside one event, so
 * this bounds the largest payload.
 */
export function largestEvent(history: IHistory): { bytes: number; eventType: string } {
  let best = { bytes: 0, eventType: '' };
  for (const ev of history.events ?? []) {
    const bytes = temporal.api.history.v1.HistoryEvent.encode(ev).finish().length;
    if (bytes > best.bytes) best = { bytes, eventType: temporal.api.enums.v1.EventType[ev.eventType ?? 0] ?? '?' };
  }
  return best;
}

/** Names of the activity types scheduled in a history, in order. */
export function scheduledActivities(history: IHistory): string[] {
  return (history.events ?? []).flatMap((ev) => {
    const name = ev.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

/**
 * Starts `workers/worker.ts` as a separate OS process against `address` on `taskQueue`
 * (crash and restart tests kill it with SIGKILL), resolved once it polls its task queue.
 * @param track receives the child, so the test can kill every worker it started in `after`
 * @throws Error with the worker's output when it exits before starting
 */
export function spawnWorker(address: string, taskQueue: string, track?: ChildProcess[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: address, S3_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track?.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('s3-synth worker on')) resolve(child);
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting:\n${out}`)));
  });
}

/**
 * A dev server, the loopback fake teacher (a test double) and an in-process worker on
 * `taskQueue`: what most workflow tests start in `before` and stop in `after`.
 * @param fakeOptions options of the fake teacher (delays, modes)
 * @returns the environment, the fake teacher, and `close()` (worker, teacher pool, fake, server)
 */
export async function startWorkflowHarness(
  taskQueue: string,
  fakeOptions?: Parameters<typeof import('./fake-teacher.js').startFakeTeacher>[0],
) {
  const { startFakeTeacher } = await import('./fake-teacher.js');
  const { createWorker } = await import('../../workers/worker.js');
  const env = await startDevServer();
  const fake = await startFakeTeacher(fakeOptions);
  const { worker, teachers } = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
  });
  const running = worker.run();
  return {
    env,
    fake,
    async close() {
      worker.shutdown();
      await running;
      await teachers.close();
      await fake.close();
      await env.teardown();
    },
  };
}
