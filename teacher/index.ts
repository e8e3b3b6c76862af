/**
 * Entry point of the teacher layer: builds the configured teacher (one module per provider)
 * and shares it through `TeacherPool` (cache, in-flight de-duplication, fair queue, deadlines).
 */
import type { S3Config } from '../config/schema.js';
import { TeacherConfigError } from './errors.js';
import { LlamaCppTeacher } from './llamacpp.js';
import { LlamaServerTeacher, llamaServerTeacherOptions } from './llamaServer.js';
import { OpenAITeacher } from './openai.js';
import type { Teacher } from './types.js';

export { cacheKey, TeacherCache } from './cache.js';
export {
  TeacherConfigError,
  TeacherContextLengthError,
  TeacherTimeoutError,
  TeacherUnavailableError,
} from './errors.js';
export { disposeLlamaModels, LlamaCppTeacher } from './llamacpp.js';
export { OpenAITeacher } from './openai.js';
export {
  backendKey,
  completeAll,
  isRefusal,
  TeacherBackend,
  TeacherPool,
  type BackendStats,
  type CompleteAllOptions,
  type TeacherRefusal,
} from './pool.js';
export { FairQueue } from './queue.js';
export { redactSecrets } from './redact.js';
export { callSeed } from './seed.js';
export type { Teacher, TeacherCall, TeacherReply } from './types.js';

export { DEFAULT_LLAMA_SERVER_URL, LlamaServerTeacher, llamaServerTeacherOptions } from './llamaServer.js';

/**
 * Builds the teacher of a (validated) configuration; contacts and loads nothing yet.
 * - 'llama-cpp': embedded GGUF model `cfg.modelPath ?? defaultModelPath`, `cfg.concurrency`
 *   parallel sequences, `cfg.threads` CPU threads (default: all cores), `cfg.contextSize`
 * - 'llama-server': llama.cpp's OpenAI-compatible server at `cfg.baseURL ?? DEFAULT_LLAMA_SERVER_URL`;
 *   the model id (cache key) names the GGUF file the server was started with
 * - 'openai': `cfg.baseURL` + `cfg.model`, key from `process.env[cfg.apiKeyEnv]`
 * Sampling parameters are not part of a teacher: they travel with each call.
 * @throws TeacherConfigError when the GGUF file does not exist, or 'openai' lacks baseURL/model
 */
export function createTeacher(cfg: S3Config['teacher'], defaultModelPath: string): Teacher {
  const httpTimeoutMs = cfg.timeoutMs ?? 120_000;
  if (cfg.provider === 'openai') {
    if (!cfg.baseURL || !cfg.model)
      throw new TeacherConfigError('teacher.provider "openai" needs teacher.baseURL and teacher.model');
    return new OpenAITeacher({
      baseURL: cfg.baseURL,
      model: cfg.model,
      apiKeyEnv: cfg.apiKeyEnv,
      timeoutMs: httpTimeoutMs,
    });
  }
  if (cfg.provider === 'llama-server') return new LlamaServerTeacher(llamaServerTeacherOptions(cfg, defaultModelPath));
  return new LlamaCppTeacher({
    modelPath: cfg.modelPath ?? defaultModelPath,
    concurrency: cfg.concurrency,
    threads: cfg.threads,
    contextSize: cfg.contextSize,
  });
}
