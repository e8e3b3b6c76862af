/**
 * The teacher section of the run configuration: one strict object per provider (llama-cpp,
 * llama-server, openai), the settings they share, and `byProvider`, the lookup table that
 * replaces `if (provider === …)` chains. Pure module (zod only).
 */
import { z } from 'zod';
import { namesOtherVariants } from './errors.js';

/** Settings every teacher provider has: sampling, concurrency, deadlines and retries. */
const teacherCommon = {
  /** sampling temperature (the paper's nucleus sampling) */
  temperature: z.number().min(0).max(2).default(0.9),
  /** nucleus sampling: the smallest set of tokens whose probability reaches topP */
  topP: z.number().gt(0).max(1).default(0.95),
  /** longest completion of one call, in tokens */
  maxTokens: z.number().int().positive().default(96),
  /** teacher calls in flight at once (llama-cpp: parallel sequences of one context). On 2 CPU
   * cores the default job's seed phase took 342 s at 2 and 360 s at 4: no gain from more. */
  concurrency: z.number().int().positive().default(2),
  /** deadline of one teacher call, ms (one failed attempt of that call when passed).
   * Default by provider (config/deadlines.ts): 120 000 for HTTP teachers, 600 000 embedded */
  timeoutMs: z.number().int().positive().optional(),
  /** retries of one failed call (timeout, connection error, 429, 5xx) with exponential
   * backoff, before the activity fails; default 4 */
  maxRetries: z.number().int().min(0).default(4),
};

/** GGUF file for llama-cpp (and the model `s3 teacher-server start` loads for llama-server);
 * default: the model installed by scripts/setup.sh */
const modelPath = z.string().optional();
/** constrained decoding: each reply is sampled under the task kind's GBNF grammar of a reply,
 * where the kind has one (extractive QA: one question that starts with a question word and
 * ends with "?"; with teacher answers, "Answer: …" then "Question: …"). Classification kinds
 * have none. For small teachers that rarely answer in the asked form; llama.cpp backends only
 * (an OpenAI endpoint has no GBNF). Part of every cache key when used. Default off. */
const grammar = z.boolean().optional();
/** name of the environment variable holding the API key (the key itself never goes in the config) */
const apiKeyEnv = z.string().default('OPENAI_API_KEY');

/** 'llama-cpp' (the default provider): embedded GGUF model in-process. */
export const LlamaCppTeacherSchema = z.strictObject({
  /** the embedded teacher: a GGUF model loaded in the worker process (node-llama-cpp) */
  provider: z.literal('llama-cpp').default('llama-cpp'),
  modelPath,
  /** CPU threads for llama-cpp (default: all cores) */
  threads: z.number().int().positive().optional(),
  /** tokens per sequence of the embedded teacher (prompt + reply), default 2048 */
  contextSize: z.number().int().min(256).optional(),
  grammar,
  ...teacherCommon,
});

/** 'llama-server': llama.cpp's own OpenAI-compatible server (one loaded model shared by many
 * workers; `s3 teacher-server start` runs it). */
export const LlamaServerTeacherSchema = z.strictObject({
  /** llama.cpp's own server, shared by many workers */
  provider: z.literal('llama-server'),
  modelPath,
  /** OpenAI-compatible base URL of the server, default http://127.0.0.1:8091/v1 */
  baseURL: z.string().url().optional(),
  /** model name sent to the server, default the GGUF file name */
  model: z.string().optional(),
  grammar,
  apiKeyEnv,
  ...teacherCommon,
});

/** The message of a missing setting that the 'openai' provider requires (zod's for a wrong type). */
const requiredByOpenAI = (issue: { input?: unknown }) =>
  issue.input === undefined ? 'required when teacher.provider is "openai"' : undefined;

/** 'openai': any OpenAI-compatible endpoint. */
export const OpenAITeacherSchema = z.strictObject({
  /** any OpenAI-compatible endpoint (vLLM, Ollama, a hosted API) */
  provider: z.literal('openai'),
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 */
  baseURL: z.string({ error: requiredByOpenAI }).url(),
  /** model name sent to the endpoint */
  model: z.string({ error: requiredByOpenAI }).min(1),
  apiKeyEnv,
  ...teacherCommon,
});

/** The message of a `teacher.provider` that names no provider (zod's for other union issues). */
function unknownProvider(issue: z.core.$ZodRawIssue): string | undefined {
  const options = (issue as { options?: unknown[] }).options;
  if (issue.code !== 'invalid_union' || !options) return undefined;
  const given = (issue.input as Record<string, unknown> | undefined)?.provider;
  const known = options.filter((o) => o !== undefined).map((o) => JSON.stringify(o));
  return `unknown provider ${JSON.stringify(given)} (one of ${known.join(', ')}; default "llama-cpp")`;
}

/**
 * The teacher section: one strict object per `provider` ('llama-cpp' when omitted; the whole
 * section defaults to `{}`, the embedded default teacher). A key of another provider (e.g.
 * `baseURL` under llama-cpp) is an unknown key naming the providers that have it.
 */
const TeacherUnion = z.discriminatedUnion(
  'provider',
  [LlamaCppTeacherSchema, LlamaServerTeacherSchema, OpenAITeacherSchema],
  { error: unknownProvider },
);
export const TeacherSchema = TeacherUnion.prefault({});

// an unknown teacher key names the providers that have it (config/errors.ts)
namesOtherVariants(TeacherUnion);

/** A validated teacher section (any provider). */
export type TeacherConfig = z.infer<typeof TeacherSchema>;
/** The teacher providers: 'llama-cpp' | 'llama-server' | 'openai'. */
export type TeacherProvider = TeacherConfig['provider'];
/** The validated teacher section of one provider. */
export type TeacherConfigOf<P extends TeacherProvider> = Extract<TeacherConfig, { provider: P }>;

/** One function per teacher provider, each taking that provider's section (a lookup table
 * instead of `if (provider === …)` chains; a new provider fails to compile until it has one). */
export type PerProvider<R, A extends unknown[] = []> = {
  [P in TeacherProvider]: (cfg: TeacherConfigOf<P>, ...args: A) => R;
};

/** Calls the entry of `table` for `cfg.provider` with `cfg` (narrowed to that provider) and `args`. */
export function byProvider<R, A extends unknown[]>(table: PerProvider<R, A>, cfg: TeacherConfig, ...args: A): R {
  // TypeScript cannot correlate `table[cfg.provider]` with `cfg`; the mapped type guarantees it.
  return (table[cfg.provider] as (cfg: TeacherConfig, ...args: A) => R)(cfg, ...args);
}
