/**
 * The Temporal activity context as the activities use it: turning errors into failures that
 * are safe to store (`guard`: bad input non-retryable, every message redacted of secrets),
 * heartbeats on a timer, the frame of every activity body (`runActivity`), the cancellation
 * signal, the workflow id and the activity logger. Each helper also works outside an activity
 * (unit tests, scripts).
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { deadlinesOf } from '../config/deadlines.js';
import type { S3Config } from '../config/schema.js';
import { DatasetError } from '../data/jsonl.js';
import { TeacherConfigError } from '../teacher/index.js';
import { redactSecrets, secretsInEnvironment } from '../teacher/redact.js';

/** A non-retryable failure for input the user must fix (type InvalidInput). */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InvalidInput');
}

/** The secrets of this process that must never reach a failure, log or artifact. */
export function secretsOf(config?: S3Config): string[] {
  const t = config?.teacher;
  return secretsInEnvironment(t && t.provider !== 'llama-cpp' ? [t.apiKeyEnv] : []);
}

/**
 * Runs an activity body and makes whatever it throws safe and meaningful for Temporal:
 * - input errors (DatasetError, TeacherConfigError) become non-retryable `InvalidInput`;
 * - every other error keeps its type (e.g. `TeacherUnavailableError`, retryable) but loses
 *   its `cause` chain, which may hold a server's unfiltered answer;
 * - every message and stack is passed through `redactSecrets` (Bearer tokens, `sk-…`, and the
 *   values of this process's *KEY/*TOKEN/*SECRET variables);
 * - once the activity's cancellation was requested, its CancelledFailure (or an AbortError from
 *   the cancellation signal) passes through unchanged, so Temporal records the activity as
 *   cancelled rather than failed (wrapping it made every cancelled teacher call a failure).
 */
export async function guard<T>(body: () => Promise<T>, config?: S3Config): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (
      cancellationRequested() &&
      (err instanceof CancelledFailure || (err instanceof Error && err.name === 'AbortError'))
    )
      throw err;
    const secrets = secretsOf(config);
    if (err instanceof ApplicationFailure) {
      err.message = redactSecrets(err.message, secrets);
      throw err;
    }
    if (err instanceof DatasetError || err instanceof TeacherConfigError)
      throw invalidInput(redactSecrets(err.message, secrets));
    const e = err instanceof Error ? err : new Error(String(err));
    const failure = ApplicationFailure.create({
      message: redactSecrets(e.message, secrets),
      type: e.name,
      nonRetryable: false,
    });
    failure.stack = redactSecrets(e.stack ?? '', secrets);
    throw failure;
  }
}

/** Whether this activity's cancellation has been requested (false outside an activity). */
function cancellationRequested(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

/** Heartbeats progress when running inside an activity (no-op elsewhere, e.g. in unit tests). */
export function heartbeat(details: Record<string, unknown>): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity context */
  }
}

/**
 * Runs `body` while heartbeating `details()` every `everyMs` on a timer (and once at once),
 * so a slow teacher call, a model load or a long queue wait never looks like a dead worker,
 * and a cancellation (e.g. of a stale attempt) reaches the activity within `everyMs`.
 * Outside an activity it just runs `body`.
 */
export async function withHeartbeat<T>(
  everyMs: number,
  details: () => Record<string, unknown>,
  body: () => Promise<T>,
): Promise<T> {
  let current: Context | undefined;
  try {
    current = Context.current();
  } catch {
    return body();
  }
  const ctx = current;
  const beat = () => {
    try {
      ctx.heartbeat(details());
    } catch {
      /* activity already completing */
    }
  };
  beat();
  const timer = setInterval(beat, everyMs);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

/**
 * The frame of every activity body: `guard` (safe, redacted failures) around `withHeartbeat`
 * at the run's heartbeat period (config/deadlines.ts), reporting `details()`.
 */
export function runActivity<T>(
  config: S3Config,
  details: () => Record<string, unknown>,
  body: () => Promise<T>,
): Promise<T> {
  return guard(() => withHeartbeat(deadlinesOf(config).heartbeatEveryMs, details, body), config);
}

/** The activity's cancellation signal, if running inside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The workflow id of the running activity (the teacher queue's fairness key), or "default". */
export function workflowIdOf(): string {
  try {
    return Context.current().info.workflowExecution?.workflowId ?? 'default';
  } catch {
    return 'default';
  }
}

/** Logs a warning through the activity logger (console outside an activity). */
export function warn(message: string, attrs: Record<string, unknown> = {}): void {
  try {
    Context.current().log.warn(message, attrs);
  } catch {
    console.warn(message);
  }
}
