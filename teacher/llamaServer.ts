/**
 * Teacher over llama.cpp's own OpenAI-compatible `llama-server` (`teacher.provider:
 * "llama-server"`): one loaded GGUF shared by every worker and run that points at it, with
 * continuous batching over parallel slots. A thin wrapper of `OpenAITeacher`; what differs is
 * the defaults (local URL, model = GGUF file name), the cache key (`llama-server:<gguf>`, so
 * replies of different GGUFs never mix) and the hint on how to start the server.
 *
 * Start the server with `npm run teacher-server -- start` (or `s3 teacher-server start`),
 * built by `S3_LLAMA_TOOLS=1 bash scripts/setup.sh`.
 */
import path from 'node:path';
import { PROVIDER_DEADLINES } from '../config/deadlines.js';
import type { TeacherConfigOf } from '../config/schema.js';
import { TeacherTimeoutError, TeacherUnavailableError } from './errors.js';
import { OpenAITeacher } from './openai.js';
import type { ProbeResult } from './types.js';

/** Where `scripts/teacher-server.ts` serves by default. */
export const DEFAULT_LLAMA_SERVER_PORT = 8091;
export const DEFAULT_LLAMA_SERVER_URL = `http://127.0.0.1:${DEFAULT_LLAMA_SERVER_PORT}/v1`;

/** Resolved settings of a llama-server teacher. */
export interface LlamaServerTeacherOptions {
  /** OpenAI-compatible base URL of the server, e.g. http://127.0.0.1:8091/v1 */
  baseURL: string;
  /** model name sent with each request (the server lists its GGUF under this alias) */
  model: string;
  /** cache-key name of the model: `llama-server:<GGUF file name>` */
  modelId: string;
  /** GGUF the server should have loaded (what `teacher-server start` loads for this config) */
  modelPath: string;
  /** name of the environment variable holding the API key (llama-server needs none unless started with --api-key) */
  apiKeyEnv: string;
  /** per-attempt HTTP timeout, ms */
  timeoutMs: number;
  /** retries of the `openai` package itself (default 0: the caller retries with backoff) */
  maxRetries?: number;
}

/**
 * Resolves a validated `teacher` config section to llama-server teacher settings.
 * - baseURL: `cfg.baseURL`, default http://127.0.0.1:8091/v1
 * - modelPath: `cfg.modelPath`, default `defaultModelPath`
 * - model: `cfg.model`, default the GGUF file name (e.g. SmolLM2-135M-Instruct.Q4_1.gguf)
 * - modelId: `llama-server:<GGUF file name>` (part of every cache key: the GGUF decides the
 *   outputs, whatever alias `model` the requests carry)
 * - timeoutMs: `cfg.timeoutMs`, default 120 000 (config/deadlines.ts)
 */
export function llamaServerTeacherOptions(
  cfg: TeacherConfigOf<'llama-server'>,
  defaultModelPath: string,
): LlamaServerTeacherOptions {
  const modelPath = cfg.modelPath ?? defaultModelPath;
  const model = cfg.model ?? path.basename(modelPath);
  return {
    baseURL: cfg.baseURL ?? DEFAULT_LLAMA_SERVER_URL,
    model,
    modelId: `llama-server:${path.basename(modelPath)}`,
    modelPath,
    apiKeyEnv: cfg.apiKeyEnv,
    timeoutMs: cfg.timeoutMs ?? PROVIDER_DEADLINES['llama-server'].callTimeoutMs,
  };
}

/** `OpenAITeacher` against llama-server, with a GGUF-named `modelId`. */
export class LlamaServerTeacher extends OpenAITeacher {
  override readonly modelId: string;
  readonly baseURL: string;

  /**
   * @param opts from `llamaServerTeacherOptions`; nothing is contacted yet
   */
  constructor(opts: LlamaServerTeacherOptions) {
    super({
      baseURL: opts.baseURL,
      model: opts.model,
      apiKeyEnv: opts.apiKeyEnv,
      timeoutMs: opts.timeoutMs,
      maxRetries: opts.maxRetries,
    });
    this.modelId = opts.modelId;
    this.baseURL = opts.baseURL;
  }

  /**
   * `OpenAITeacher.probe`, with a hint on how to start the server when it is not answering.
   */
  override async probe(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProbeResult> {
    try {
      return await super.probe(opts);
    } catch (err) {
      if (err instanceof TeacherUnavailableError && !(err instanceof TeacherTimeoutError) && err.status === undefined)
        throw new TeacherUnavailableError(
          `${err.message}. Start llama-server with \`npm run teacher-server -- start\` ` +
            '(build it once with `S3_LLAMA_TOOLS=1 bash scripts/setup.sh`)',
        );
      throw err;
    }
  }
}
