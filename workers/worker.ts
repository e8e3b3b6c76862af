/**
 * The s3-synth worker: runs the s3Synthesis workflow and its activities. Restarting it is
 * how a run resumes after a crash — finished activities are in history and finished
 * teacher calls in the per-call cache.
 *
 *   node --import tsx workers/worker.ts        (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, S3_TASK_QUEUE,
 *                                               S3_MAX_ACTIVITIES)
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { DEFAULT_TEACHER_MODEL } from '../activities/paths.js';
import { openStore, type OpenStore } from '../store/index.js';
import { createTeacher, TeacherPool } from '../teacher/index.js';
import { MAX_ACTIVITIES, TASK_QUEUE, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } from './options.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** The worker's shared teachers: one backend per model for every activity it runs. */
export function createTeacherPool(): TeacherPool {
  return new TeacherPool({
    defaultModelPath: process.env.S3_TEACHER_MODEL ?? DEFAULT_TEACHER_MODEL,
    create: createTeacher,
  });
}

/**
 * Creates a worker on an existing connection (also used in-process by the CLI and tests).
 * Its activities share one `TeacherPool`: close it (`teachers.close()`) after `worker.run()` resolves.
 * @param opts.connection a NativeConnection; @param opts.taskQueue default S3_TASK_QUEUE or "s3-synth"
 * @param opts.teachers the teacher pool (default: a new one)
 * @param opts.openStore opens the artifact store of a run (default: local folders, store/index.ts)
 * @param opts.maxActivities activity slots (default S3_MAX_ACTIVITIES or 4). Teacher activities
 *   wait for the shared teacher in its fair queue while heartbeating, so more slots only let
 *   more runs queue there; activities beyond the slots wait in the Temporal task queue.
 * @returns the worker and its teacher pool
 */
export async function createWorker(opts: {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  teachers?: TeacherPool;
  openStore?: OpenStore;
  maxActivities?: number;
}): Promise<{ worker: Worker; teachers: TeacherPool }> {
  const teachers = opts.teachers ?? createTeacherPool();
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace ?? TEMPORAL_NAMESPACE,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities({ teachers, openStore: opts.openStore ?? openStore }),
    maxConcurrentActivityTaskExecutions: opts.maxActivities ?? MAX_ACTIVITIES,
    // send heartbeats (progress: done/total teacher calls) at least every 2 s, for live progress bars
    maxHeartbeatThrottleInterval: '2 seconds',
    defaultHeartbeatThrottleInterval: '2 seconds',
  });
  return { worker, teachers };
}

async function main() {
  const connection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const { worker, teachers } = await createWorker({ connection });
  console.log(`s3-synth worker on ${TEMPORAL_ADDRESS}, task queue "${TASK_QUEUE}"`);
  try {
    await worker.run();
  } finally {
    await teachers.close();
    await connection.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
