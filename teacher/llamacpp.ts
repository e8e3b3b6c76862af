/**
 * Embedded teacher: a GGUF model run in-process by node-llama-cpp (CPU by default; set
 * S3_GPU=1 to let node-llama-cpp pick a GPU backend). Prebuilt binaries only, never a build.
 *
 * One model and one context are shared per process and model path (loading is slow and
 * memory-heavy), created lazily on the first call. The context has `concurrency` sequences;
 * each call takes a free sequence from a small pool, clears it, runs a fresh chat session on
 * it and gives the sequence back. Teachers using one model path are counted: the last one
 * to `close()` disposes the model; `disposeLlamaModels()` disposes everything (shutdown, tests).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  getLlama,
  LlamaChatSession,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from 'node-llama-cpp';
import type { SamplingParams } from '../domain/types.js';
import { TeacherConfigError } from './errors.js';
import { callSeed } from './seed.js';
import type { Teacher, TeacherCall, TeacherReply } from './types.js';

/** Settings of the embedded teacher (a subset of config `teacher`). */
export interface LlamaCppTeacherOptions {
  /** GGUF file */
  modelPath: string;
  /** parallel sequences of the shared context (calls beyond this wait for a free one) */
  concurrency: number;
  /** CPU threads; default os.availableParallelism(). Always passed explicitly: leaving
   * node-llama-cpp's default made generation ~100x slower on a 2-core machine. */
  threads?: number;
  /** tokens per sequence (prompt + reply), default 2048 */
  contextSize?: number;
}

/** System message of every chat session (short: it costs prompt tokens on each call). */
export const LLAMA_SYSTEM_PROMPT = 'You are a helpful assistant.';

interface Shared {
  model: LlamaModel;
  context: LlamaContext;
  pool: SequencePool;
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
  readonly #opts: LlamaCppTeacherOptions;
  #entry: Entry | undefined;

  /**
   * Checks the model file exists; loads nothing yet (the first `complete` does).
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
  }

  /**
   * Generates one chat reply to `call.prompt` with temperature, topP, maxTokens and a seed
   * derived from (prompt, sampleIndex), on a cleared sequence (so the same call on the same
   * machine gives the same text; parallel batching may still change low-order float bits).
   * Tokens are counted with the model's tokenizer: `promptTokens` = the templated
   * conversation evaluated before generation, `completionTokens` = the reply.
   * @returns the reply with `cached: false`, `ms` = generation wall time (excluding model load
   *   and any wait for a free sequence)
   * @throws TeacherConfigError when the model (or node-llama-cpp's native binary) cannot be loaded
   */
  async complete(call: TeacherCall, params: SamplingParams): Promise<TeacherReply> {
    const { model, pool } = await this.#use();
    const sequence = await pool.acquire();
    const t0 = performance.now();
    try {
      await sequence.clearHistory();
      const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: LLAMA_SYSTEM_PROMPT });
      try {
        const text = await session.prompt(call.prompt, {
          temperature: params.temperature,
          topP: params.topP,
          maxTokens: params.maxTokens,
          seed: callSeed(call),
        });
        const completionTokens = model.tokenize(text).length;
        const promptTokens = Math.max(0, sequence.contextTokens.length - completionTokens);
        return { text, promptTokens, completionTokens, cached: false, ms: Math.round(performance.now() - t0) };
      } finally {
        session.dispose({ disposeSequence: false });
      }
    } finally {
      pool.release(sequence);
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
  llamaPromise ??= getLlama({ gpu: process.env.S3_GPU === '1' ? 'auto' : false, build: 'never' });
  let llama: Llama;
  try {
    llama = await llamaPromise;
  } catch (err) {
    llamaPromise = undefined;
    throw new TeacherConfigError(
      `node-llama-cpp could not load its prebuilt binary: ${(err as Error).message}`,
      undefined,
      {
        cause: err,
      },
    );
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
    contextSize: opts.contextSize ?? 2048,
  });
  return { model, context, pool: new SequencePool(context) };
}

/** Hands out the context's sequences one caller at a time; callers beyond them wait (FIFO). */
class SequencePool {
  readonly #free: LlamaContextSequence[] = [];
  readonly #waiting: ((s: LlamaContextSequence) => void)[] = [];

  constructor(private readonly context: LlamaContext) {}

  acquire(): Promise<LlamaContextSequence> {
    const s = this.#free.pop();
    if (s) return Promise.resolve(s);
    if (this.context.sequencesLeft > 0) return Promise.resolve(this.context.getSequence());
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(s: LlamaContextSequence): void {
    const next = this.#waiting.shift();
    if (next) next(s);
    else this.#free.push(s);
  }
}
