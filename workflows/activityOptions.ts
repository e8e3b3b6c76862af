/**
 * Activity options shared by the workflows: deadlines follow the teacher backend
 * (config/deadlines.ts), every activity heartbeats on a timer (so a killed worker is noticed
 * within heartbeatSec), and bad input or config is never retried. Pure module.
 */
import type { ActivityOptions } from '@temporalio/workflow';
import type { deadlinesOf } from '../config/deadlines.js';

type Deadlines = ReturnType<typeof deadlinesOf>;
const NON_RETRYABLE = ['InvalidInput', 'InvalidConfig'];

/** Preparation, training and reporting: up to 5 attempts. */
export function localActivityOptions(d: Deadlines): ActivityOptions {
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
