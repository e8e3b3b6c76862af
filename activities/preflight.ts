/**
 * Checks before a run pays for anything: the teacher preflight (model file, API key, the
 * provider's probe), the teacher configuration the pool keys backends by, and the check of
 * the student's encoder folder.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { deadlinesOf } from '../config/deadlines.js';
import { byProvider, type PerProvider, type S3Config, type TeacherConfigOf } from '../config/schema.js';
import { TeacherConfigError, TeacherContextLengthError, TeacherUnavailableError } from '../teacher/index.js';
import { redactSecrets } from '../teacher/redact.js';
import { cancellationSignal, invalidInput, secretsOf } from './context.js';
import type { ActivityDeps } from './deps.js';
import { studentConfigOf, teacherModelPath } from './paths.js';

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
 * The API key of an HTTP teacher: required in `process.env[apiKeyEnv]` unless the endpoint is on
 * loopback (a local server needs none).
 * @throws ApplicationFailure InvalidInput naming the variable
 */
function checkApiKey(t: TeacherConfigOf<'llama-server' | 'openai'>): void {
  if (!t.baseURL) return; // llama-server's default: loopback
  const host = new URL(t.baseURL).hostname;
  const loopback = host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  if (!loopback && !process.env[t.apiKeyEnv])
    throw invalidInput(`teacher at ${t.baseURL} needs an API key in the environment variable ${t.apiKeyEnv}`);
}

/** The checks of each provider that need no probe: the GGUF file exists; the API key is set. */
const LOCAL_CHECKS: PerProvider<void, [config: S3Config]> = {
  'llama-cpp': (_t, config) => {
    const p = teacherModelPath(config);
    if (!existsSync(p))
      throw invalidInput(
        `teacher model not found: ${p} (run scripts/setup.sh to install the default teacher, or set teacher.modelPath)`,
      );
  },
  'llama-server': checkApiKey,
  openai: checkApiKey,
};

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
  byProvider(LOCAL_CHECKS, config.teacher, config);
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
