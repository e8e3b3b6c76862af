/**
 * The teacher contract: what the synthesis activities need from an LLM, whatever runs it
 * (an embedded GGUF model via node-llama-cpp, or any OpenAI-compatible HTTP endpoint).
 */
import type { SamplingParams } from '../domain/types.js';

export { TeacherConfigError, TeacherUnavailableError } from './errors.js';

/** One generation request. `sampleIndex` distinguishes repeated samples of one prompt
 * (S3 draws several outputs per prompt); it feeds the sampling seed and the cache key. */
export interface TeacherCall {
  prompt: string;
  sampleIndex: number;
}

/** One generation result. Tokens as reported by the provider (or counted with the model's
 * tokenizer); `ms` is the wall time of the original call; `cached` is true when the reply
 * was read back from the persisted cache instead of generated now. */
export interface TeacherReply {
  text: string;
  promptTokens: number;
  completionTokens: number;
  cached: boolean;
  ms: number;
}

/** A text generator. `modelId` names the model (it is part of every cache key);
 * `close` frees what this teacher holds (idempotent). */
export interface Teacher {
  readonly modelId: string;
  complete(call: TeacherCall, params: SamplingParams): Promise<TeacherReply>;
  close(): Promise<void>;
}
