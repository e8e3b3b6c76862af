/**
 * The s3-synth worker: runs the s3Synthesis workflow and its activities. Restarting it is
 * how a run resumes after a crash — finished activities are in history and finished
 * teacher calls in the per-call cache.
 *
 *   node --import tsx workers/worker.ts [--role orchestration|teacher|student|all[,…]]
 *
 * Connection: Temporal's environment configuration (workers/connection.ts: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE / temporal.toml).
 * Roles (workers/roles.ts): --role or S3_WORKER_ROLES (default all), on S3_TASK_QUEUE,
 * S3_TEACHER_TASK_QUEUE, S3_STUDENT_TASK_QUEUE. S3_MAX_ACTIVITIES, S3_TEACHER_SLOTS, S3_STUDENT_SLOTS: activity slots (roles.ts activitySlots).
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { DEFAULT_TEACHER_MODEL } from '../activities/paths.js';
import { openStore, type OpenStore } from '../store/index.js';
import { createTeacher, TeacherPool } from '../teacher/index.js';
import { describeConnection, loadTemporalConnection } from './connection.js';
import { MAX_ACTIVITIES, TASK_QUEUE, TEMPORAL_NAMESPACE } from './options.js';
import {
  activitySlots,
  parseRoles,
  planWorkers,
  queuesFromEnv,
  type PlannedWorker,
  type Role,
  type RoleQueues,
} from './roles.js';

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

/**
 * Creates the workers of some roles (workers/roles.ts) on an existing connection: one Temporal
 * worker per distinct task queue, sharing one teacher pool and one artifact store opener. With
 * every role on one queue (the default) this is exactly `createWorker`.
 * @param opts.roles default: S3_WORKER_ROLES or all; @param opts.queues default: queuesFromEnv()
 * @throws Error when a role left out shares a task queue with a role kept (planWorkers)
 * @returns the workers, the plan, the teacher pool, `run()` (until every worker stops) and `shutdown()`
 */
export async function createRoleWorkers(opts: {
  connection: NativeConnection;
  namespace?: string;
  roles?: Role[];
  queues?: RoleQueues;
  teachers?: TeacherPool;
  openStore?: OpenStore;
  maxActivities?: number;
}): Promise<{
  workers: Worker[];
  plan: PlannedWorker[];
  teachers: TeacherPool;
  run(): Promise<void>;
  shutdown(): void;
}> {
  const teachers = opts.teachers ?? createTeacherPool();
  const activities = createActivities({ teachers, openStore: opts.openStore ?? openStore });
  const plan = planWorkers(
    opts.roles ?? parseRoles(process.env.S3_WORKER_ROLES),
    opts.queues ?? queuesFromEnv(),
    Object.keys(activities),
  );
  const workers: Worker[] = [];
  try {
    for (const p of plan)
      workers.push(
        await Worker.create({
          connection: opts.connection,
          namespace: opts.namespace ?? TEMPORAL_NAMESPACE,
          taskQueue: p.taskQueue,
          ...(p.workflows ? { workflowsPath: WORKFLOWS_PATH } : {}),
          activities: Object.fromEntries(
            p.activities.map((name) => [name, activities[name as keyof typeof activities]]),
          ),
          maxConcurrentActivityTaskExecutions: opts.maxActivities ?? activitySlots(p),
          maxHeartbeatThrottleInterval: '2 seconds',
          defaultHeartbeatThrottleInterval: '2 seconds',
        }),
      );
  } catch (err) {
    await teachers.close();
    throw err;
  }
  return {
    workers,
    plan,
    teachers,
    run: async () => {
      const runs = workers.map((w) => w.run());
      try {
        // one worker failing stops the others, so the process does not half-serve its roles
        await Promise.all(runs.map((r) => r.catch((err) => (stop(), Promise.reject(err)))));
      } finally {
        await Promise.allSettled(runs);
      }
    },
    shutdown: () => stop(),
  };
  function stop() {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  }
}

/** The roles named by `--role X` / `--role=X` on the command line, else undefined. */
function roleArg(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--role' || a.startsWith('--role='));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice('--role='.length) : argv[i + 1];
}

async function main() {
  const roles = parseRoles(roleArg(process.argv.slice(2)) ?? process.env.S3_WORKER_ROLES);
  const temporal = loadTemporalConnection();
  const connection = await NativeConnection.connect(temporal.native);
  const w = await createRoleWorkers({ connection, namespace: temporal.namespace, roles });
  for (const p of w.plan)
    console.log(
      `s3-synth worker on ${describeConnection(temporal)}, task queue "${p.taskQueue}": ${p.roles.join(', ')}` +
        `${p.workflows ? ' (workflows and ' : ' ('}${p.activities.length} activities, ${activitySlots(p)} at a time)`,
    );
  // SIGINT / SIGTERM: the SDK's runtime shuts every worker down gracefully
  try {
    await w.run();
  } finally {
    await w.teachers.close();
    await connection.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
