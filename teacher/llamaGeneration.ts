/**
 * The per-call machinery of the embedded teacher (teacher/llamacpp.ts) on one shared
 * node-llama-cpp context: the pool of the context's sequences, the barrier that lines up the
 * token steps of concurrent calls so they share each llama.cpp batch, the model's chat template
 * and the sampling loop of one call. Nothing here loads or disposes models; llamacpp.ts owns the
 * process-wide shared model and hands these pieces a loaded model and context.
 */
import {
  LlamaGrammarEvaluationState,
  resolveChatWrapper,
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import type { SamplingParams } from '../domain/types.js';

/** System message of every chat session (short: it costs prompt tokens on each call). */
export const LLAMA_SYSTEM_PROMPT = 'You are a helpful assistant.';

/** Repeat penalty window of node-llama-cpp's LlamaChat (kept so outputs stay the same). */
const REPEAT_PENALTY_LAST_TOKENS = 64;

/** What one call generates with: the shared model, its chat template and the context's step barrier. */
export interface GenerationContext {
  model: LlamaModel;
  template: ChatTemplate;
  barrier: StepBarrier;
}

/**
 * Evaluates `prompt` on the (cleared) sequence and samples until an end-of-generation token,
 * the chat template's textual stop string or `maxTokens`. Sampler settings as LlamaChat's:
 * topK 40 (node-llama-cpp's default), repeat penalty over the last 64 generated tokens
 * (newlines excepted). With `grammar`, only tokens the grammar allows are sampled (a fresh
 * grammar state per call) and generation also ends where the grammar is complete.
 */
export async function generate(
  shared: GenerationContext,
  sequence: LlamaContextSequence,
  prompt: Token[],
  params: SamplingParams,
  seed: number,
  signal: AbortSignal | undefined,
  grammar?: LlamaGrammar,
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
    ...(grammar ? { grammarEvaluationState: new LlamaGrammarEvaluationState({ model, grammar }) } : {}),
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
export class StepBarrier {
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
export class ChatTemplate {
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

/** `p`, or the signal's reason as soon as `signal` aborts (`p` itself goes on). */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
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
export class SequencePool {
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
