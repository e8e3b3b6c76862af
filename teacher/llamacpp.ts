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
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  getLlama,
  LlamaLogLevel,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { TeacherConfigOf } from '../config/schema.js';
import type { SamplingParams } from '../domain/types.js';
import { TeacherConfigError, TeacherContextLengthError, TeacherTimeoutError } from './errors.js';
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

/** System message of every chat session (short: it costs prompt tokens on each call). */
export const LLAMA_SYSTEM_PROMPT = 'You are a helpful assistant.';

/** Default tokens per sequence. */
const DEFAULT_CONTEXT_SIZE = 2048;
/** Repeat penalty window of node-llama-cpp's LlamaChat (kept so outputs stay the same). */
const REPEAT_PENALTY_LAST_TOKENS = 64;

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
   * @throws TeacherContextLengthError when prompt tokens + `params.maxTokens` exceed `contextTokens`
   * @throws TeacherConfigError when the model (or node-llama-cpp's native binary) cannot be loaded
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
    const sequence = await shared.pool.acquire(signal);
    const t0 = performance.now();
    const run = generate(shared, sequence, tokens, params, callSeed(call), signal).finally(() =>
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

/**
 * Evaluates `prompt` on the (cleared) sequence and samples until an end-of-generation token,
 * the chat template's textual stop string or `maxTokens`. Sampler settings as LlamaChat's:
 * topK 40 (node-llama-cpp's default), repeat penalty over the last 64 generated tokens
 * (newlines excepted).
 */
async function generate(
  shared: Shared,
  sequence: LlamaContextSequence,
  prompt: Token[],
  params: SamplingParams,
  seed: number,
  signal: AbortSignal | undefined,
): Promise<{ text: string; completionTokens: number }> {
  const { model, template, barrier } = shared;
  await sequence.clearHistory();
  const out: Token[] = [];
  const nl = model.tokens.nl;
  let stopAt = -1; // character offset of a generated textual stop string
  const iterator = sequence.evaluate(prompt, {
    temperature: params.temperature,
    topP: params.topP,
    seed,
    repeatPenalty: {
      punishTokens: () => out.slice(-REPEAT_PENALTY_LAST_TOKENS).filter((t) => t !== nl),
      maxPunishTokens: REPEAT_PENALTY_LAST_TOKENS,
    },
  });
  try {
    for (;;) {
      await barrier.beforeNext();
      let step: IteratorResult<Token>;
      try {
        step = await iterator.next();
      } finally {
        barrier.afterNext();
      }
      if (step.done || signal?.aborted) break;
      const token = step.value;
      out.push(token);
      if (template.textStop && template.mayEndStop(token)) {
        const cut = template.findTextStop(out);
        if (cut >= 0) {
          stopAt = cut;
          break;
        }
      }
      if (out.length >= params.maxTokens) break;
    }
  } finally {
    await iterator.return();
  }
  signal?.throwIfAborted();
  let text = model.detokenize(out);
  if (stopAt >= 0) text = text.slice(0, stopAt);
  return { text, completionTokens: out.length };
}

/**
 * Lines up the token steps of the calls generating on one context, so that node-llama-cpp puts
 * one token of each into the same llama.cpp batch. node-llama-cpp queues a sequence's next
 * decode as soon as that sequence has sampled its token; its batch loop then decodes whatever
 * is queued, so a sequence that samples first runs ahead alone: with 2 sequences it decoded
 * 1.01 tokens per batch (no batching at all), with 4 sequences 2.1 (measured). Here a call asks
 * for its next token only once every call of the context has its current one, all in the same
 * microtask, so their decodes are queued together.
 */
class StepBarrier {
  /** calls whose token request is at the model */
  #inFlight = 0;
  #parked: (() => void)[] = [];
  #releaseScheduled = false;

  /** resolves when this call may request its next token (with every other parked call) */
  beforeNext(): Promise<void> {
    const p = new Promise<void>((resolve) => this.#parked.push(resolve));
    if (this.#inFlight === 0) this.#scheduleRelease();
    return p;
  }

  /** this call's token request has settled */
  afterNext(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#parked.length > 0) this.#scheduleRelease();
  }

  #scheduleRelease(): void {
    if (this.#releaseScheduled) return;
    this.#releaseScheduled = true;
    queueMicrotask(() => {
      this.#releaseScheduled = false;
      const parked = this.#parked;
      this.#parked = [];
      this.#inFlight += parked.length;
      for (const release of parked) release();
    });
  }
}

/** The model's chat template applied to one user prompt after `LLAMA_SYSTEM_PROMPT`. */
class ChatTemplate {
  /** the template's textual stop string (ChatML: "<|im_end|>"), if any */
  readonly textStop: string | undefined;
  readonly #wrapper: ChatWrapper;
  readonly #model: LlamaModel;
  readonly #initial: ChatHistoryItem[];
  readonly #stopLastChar: string | undefined;

  constructor(model: LlamaModel) {
    this.#model = model;
    this.#wrapper = resolveChatWrapper(model);
    const supportsSystem = this.#wrapper.settings.supportsSystemMessages;
    this.#initial =
      supportsSystem == null || supportsSystem
        ? this.#wrapper.generateInitialChatHistory({ systemPrompt: LLAMA_SYSTEM_PROMPT })
        : [];
    const { stopGenerationTriggers } = this.#state('');
    // special tokens (EOS/EOT) end generation natively; a stop trigger made of plain text
    // (e.g. "<|im_end|>" spelled out as ordinary tokens) is checked here
    this.textStop = stopGenerationTriggers
      .map((t) => (t.values.every((v) => typeof v === 'string') ? t.values.join('') : ''))
      .find((s) => s.length > 0);
    this.#stopLastChar = this.textStop?.at(-1);
  }

  /** tokens of the templated conversation, ending where the model's reply starts */
  tokenize(prompt: string): Token[] {
    return this.#state(prompt).contextText.tokenize(this.#model.tokenizer);
  }

  /** whether `token` may complete the textual stop string (cheap pre-check) */
  mayEndStop(token: Token): boolean {
    return !!this.#stopLastChar && this.#model.detokenize([token]).includes(this.#stopLastChar);
  }

  /** the character offset in the detokenized reply where the textual stop string starts, or -1 */
  findTextStop(out: Token[]): number {
    return this.textStop ? this.#model.detokenize(out).indexOf(this.textStop) : -1;
  }

  #state(prompt: string) {
    return this.#wrapper.generateContextState({
      chatHistory: [...this.#initial, { type: 'user', text: prompt }, { type: 'model', response: [] }],
    });
  }
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
  };
}

/** `p`, or the signal's reason as soon as `signal` aborts (`p` itself goes on). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** Hands out the context's sequences one caller at a time; callers beyond them wait (FIFO). */
class SequencePool {
  readonly #free: LlamaContextSequence[] = [];
  readonly #waiting: { resolve: (s: LlamaContextSequence) => void }[] = [];

  constructor(private readonly context: LlamaContext) {}

  /** a free sequence; rejects with the signal's reason (leaving the queue) if it aborts first */
  acquire(signal?: AbortSignal): Promise<LlamaContextSequence> {
    signal?.throwIfAborted();
    const s = this.#free.pop();
    if (s) return Promise.resolve(s);
    if (this.context.sequencesLeft > 0) return Promise.resolve(this.context.getSequence());
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (seq: LlamaContextSequence) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(seq);
        },
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  release(s: LlamaContextSequence): void {
    const next = this.#waiting.shift();
    if (next) next.resolve(s);
    else this.#free.push(s);
  }
}
