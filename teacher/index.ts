/**
 * Entry point of the teacher layer: builds the configured teacher and runs batches of calls
 * through the persisted cache with bounded concurrency.
 */
import pLimit from 'p-limit';
import type { S3Config } from '../config/schema.js';
import type { SamplingParams } from '../domain/types.js';
import { cacheKey, type TeacherCache } from './cache.js';
import { TeacherConfigError } from './errors.js';
import { LlamaCppTeacher } from './llamacpp.js';
import { OpenAITeacher } from './openai.js';
import type { Teacher, TeacherCall, TeacherReply } from './types.js';

export { cacheKey, TeacherCache } from './cache.js';
export { TeacherConfigError, TeacherUnavailableError } from './errors.js';
export { disposeLlamaModels, LlamaCppTeacher } from './llamacpp.js';
export { OpenAITeacher } from './openai.js';
export { callSeed } from './seed.js';
export type { Teacher, TeacherCall, TeacherReply } from './types.js';

/**
 * Builds the teacher of a (validated) configuration; contacts and loads nothing yet.
 * - 'llama-cpp': embedded GGUF model `cfg.modelPath ?? opts.defaultModelPath`, `cfg.concurrency`
 *   parallel sequences, `cfg.threads` CPU threads (default: all cores)
 * - 'openai': `cfg.baseURL` + `cfg.model`, key from `process.env[cfg.apiKeyEnv]`, `cfg.timeoutMs` per attempt
 * @throws TeacherConfigError when the GGUF file does not exist, or 'openai' lacks baseURL/model
 */
export function createTeacher(cfg: S3Config['teacher'], opts: { defaultModelPath: string }): Teacher {
  if (cfg.provider === 'openai') {
    if (!cfg.baseURL || !cfg.model)
      throw new TeacherConfigError('teacher.provider "openai" needs teacher.baseURL and teacher.model');
    return new OpenAITeacher({
      baseURL: cfg.baseURL,
      model: cfg.model,
      apiKeyEnv: cfg.apiKeyEnv,
      timeoutMs: cfg.timeoutMs,
    });
  }
  return new LlamaCppTeacher({
    modelPath: cfg.modelPath ?? opts.defaultModelPath,
    concurrency: cfg.concurrency,
    threads: cfg.threads,
  });
}

/** Options of `completeAll`. */
export interface CompleteAllOptions {
  /** persisted cache consulted before and filled after each call */
  cache: TeacherCache;
  /** calls in flight at once (positive integer) */
  concurrency: number;
  /** called after each call finishes (cache hits included), with the number done so far and the total */
  onProgress?: (done: number, total: number) => void;
  /** when aborted, no new call is issued */
  signal?: AbortSignal;
}

/**
 * Completes every call, at most `concurrency` at a time. Each call is first looked up in the
 * cache (a hit costs no teacher call and comes back with `cached: true`); each fresh reply is
 * stored in the cache as soon as it arrives.
 * @returns the replies in the order of `calls`
 * @throws the first call's (or cache write's) error, or the signal's reason when aborted.
 *   Either way no new call is issued after it and the returned promise settles only once
 *   the calls already in flight have finished (and been cached), so a retry pays for none of them.
 */
export async function completeAll(
  teacher: Teacher,
  calls: TeacherCall[],
  params: SamplingParams,
  opts: CompleteAllOptions,
): Promise<TeacherReply[]> {
  const limit = pLimit(opts.concurrency);
  const total = calls.length;
  let done = 0;
  let failure: { error: unknown } | undefined;

  const one = async (call: TeacherCall): Promise<TeacherReply> => {
    if (failure) throw failure.error;
    opts.signal?.throwIfAborted();
    const key = cacheKey(teacher.modelId, call, params);
    let reply = await opts.cache.get(key);
    if (!reply) {
      reply = await teacher.complete(call, params);
      await opts.cache.put(key, reply);
    }
    done++;
    opts.onProgress?.(done, total);
    return reply;
  };

  const settled = await Promise.allSettled(
    calls.map((call) =>
      limit(() =>
        one(call).catch((error: unknown) => {
          failure ??= { error };
          throw error;
        }),
      ),
    ),
  );
  if (failure) throw failure.error;
  return settled.map((s) => (s as PromiseFulfilledResult<TeacherReply>).value);
}
