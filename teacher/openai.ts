/**
 * Teacher over any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp's
 * llama-server, Ollama, ...) through the `openai` package.
 *
 * The API key is read from the environment variable *named* by the config (`apiKeyEnv`);
 * it is never logged or stored, and every error message is passed through `redactSecrets`
 * (an endpoint may echo the Authorization header back) and carries no `cause`, so nothing
 * the server said reaches history unfiltered. Local servers usually need no key, so a
 * placeholder is sent when the variable is unset.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { PROVIDER_DEADLINES } from '../config/deadlines.js';
import type { TeacherConfigOf } from '../config/schema.js';
import type { SamplingParams } from '../domain/types.js';
import {
  TeacherConfigError,
  TeacherContextLengthError,
  TeacherTimeoutError,
  TeacherUnavailableError,
} from './errors.js';
import { redactSecrets } from './redact.js';
import { callSeed } from './seed.js';
import type { CompleteOptions, ProbeResult, Teacher, TeacherCall, TeacherReply } from './types.js';

export { TeacherConfigError, TeacherUnavailableError } from './errors.js';

/** Connection settings of an OpenAI-compatible teacher (a subset of config `teacher`). */
export interface OpenAITeacherOptions {
  /** e.g. http://127.0.0.1:8000/v1 */
  baseURL: string;
  /** model name sent to the endpoint */
  model: string;
  /** name of the environment variable holding the API key */
  apiKeyEnv: string;
  /** per-attempt HTTP timeout of the `openai` package, ms (the pool also enforces its deadline by signal) */
  timeoutMs: number;
  /** retries of the `openai` package itself (default 0: `teacher/pool.ts` retries with backoff and counts) */
  maxRetries?: number;
  /** cache-key name of the model; default `openai:<model>` */
  modelId?: string;
}

/**
 * Resolves a validated 'openai' `teacher` section to connection settings (baseURL, model and
 * apiKeyEnv as configured; timeoutMs `cfg.timeoutMs`, default 120 000 (config/deadlines.ts)).
 */
export function openAITeacherOptions(cfg: TeacherConfigOf<'openai'>): OpenAITeacherOptions {
  return {
    baseURL: cfg.baseURL,
    model: cfg.model,
    apiKeyEnv: cfg.apiKeyEnv,
    timeoutMs: cfg.timeoutMs ?? PROVIDER_DEADLINES.openai.callTimeoutMs,
  };
}

/** Placeholder key sent when `process.env[apiKeyEnv]` is unset (local servers ignore it). */
export const NO_API_KEY = 'not-needed';

/** HTTP statuses that mean "fix the configuration", never worth a retry. */
const CONFIG_STATUSES = new Set([400, 401, 403, 404, 422]);

/** Messages of a 400/413 that mean "this prompt is too long for the model", across servers:
 * llama-server ("exceeds the available context size"), OpenAI/vLLM ("maximum context length"),
 * Ollama/TGI ("too long", "input length"). */
const CONTEXT_LENGTH_RE =
  /context (size|length|window)|maximum context|too many tokens|prompt is too long|input (is )?too long|exceeds? .*(context|tokens)|input length/i;

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
    this.modelId = opts.modelId ?? `openai:${opts.model}`;
    this.#client = new OpenAI({
      baseURL: opts.baseURL,
      apiKey: process.env[opts.apiKeyEnv] || NO_API_KEY,
      timeout: opts.timeoutMs,
      maxRetries: opts.maxRetries ?? 0,
    });
  }

  /**
   * Generates one completion.
   * Sends temperature, top_p, max_tokens and a `seed` derived from (prompt, sampleIndex)
   * (honoured by endpoints that support it). Token counts come from the response `usage`
   * (0 when the endpoint reports none).
   * @returns the reply with `cached: false` and `ms` = wall time
   * @throws the signal's reason when `opts.signal` aborts (the request is cancelled at once)
   * @throws TeacherContextLengthError on a 400/413 saying the prompt exceeds the context
   * @throws TeacherConfigError on other HTTP 400/401/403/404/422 (bad model, auth, request)
   * @throws TeacherUnavailableError when the server is unreachable or answers 429/5xx;
   *   TeacherTimeoutError when the package's timeout passes
   */
  async complete(call: TeacherCall, params: SamplingParams, opts: CompleteOptions = {}): Promise<TeacherReply> {
    const t0 = performance.now();
    try {
      const res = await this.#client.chat.completions.create(
        {
          model: this.#opts.model,
          messages: [{ role: 'user', content: call.prompt }],
          temperature: params.temperature,
          top_p: params.topP,
          max_tokens: params.maxTokens,
          seed: callSeed(call),
          // llama-server's constrained decoding (TeacherCall.grammar); only llama-server
          // configs can ask for it (teacher.grammar), other endpoints never see the field
          ...(call.grammar === undefined ? {} : { grammar: call.grammar }),
        },
        { signal: opts.signal },
      );
      return {
        text: res.choices?.[0]?.message?.content ?? '',
        promptTokens: res.usage?.prompt_tokens ?? 0,
        completionTokens: res.usage?.completion_tokens ?? 0,
        cached: false,
        ms: Math.round(performance.now() - t0),
      };
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw toTeacherError(err, this.#opts);
    }
  }

  /**
   * Preflight without a paid call: `GET {baseURL}/models` within `timeoutMs` (default 20 s).
   * Checks that the endpoint answers, the key is accepted and, when the endpoint lists models,
   * that `model` is among them. Endpoints without the route (404/405) pass.
   * @throws TeacherUnavailableError (unreachable, 5xx), TeacherTimeoutError, TeacherConfigError
   *   (401/403: key rejected; model not listed)
   */
  async probe(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProbeResult> {
    const timeoutMs = opts.timeoutMs ?? 20_000;
    const t0 = performance.now();
    try {
      const page = await this.#client.models.list({ timeout: timeoutMs, maxRetries: 0, signal: opts.signal });
      const ids = page.data.map((m) => m.id);
      const ms = Math.round(performance.now() - t0);
      if (ids.length && !ids.includes(this.#opts.model) && !this.#servesAnyName(ids))
        throw new TeacherConfigError(
          `teacher endpoint ${this.#opts.baseURL} does not serve model "${this.#opts.model}" (it lists: ${ids.slice(0, 8).join(', ')})`,
          404,
        );
      return { detail: `endpoint ${this.#opts.baseURL} answered in ${ms} ms (${ids.length} model(s) listed)` };
    } catch (err) {
      if (err instanceof TeacherConfigError) throw err;
      if (err instanceof APIError && (err.status === 404 || err.status === 405))
        return { detail: `endpoint ${this.#opts.baseURL} answered (no model list)` };
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw toTeacherError(err, { ...this.#opts, timeoutMs });
    }
  }

  /** Nothing to free (HTTP connections are pooled by the runtime). */
  async close(): Promise<void> {}

  /** llama-server lists the GGUF path it loaded and answers to any model name. */
  #servesAnyName(ids: string[]): boolean {
    return ids.length === 1 && /\.gguf$/i.test(ids[0]);
  }
}

/**
 * Maps an error of the `openai` package to a teacher error whose message names the
 * endpoint and the cause, with secrets redacted and no `cause` attached (the original error
 * may hold the server's unfiltered body). Errors of other kinds are returned unchanged.
 */
export function toTeacherError(
  err: unknown,
  opts: Pick<OpenAITeacherOptions, 'baseURL' | 'model' | 'timeoutMs' | 'apiKeyEnv'>,
): unknown {
  const where = `teacher endpoint ${opts.baseURL}`;
  const clean = (s: string) => redactSecrets(s, [process.env[opts.apiKeyEnv]]).slice(0, 500);
  if (err instanceof APIConnectionTimeoutError)
    return new TeacherTimeoutError(`${where} did not answer within ${opts.timeoutMs} ms`);
  if (err instanceof APIUserAbortError) return err;
  if (err instanceof APIConnectionError)
    return new TeacherUnavailableError(`${where} unreachable: ${clean(describeCause(err))}`);
  if (err instanceof APIError && typeof err.status === 'number') {
    const detail = `${where} answered HTTP ${err.status} for model "${opts.model}": ${clean(err.message)}`;
    if ((err.status === 400 || err.status === 413) && CONTEXT_LENGTH_RE.test(err.message))
      return new TeacherContextLengthError(detail);
    return CONFIG_STATUSES.has(err.status)
      ? new TeacherConfigError(detail, err.status)
      : new TeacherUnavailableError(detail, err.status);
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
