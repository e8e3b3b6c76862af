/**
 * Embedded teacher: a GGUF model run in-process by node-llama-cpp (CPU by default; set
 * S3_GPU=1 to let node-llama-cpp pick a GPU backend). It never builds at run time: it loads
 * node-llama-cpp's local build when `scripts/setup.sh` made one (S3_LLAMA_ADDON=1; node-llama-cpp
 * itself prefers a matching local build), else the prebuilt binary from npm.
 *
 * One model and one context are shared per process and model path (loading is slow and
 * memory-heavy), created lazily on the first call (or `probe`). The context has `concurrency`
 * sequences; node-llama-cpp batches the decode steps of all busy sequences of one context into
 * one llama.cpp batch, so concurrent calls share each forward pass. Each call takes a free
 * sequence from a small pool, clears it and evaluates the prompt, wrapped once in the model's
 * chat template, directly on the sequence: the same tokens and sampler settings as a
 * `LlamaChatSession` with `LLAMA_SYSTEM_PROMPT` (so the same text), without the chat session's
 * per-token streaming machinery. Teachers using one model path are counted: the last one to
 * `close()` disposes the model; `disposeLlamaModels()` disposes everything (shutdown, tests).
 * This file owns the teacher and the shared model's life; the per-call machinery (sequence
 * pool, step barrier, chat template, sampling loop) is in teacher/llamaGeneration.ts.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  getLlama,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaGrammar,
  type LlamaModel,
} from 'node-llama-cpp';
import type { TeacherConfigOf } from '../config/schema.js';
import type { SamplingParams } from '../domain/types.js';
import { TeacherConfigError, TeacherContextLengthError, TeacherTimeoutError } from './errors.js';
import { abortable, ChatTemplate, generate, SequencePool, StepBarrier } from './llamaGeneration.js';
import { callSeed } from './seed.js';
import type { CompleteOptions, ProbeResult, Teacher, TeacherCall, TeacherReply } from './types.js';

/** Settings of the embedded teacher (a subset of config `teacher`). */
export interface LlamaCppTeacherOptions {
  /** GGUF file */
  modelPath: string;
  /** parallel sequences of the shared context (calls beyond this wait for a free one). The
   * first teacher of a model path sizes the shared context; later ones reuse it as it is. */
  concurrency: number;
  /** CPU threads; default os.availableParallelism(). Always passed explicitly: leaving
   * node-llama-cpp's default made generation ~100x slower on a 2-core machine. */
  threads?: number;
  /** tokens per sequence (prompt + reply), default 2048 */
  contextSize?: number;
  /** tokens one llama.cpp batch may hold (prompt chunks of all sequences together);
   * default 512 (node-llama-cpp's default) */
  batchSize?: number;
}

/**
 * Resolves a validated 'llama-cpp' `teacher` section to embedded-teacher settings: the GGUF
 * `cfg.modelPath`, default `defaultModelPath`; concurrency, threads and contextSize as configured.
 */
export function llamaCppTeacherOptions(
  cfg: TeacherConfigOf<'llama-cpp'>,
  defaultModelPath: string,
): LlamaCppTeacherOptions {
  return {
    modelPath: cfg.modelPath ?? defaultModelPath,
    concurrency: cfg.concurrency,
    threads: cfg.threads,
    contextSize: cfg.contextSize,
  };
}

export { LLAMA_SYSTEM_PROMPT } from './llamaGeneration.js';

/** Default tokens per sequence. */
const DEFAULT_CONTEXT_SIZE = 2048;

interface Shared {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  pool: SequencePool;
  barrier: StepBarrier;
  template: ChatTemplate;
  /** e.g. "prebuilt" or "localBuild" */
  binary: string;
  loadMs: number;
  /** compiled GBNF grammars by their text (TeacherCall.grammar), created on first use */
  grammars: Map<string, Promise<LlamaGrammar>>;
}

/** A shared model of one path and the number of teachers using it. */
interface Entry {
  shared: Promise<Shared>;
  users: number;
}

let llamaPromise: Promise<Llama> | undefined;
const entries = new Map<string, Entry>();

/** Teacher generating with the process-wide shared model of `modelPath`. */
export class LlamaCppTeacher implements Teacher {
  readonly modelId: string;
  /** tokens per call (prompt + completion): the per-sequence context size */
  readonly contextTokens: number;
  readonly #opts: LlamaCppTeacherOptions;
  #entry: Entry | undefined;

  /**
   * Checks the model file exists; loads nothing yet (the first `complete` or `probe` does).
   * @throws TeacherConfigError naming the path when the GGUF file does not exist
   */
  constructor(opts: LlamaCppTeacherOptions) {
    const modelPath = path.resolve(opts.modelPath);
    if (!existsSync(modelPath))
      throw new TeacherConfigError(
        `teacher model file not found: ${modelPath} (run scripts/setup.sh or set teacher.modelPath)`,
      );
    this.#opts = { ...opts, modelPath };
    this.modelId = `llama-cpp:${path.basename(modelPath)}`;
    this.contextTokens = opts.contextSize ?? DEFAULT_CONTEXT_SIZE;
  }

  /**
   * Generates one chat reply to `call.prompt` with temperature, topP, maxTokens and a seed
   * derived from (prompt, sampleIndex), on a cleared sequence (so the same call on the same
   * machine gives the same text; batching with other calls in flight may still change
   * low-order float bits). `promptTokens` = the templated prompt evaluated before generation,
   * `completionTokens` = the tokens generated (the end-of-turn token not counted).
   * @returns the reply with `cached: false`, `ms` = generation wall time (excluding model load
   *   and any wait for a free sequence)
   * With `call.grammar` (GBNF) only replies of that grammar are sampled.
   * @throws TeacherContextLengthError when prompt tokens + `params.maxTokens` exceed `contextTokens`
   * @throws TeacherConfigError when the model (or node-llama-cpp's native binary) cannot be
   *   loaded, or `call.grammar` is not a valid GBNF grammar
   * @throws the signal's reason as soon as `opts.signal` aborts (generation stops at the next token)
   */
  async complete(call: TeacherCall, params: SamplingParams, opts: CompleteOptions = {}): Promise<TeacherReply> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const shared = await abortable(this.#use(), signal);
    const tokens = shared.template.tokenize(call.prompt);
    if (tokens.length + params.maxTokens > this.contextTokens)
      throw new TeacherContextLengthError(
        `prompt of ${tokens.length} tokens + maxTokens ${params.maxTokens} exceeds the teacher's context of ${this.contextTokens} tokens`,
        tokens.length,
        this.contextTokens,
      );
    const grammar = call.grammar === undefined ? undefined : await grammarOf(shared, call.grammar);
    const sequence = await shared.pool.acquire(signal);
    const t0 = performance.now();
    const run = generate(shared, sequence, tokens, params, callSeed(call), signal, grammar).finally(() =>
      shared.pool.release(sequence),
    );
    const { text, completionTokens } = await abortable(run, signal);
    return {
      text,
      promptTokens: tokens.length,
      completionTokens,
      cached: false,
      ms: Math.round(performance.now() - t0),
    };
  }

  /** Tokens `prompt` takes once wrapped in the chat template (system message included), as
   * `complete` evaluates it. Loads the model on first use. */
  async countPromptTokens(prompt: string): Promise<number> {
    const shared = await this.#use();
    return shared.template.tokenize(prompt).length;
  }

  /**
   * Loads the shared model and context (once per process and model path).
   * @returns e.g. "llama-cpp model SmolLM2…gguf loaded in 0.4 s (prebuilt binary, 2 sequences × 2048 tokens, 2 threads)"
   * @throws TeacherConfigError when the model or the binary cannot be loaded;
   *   TeacherTimeoutError when loading takes longer than `timeoutMs` (loading goes on);
   *   the signal's reason when `signal` aborts first
   */
  async probe(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProbeResult> {
    opts.signal?.throwIfAborted();
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout =
      opts.timeoutMs === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new TeacherTimeoutError(
                    `teacher model ${this.#opts.modelPath} not loaded within ${opts.timeoutMs} ms`,
                  ),
                ),
              opts.timeoutMs,
            );
          });
    try {
      const use = abortable(this.#use(), opts.signal);
      const s = await (timeout ? Promise.race([use, timeout]) : use);
      const waited = (performance.now() - t0) / 1000;
      const threads = s.context.idealThreads;
      return {
        detail:
          `llama-cpp model ${path.basename(this.#opts.modelPath)} loaded in ${(s.loadMs / 1000).toFixed(1)} s` +
          (waited > 0.05 ? '' : ' (already loaded)') +
          ` (${s.binary} binary, ${s.context.totalSequences} sequences × ${s.context.contextSize} tokens, ${threads} threads)`,
        contextTokens: this.contextTokens,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops using the shared model; the last teacher of a model path disposes its model and
   * context (and the backend when no model is left). Call after this teacher's calls have
   * settled. Idempotent; a later `complete` loads the model again.
   */
  async close(): Promise<void> {
    const entry = this.#entry;
    this.#entry = undefined;
    if (!entry || --entry.users > 0) return;
    if (entries.get(this.#opts.modelPath) === entry) entries.delete(this.#opts.modelPath);
    await disposeEntry(entry);
    if (entries.size === 0) await disposeBackend();
  }

  /** The shared model of this teacher's path, counting this teacher as a user once. */
  #use(): Promise<Shared> {
    const key = this.#opts.modelPath;
    if (this.#entry && entries.get(key) !== this.#entry) this.#entry = undefined; // failed or force-disposed
    if (!this.#entry) {
      let entry = entries.get(key);
      if (!entry) {
        const created: Entry = { shared: createShared(this.#opts), users: 0 };
        created.shared.catch(() => entries.get(key) === created && entries.delete(key)); // a later call retries
        entries.set(key, (entry = created));
      }
      entry.users++;
      this.#entry = entry;
    }
    return this.#entry.shared;
  }
}

/** The compiled grammar of `gbnf` on the shared model's backend (compiled once per text).
 * @throws TeacherConfigError when llama.cpp cannot parse it */
function grammarOf(shared: Shared, gbnf: string): Promise<LlamaGrammar> {
  let g = shared.grammars.get(gbnf);
  if (!g) {
    g = shared.llama.createGrammar({ grammar: gbnf }).catch((err: unknown) => {
      shared.grammars.delete(gbnf);
      throw new TeacherConfigError(`invalid teacher grammar: ${(err as Error).message}`, undefined, { cause: err });
    });
    shared.grammars.set(gbnf, g);
  }
  return g;
}

/**
 * Disposes every shared model and context and the llama.cpp backend of this process,
 * whoever still uses them. For shutdown and tests, after all calls have settled; a later
 * call loads the model again.
 */
export async function disposeLlamaModels(): Promise<void> {
  const all = [...entries.values()];
  entries.clear();
  for (const e of all) await disposeEntry(e);
  await disposeBackend();
}

async function disposeEntry(entry: Entry): Promise<void> {
  const s = await entry.shared.catch(() => undefined);
  if (!s) return;
  await s.context.dispose();
  await s.model.dispose();
}

async function disposeBackend(): Promise<void> {
  const llama = await llamaPromise?.catch(() => undefined);
  llamaPromise = undefined;
  await llama?.dispose();
}

async function createShared(opts: LlamaCppTeacherOptions): Promise<Shared> {
  const t0 = performance.now();
  // build: 'never' = never compile at run time; a local build made by scripts/setup.sh
  // (S3_LLAMA_ADDON=1) for these build options is preferred over the prebuilt binary
  llamaPromise ??= getLlama({
    gpu: process.env.S3_GPU === '1' ? 'auto' : false,
    build: 'never',
    logLevel: LlamaLogLevel.warn,
  });
  let llama: Llama;
  try {
    llama = await llamaPromise;
  } catch (err) {
    llamaPromise = undefined;
    throw new TeacherConfigError(`node-llama-cpp could not load its binary: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: opts.modelPath });
  } catch (err) {
    throw new TeacherConfigError(`cannot load teacher model ${opts.modelPath}: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  const context = await model.createContext({
    sequences: opts.concurrency,
    threads: opts.threads ?? os.availableParallelism(),
    contextSize: opts.contextSize ?? DEFAULT_CONTEXT_SIZE,
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
  });
  return {
    llama,
    model,
    context,
    pool: new SequencePool(context),
    barrier: new StepBarrier(),
    template: new ChatTemplate(model),
    binary: llama.buildType,
    loadMs: performance.now() - t0,
    grammars: new Map(),
  };
}
