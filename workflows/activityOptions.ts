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

/** Teacher activities: up to 10 attempts with backoff 2 s … 1 min (finished calls come from the cache). */
export function teacherActivityOptions(d: Deadlines): ActivityOptions {
  return {
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
 * workers/finetune), unchanged for the other kinds (they run on the workflow's own queue).
 */
export function studentActivityOptions(
  base: ActivityOptions,
  student: { kind: string; finetune: { taskQueue: string } },
): ActivityOptions {
  return student.kind === 'finetune' ? { ...base, taskQueue: student.finetune.taskQueue } : base;
}
