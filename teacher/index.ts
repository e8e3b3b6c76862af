/**
 * Entry point of the teacher layer: builds the configured teacher (one module per provider)
 * and shares it through `TeacherPool` (cache, in-flight de-duplication, fair queue, deadlines).
 */
import { byProvider, type PerProvider, type TeacherConfig } from '../config/schema.js';
import { LlamaCppTeacher, llamaCppTeacherOptions } from './llamacpp.js';
import { LlamaServerTeacher, llamaServerTeacherOptions } from './llamaServer.js';
import { OpenAITeacher, openAITeacherOptions } from './openai.js';
import type { Teacher } from './types.js';

export { cacheKey, TeacherCache } from './cache.js';
export {
  TeacherConfigError,
  TeacherContextLengthError,
  TeacherTimeoutError,
  TeacherUnavailableError,
} from './errors.js';
export { disposeLlamaModels, LlamaCppTeacher, llamaCppTeacherOptions } from './llamacpp.js';
export { OpenAITeacher, openAITeacherOptions } from './openai.js';
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

/** The teacher of each provider, built from that provider's section (its module resolves the defaults). */
const TEACHERS: PerProvider<Teacher, [defaultModelPath: string]> = {
  'llama-cpp': (cfg, defaultModelPath) => new LlamaCppTeacher(llamaCppTeacherOptions(cfg, defaultModelPath)),
  'llama-server': (cfg, defaultModelPath) => new LlamaServerTeacher(llamaServerTeacherOptions(cfg, defaultModelPath)),
  openai: (cfg) => new OpenAITeacher(openAITeacherOptions(cfg)),
};

/**
 * Builds the teacher of a (validated) configuration; contacts and loads nothing yet.
 * - 'llama-cpp': embedded GGUF model `cfg.modelPath ?? defaultModelPath`, `cfg.concurrency`
 *   parallel sequences, `cfg.threads` CPU threads (default: all cores), `cfg.contextSize`
 * - 'llama-server': llama.cpp's OpenAI-compatible server at `cfg.baseURL ?? DEFAULT_LLAMA_SERVER_URL`;
 *   the model id (cache key) names the GGUF file the server was started with
 * - 'openai': `cfg.baseURL` + `cfg.model` (both required by the schema), key from
 *   `process.env[cfg.apiKeyEnv]`
 * Sampling parameters are not part of a teacher: they travel with each call.
 * @throws TeacherConfigError when the GGUF file of a 'llama-cpp' teacher does not exist
 */
export function createTeacher(cfg: TeacherConfig, defaultModelPath: string): Teacher {
  return byProvider(TEACHERS, cfg, defaultModelPath);
}
