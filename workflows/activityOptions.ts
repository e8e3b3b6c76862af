/**
 * Activity options shared by the workflows: deadlines follow the teacher backend
 * (config/deadlines.ts), every activity heartbeats on a timer (so a killed worker is noticed
 * within heartbeatSec), and bad input or config is never retried. Pure module.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { deadlinesOf } from '../config/deadlines.js';

type Deadlines = ReturnType<typeof deadlinesOf>;
const NON_RETRYABLE = ['InvalidInput', 'InvalidConfig'];

/** Every activity that is not a teacher call (preparation, training, selection, reporting):
 * up to 5 attempts. */
export function workActivityOptions(d: Deadlines): ActivityOptions {
  return {
    startToCloseTimeout: `${d.activityMin} minutes`,
    heartbeatTimeout: `${d.heartbeatSec} seconds`,
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
  };
}

/** Teacher activities: up to 10 attempts with backoff 2 s … 1 min (finished calls come from the cache),
 * on the teacher task queue when one is configured (`taskQueues.teacher`; workers/roles.ts). */
export function teacherActivityOptions(d: Deadlines): ActivityOptions {
  return {
    ...(d.teacherTaskQueue ? { taskQueue: d.teacherTaskQueue } : {}),
    startToCloseTimeout: `${d.activityMin} minutes`,
    heartbeatTimeout: `${d.heartbeatSec} seconds`,
    retry: {
      initialInterval: '2 seconds',
      maximumInterval: '1 minute',
      maximumAttempts: 10,
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  };
}

/**
 * The options of the student activity (trainAndEvaluate): `base`, on the training task queue
 * `student.finetune.taskQueue` when `student.kind` is "finetune" (the Python training worker,
 * workers/finetune), else on `taskQueues.student` when configured (workers with the student
 * role, workers/roles.ts), else unchanged (the workflow's own queue).
 */
export function studentActivityOptions(
  base: ActivityOptions,
  student: { kind: string; finetune: { taskQueue: string } },
  taskQueues?: { student?: string },
): ActivityOptions {
  if (student.kind === 'finetune') return { ...base, taskQueue: student.finetune.taskQueue };
  return taskQueues?.student ? { ...base, taskQueue: taskQueues.student } : base;
}
