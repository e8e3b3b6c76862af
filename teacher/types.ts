/**
 * The teacher contract: what the synthesis activities need from an LLM, whatever runs it
 * (an embedded GGUF model via node-llama-cpp, llama.cpp's own `llama-server`, or any
 * OpenAI-compatible HTTP endpoint).
 */
import type { SamplingParams } from '../domain/types.js';

/** One generation request. `sampleIndex` distinguishes repeated samples of one prompt
 * (S3 draws several outputs per prompt); it feeds the sampling seed and the cache key. */
export interface TeacherCall {
  prompt: string;
  sampleIndex: number;
  /** the run's seed (`config.seed`): runs with different seeds draw independent samples of the
   * same prompt and sample index; it feeds the sampling seed and the cache key when set */
  seed?: number;
  /** a GBNF grammar the reply must follow (constrained decoding, `teacher.grammar`): the
   * embedded teacher samples only tokens the grammar allows, llama-server gets it as its
   * `grammar` request field; it feeds the cache key when set */
  grammar?: string;
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

/** Per-call options of `Teacher.complete`. */
export interface CompleteOptions {
  /** aborts the call at once (the HTTP request is cancelled, or generation stops at the next
   * token); the promise then rejects with the signal's reason */
  signal?: AbortSignal;
}

/** What `Teacher.probe` found out (for logs and the prepareTask result). */
export interface ProbeResult {
  /** e.g. "model loaded in 1.2 s" or "endpoint answered in 35 ms" */
  detail: string;
  /** tokens of prompt + completion one call may use, when the backend tells */
  contextTokens?: number;
}

/** A text generator. `modelId` names the model (it is part of every cache key). */
export interface Teacher {
  readonly modelId: string;
  /**
   * Generates one reply. Sampling parameters travel with each call, so one loaded model
   * serves calls with different temperature / maxTokens.
   * @throws TeacherContextLengthError when the prompt does not fit the model's context
   * @throws TeacherConfigError when retrying cannot help (missing model, rejected key, unknown model)
   * @throws TeacherUnavailableError / TeacherTimeoutError after the provider's own retries
   */
  complete(call: TeacherCall, params: SamplingParams, opts?: CompleteOptions): Promise<TeacherReply>;
  /**
   * Prompt tokens `prompt` takes once wrapped in the chat template, when the teacher can count
   * them locally (embedded model); undefined when it cannot (remote endpoints).
   */
  countPromptTokens?(prompt: string): Promise<number>;
  /** Tokens per call (prompt + completion) the backend accepts, when known (embedded: the context size). */
  readonly contextTokens?: number;
  /**
   * Preflight before any paid call: loads the embedded model, or asks the endpoint (model
   * list, else one 1-token completion) within `timeoutMs`.
   * @throws TeacherConfigError (missing model file, key rejected, unknown model) or
   *   TeacherUnavailableError / TeacherTimeoutError (unreachable, not answering)
   */
  probe(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ProbeResult>;
  /** Frees what this teacher holds (idempotent). */
  close(): Promise<void>;
}
