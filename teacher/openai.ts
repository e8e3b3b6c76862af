/**
 * Teacher over any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp
 * server, Ollama, ...) through the `openai` package.
 *
 * The API key is read from the environment variable *named* by the config (`apiKeyEnv`);
 * it is never logged, stored or put in an error message. Local servers usually need no
 * key, so a placeholder is sent when the variable is unset.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { SamplingParams } from '../domain/types.js';
import { TeacherConfigError, TeacherUnavailableError } from './errors.js';
import { callSeed } from './seed.js';
import type { Teacher, TeacherCall, TeacherReply } from './types.js';

export { TeacherConfigError, TeacherUnavailableError } from './errors.js';

/** Connection settings of an OpenAI-compatible teacher (a subset of config `teacher`). */
export interface OpenAITeacherOptions {
  /** e.g. http://127.0.0.1:8000/v1 */
  baseURL: string;
  /** model name sent to the endpoint */
  model: string;
  /** name of the environment variable holding the API key */
  apiKeyEnv: string;
  /** per-attempt timeout, ms */
  timeoutMs: number;
  /** retries of the `openai` package on connection errors, timeouts, 408/409/429/5xx (default 2) */
  maxRetries?: number;
}

/** Placeholder key sent when `process.env[apiKeyEnv]` is unset (local servers ignore it). */
export const NO_API_KEY = 'not-needed';

/** HTTP statuses that mean "fix the configuration", never worth a retry. */
const CONFIG_STATUSES = new Set([400, 401, 403, 404, 422]);

/** Teacher calling `POST {baseURL}/chat/completions` with one user message per call. */
export class OpenAITeacher implements Teacher {
  readonly modelId: string;
  readonly #client: OpenAI;
  readonly #opts: OpenAITeacherOptions;

  /**
   * @param opts endpoint, model, key variable name and timeout; nothing is contacted yet
   */
  constructor(opts: OpenAITeacherOptions) {
    this.#opts = opts;
    this.modelId = `openai:${opts.model}`;
    this.#client = new OpenAI({
      baseURL: opts.baseURL,
      apiKey: process.env[opts.apiKeyEnv] || NO_API_KEY,
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries ?? 2,
    });
  }

  /**
   * Generates one completion.
   * Sends temperature, top_p, max_tokens and a `seed` derived from (prompt, sampleIndex)
   * (honoured by endpoints that support it). Token counts come from the response `usage`
   * (0 when the endpoint reports none).
   * @returns the reply with `cached: false` and `ms` = wall time including the package's retries
   * @throws TeacherConfigError on HTTP 400/401/403/404/422 (bad model, auth, request)
   * @throws TeacherUnavailableError when the server is unreachable or times out (message names
   *   the base URL and the cause, e.g. ECONNREFUSED), or on 429/5xx after the retries
   */
  async complete(call: TeacherCall, params: SamplingParams): Promise<TeacherReply> {
    const t0 = performance.now();
    try {
      const res = await this.#client.chat.completions.create({
        model: this.#opts.model,
        messages: [{ role: 'user', content: call.prompt }],
        temperature: params.temperature,
        top_p: params.topP,
        max_tokens: params.maxTokens,
        seed: callSeed(call),
      });
      return {
        text: res.choices?.[0]?.message?.content ?? '',
        promptTokens: res.usage?.prompt_tokens ?? 0,
        completionTokens: res.usage?.completion_tokens ?? 0,
        cached: false,
        ms: Math.round(performance.now() - t0),
      };
    } catch (err) {
      throw toTeacherError(err, this.#opts);
    }
  }

  /** Nothing to free (HTTP connections are pooled by the runtime). */
  async close(): Promise<void> {}
}

/**
 * Maps an error of the `openai` package to a teacher error whose message names the
 * endpoint and the cause. Errors of other kinds are returned unchanged.
 */
export function toTeacherError(
  err: unknown,
  opts: Pick<OpenAITeacherOptions, 'baseURL' | 'model' | 'timeoutMs'>,
): unknown {
  const where = `teacher endpoint ${opts.baseURL}`;
  if (err instanceof APIConnectionTimeoutError)
    return new TeacherUnavailableError(`${where} timed out after ${opts.timeoutMs} ms`, undefined, { cause: err });
  if (err instanceof APIConnectionError)
    return new TeacherUnavailableError(`${where} unreachable: ${describeCause(err)}`, undefined, { cause: err });
  if (err instanceof APIError && typeof err.status === 'number') {
    const detail = `${where} answered HTTP ${err.status} for model "${opts.model}": ${err.message}`;
    return CONFIG_STATUSES.has(err.status)
      ? new TeacherConfigError(detail, err.status, { cause: err })
      : new TeacherUnavailableError(detail, err.status, { cause: err });
  }
  return err;
}

/** Walks an error's `cause` chain and names the deepest system error, e.g. "connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)". */
function describeCause(err: Error): string {
  let e: unknown = err;
  let last = err.message;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    last = typeof code === 'string' && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
    e = e.cause;
  }
  return last;
}
