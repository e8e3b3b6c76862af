/**
 * Worker roles by task queue. A worker runs some of three roles, each on its task queue:
 * - `orchestration`: the workflows (s3Synthesis, s3Experiment, synthesisArm) and the light
 *   activities (preparation, selection, merging, reports) on `S3_TASK_QUEUE` (default "s3-synth");
 * - `teacher`: the activities the workflows schedule with the teacher's options (synthesis, the
 *   teacher judge, influence scoring, gold data) on `S3_TEACHER_TASK_QUEUE`;
 * - `student`: trainAndEvaluate of the TypeScript students on `S3_STUDENT_TASK_QUEUE`
 *   (the finetune student's Python worker keeps its own queue, `student.finetune.taskQueue`).
 * The teacher and student queues default to the orchestration queue: one worker with every role
 * (the default, `S3_WORKER_ROLES=all`) is today's single worker, unchanged. The workflows route
 * by the run configuration's `taskQueues` {teacher, student} (workflows/activityOptions.ts), so a
 * split deployment sets the same queue names in the workers' environment and in the config.
 *
 * A worker may only leave a role out when that role's queue is not one of its own: a worker
 * polling a queue receives every activity scheduled there, and one it has not registered fails.
 * `planWorkers` refuses such a plan with a message naming the variables to set.
 */

/** The roles, in the order workers are created. */
export const ROLES = ['orchestration', 'teacher', 'student'] as const;
export type Role = (typeof ROLES)[number];

/** Activities the workflows schedule with teacherActivityOptions (workflows/loop.ts `teacher`). */
export const TEACHER_ACTIVITIES = [
  'synthesizeRationales',
  'synthesizeSeed',
  'extrapolateErrors',
  'judgeDifficulty',
  'scoreInfluence',
  'useGoldData',
] as const;
/** Activities the workflows schedule with studentActivityOptions (workflows/loop.ts `student`). */
export const STUDENT_ACTIVITIES = ['trainAndEvaluate'] as const;

/** The task queue of each role. */
export type RoleQueues = Record<Role, string>;

/**
 * Parses a role list: comma- or space-separated names (`orchestration`, also `orchestrator`;
 * `teacher`; `student`) or `all`.
 * @throws Error naming an unknown role and the known ones
 */
export function parseRoles(text: string | undefined): Role[] {
  if (text === undefined || text.trim() === '' || text.trim() === 'all') return [...ROLES];
  const roles = new Set<Role>();
  for (const raw of text.split(/[\s,]+/).filter(Boolean)) {
    const name = raw === 'orchestrator' ? 'orchestration' : raw;
    if (name === 'all') ROLES.forEach((r) => roles.add(r));
    else if ((ROLES as readonly string[]).includes(name)) roles.add(name as Role);
    else throw new Error(`unknown worker role "${raw}": expected ${ROLES.join(', ')} or all`);
  }
  return ROLES.filter((r) => roles.has(r));
}

/** The queues of the roles from the environment (S3_TASK_QUEUE, S3_TEACHER_TASK_QUEUE, S3_STUDENT_TASK_QUEUE). */
export function queuesFromEnv(env: NodeJS.ProcessEnv = process.env): RoleQueues {
  const orchestration = env.S3_TASK_QUEUE || 's3-synth';
  return {
    orchestration,
    teacher: env.S3_TEACHER_TASK_QUEUE || orchestration,
    student: env.S3_STUDENT_TASK_QUEUE || orchestration,
  };
}

/** The role of an activity by its name. */
export function roleOfActivity(name: string): Role {
  if ((TEACHER_ACTIVITIES as readonly string[]).includes(name)) return 'teacher';
  if ((STUDENT_ACTIVITIES as readonly string[]).includes(name)) return 'student';
  return 'orchestration';
}

/** One Temporal worker of a plan: a task queue, whether it runs the workflows, which activities. */
export interface PlannedWorker {
  taskQueue: string;
  roles: Role[];
  workflows: boolean;
  activities: string[];
}

/**
 * The Temporal workers (one per distinct task queue) that serve `roles`.
 * @param activityNames every activity name the worker could register (createActivities' keys)
 * @throws Error when a role left out shares a task queue with a role kept
 */
export function planWorkers(roles: Role[], queues: RoleQueues, activityNames: string[]): PlannedWorker[] {
  if (roles.length === 0) throw new Error('a worker needs at least one role');
  for (const r of roles)
    for (const other of ROLES)
      if (!roles.includes(other) && queues[other] === queues[r])
        throw new Error(
          `worker roles ${roles.join(',')}: the ${other} role's task queue "${queues[r]}" is also the ${r} role's, so its ` +
            `activities would reach this worker and fail; give the roles their own queues ` +
            `(S3_TEACHER_TASK_QUEUE, S3_STUDENT_TASK_QUEUE and the config's taskQueues) or add the ${other} role`,
        );
  const byQueue = new Map<string, PlannedWorker>();
  for (const r of roles) {
    const q = queues[r];
    const w = byQueue.get(q) ?? { taskQueue: q, roles: [], workflows: false, activities: [] };
    w.roles.push(r);
    if (r === 'orchestration') w.workflows = true;
    w.activities.push(...activityNames.filter((a) => roleOfActivity(a) === r));
    byQueue.set(q, w);
  }
  return [...byQueue.values()];
}

/**
 * Activity slots of a planned worker, sized to its role: a queue that serves only the student
 * role runs one training at a time (`S3_STUDENT_SLOTS`, default 1: a training uses every core it
 * gets); a queue that serves only the teacher role `S3_TEACHER_SLOTS` (default `S3_MAX_ACTIVITIES`:
 * a teacher activity's calls wait in the worker's shared teacher pool, which bounds the calls in
 * flight to each teacher's `concurrency`, so more slots only let more runs queue there); any other
 * queue `S3_MAX_ACTIVITIES` (default 4).
 * @param env the environment (default process.env)
 * @returns a whole number ≥ 1
 * @throws RangeError when a variable is set to anything but a whole number ≥ 1
 */
export function activitySlots(p: Pick<PlannedWorker, 'roles'>, env: NodeJS.ProcessEnv = process.env): number {
  const read = (name: string, fallback: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    if (!/^[1-9]\d*$/.test(raw))
      throw new RangeError(`${name} must be a whole number of activity slots ≥ 1, not "${raw}"`);
    return Number(raw);
  };
  const general = read('S3_MAX_ACTIVITIES', 4);
  const only = p.roles.length === 1 ? p.roles[0] : undefined;
  if (only === 'student') return read('S3_STUDENT_SLOTS', 1);
  if (only === 'teacher') return read('S3_TEACHER_SLOTS', general);
  return general;
}
