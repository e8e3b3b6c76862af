/**
 * Deadlines that match the teacher backend. Pure (no I/O): used by the workflow (activity
 * options) and by the activities (per-call timeout, heartbeat period).
 *
 * | provider | call timeout | heartbeat timeout | activity start-to-close |
 * |---|---|---|---|
 * | llama-cpp (embedded, shares the CPU with everything) | 600 s | 30 s | 360 min |
 * | llama-server / openai (remote) | 120 s | 30 s | 180 min |
 *
 * The heartbeat timeout no longer has to exceed a call: teacher activities heartbeat on a
 * timer (every min(5 s, heartbeatSec / 4)), so only a dead or frozen worker misses it. A call
 * over its deadline is one failed attempt of that call (retried `teacher.maxRetries` times
 * with backoff), not a restart of the whole activity.
 */
import type { S3Config, TeacherProvider } from './schema.js';

/** Resolved deadlines of a run. */
export interface Deadlines {
  /** one teacher call, ms */
  callTimeoutMs: number;
  /** heartbeat timeout of teacher activities, s */
  heartbeatSec: number;
  /** how often teacher activities heartbeat, ms */
  heartbeatEveryMs: number;
  /** start-to-close timeout of one activity attempt, minutes */
  activityMin: number;
  /** preflight probe of the teacher (prepareTask), ms */
  probeTimeoutMs: number;
  /** the task queue of teacher activities (`taskQueues.teacher`); unset: the workflow's own */
  teacherTaskQueue?: string;
}

/** Defaults by provider of the deadlines left unset (the table above). */
export const PROVIDER_DEADLINES: Record<
  TeacherProvider,
  { callTimeoutMs: number; activityMin: number; probeTimeoutMs: number }
> = {
  'llama-cpp': { callTimeoutMs: 600_000, activityMin: 360, probeTimeoutMs: 300_000 },
  'llama-server': { callTimeoutMs: 120_000, activityMin: 180, probeTimeoutMs: 20_000 },
  openai: { callTimeoutMs: 120_000, activityMin: 180, probeTimeoutMs: 20_000 },
};

/**
 * @returns the configured deadlines, with provider-dependent defaults for unset fields, and the
 *   teacher activities' task queue (activity options are where and how long they run)
 */
export function deadlinesOf(
  config: Pick<S3Config, 'teacher' | 'timeouts'> & Pick<Partial<S3Config>, 'taskQueues'>,
): Deadlines {
  const defaults = PROVIDER_DEADLINES[config.teacher.provider];
  const heartbeatSec = config.timeouts.heartbeatSec ?? 30;
  const callTimeoutMs = config.teacher.timeoutMs ?? defaults.callTimeoutMs;
  return {
    callTimeoutMs,
    heartbeatSec,
    heartbeatEveryMs: Math.max(250, Math.min(5_000, (heartbeatSec * 1000) / 4)),
    activityMin: config.timeouts.activityMin ?? defaults.activityMin,
    probeTimeoutMs: Math.min(callTimeoutMs, defaults.probeTimeoutMs),
    ...(config.taskQueues?.teacher ? { teacherTaskQueue: config.taskQueues.teacher } : {}),
  };
}
