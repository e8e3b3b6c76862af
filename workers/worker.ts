/**
 * The s3-synth worker: runs the s3Synthesis workflow and its activities. Restarting it is
 * how a run resumes after a crash — finished activities are in history and finished
 * teacher calls in the per-call cache.
 *
 *   node --import tsx workers/worker.ts        (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, S3_TASK_QUEUE)
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from '../activities/index.js';
import { closeTeachers } from '../activities/run.js';
import { TASK_QUEUE, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } from './options.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * Creates a worker on an existing connection (also used in-process by the CLI and tests).
 * @param opts.connection a NativeConnection; @param opts.taskQueue default S3_TASK_QUEUE or "s3-synth"
 */
export async function createWorker(opts: { connection: NativeConnection; namespace?: string; taskQueue?: string }) {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? TEMPORAL_NAMESPACE,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities,
    maxConcurrentActivityTaskExecutions: 4,
    // send heartbeats (progress: done/total teacher calls) at least every 2 s, for live progress bars
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
}

async function main() {
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const worker = await createWorker({ connection });
  console.log(`s3-synth worker on ${TEMPORAL_ADDRESS}, task queue "${TASK_QUEUE}"`);
  try {
    await worker.run();
  } finally {
    await closeTeachers();
    await connection.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
