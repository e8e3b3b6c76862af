/**
 * The teachers of one worker process, shared by every activity and workflow it runs.
 *
 * - **One backend per model**: a `TeacherBackend` per (provider, model file / endpoint), whatever
 *   the sampling parameters (they travel with each call), so runs whose teacher blocks differ
 *   only in `maxTokens` or `temperature` share one loaded model.
 * - **One bounded, fair queue per backend** (`FairQueue`, capacity = the `teacher.concurrency`
 *   of the first run that used the backend): calls of all activities interleave round robin
 *   by workflow.
 * - **No call paid twice**: before the queue, each call is looked up in the persisted cache
 *   (`TeacherCache`); a call whose cache key is already being computed — by a stale attempt of
 *   the same activity, or by another workflow — waits for that computation instead of paying
 *   again (the per-key in-flight map). The computation is aborted only when every waiter has
 *   gone (cancelled), so a cancelled stale attempt stops its calls at once.
 * - **Deadlines per call**: each attempt of a call gets `callTimeoutMs`; a timeout,
 *   connection error, 429 or 5xx is retried up to `maxRetries` times with exponential backoff
 *   (1 s, 2 s, 4 s, … ≤ 30 s) and counted, instead of failing the whole activity.
 */
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { byProvider, type PerProvider, type TeacherConfig } from '../config/schema.js';
import type { SamplingParams } from '../domain/types.js';
import { cacheKey, type TeacherCache } from './cache.js';
import { TeacherContextLengthError, TeacherTimeoutError, TeacherUnavailableError } from './errors.js';
import { FairQueue } from './queue.js';
import type { Teacher, TeacherCall, TeacherReply } from './types.js';

/** Builds the teacher of a backend (the pool calls it once per backend key). */
export type TeacherFactory = (cfg: TeacherConfig, defaultModelPath: string) => Teacher;

/** Counters of one backend since the worker started (what `bench:load` prints). */
export interface BackendStats {
  /** calls sent to the model (each paid once, retries not counted) */
  paid: number;
  /** calls answered from the persisted cache */
  cacheHits: number;
  /** calls that joined an identical call already in flight instead of paying again */
  joined: number;
  /** failed attempts that were retried (timeouts, connection errors, 429, 5xx) */
  retries: number;
  /** attempts that ran past their deadline */
  timeouts: number;
}

/** Options of one call through a backend. */
export interface BackendCallOptions {
  cache: TeacherCache;
  /** fairness key, conventionally the workflow id */
  client: string;
  /** deadline of one attempt, ms */
  callTimeoutMs: number;
  /** retries after a failed attempt (TeacherUnavailableError, timeouts) */
  maxRetries: number;
  /** hard cancellation (the activity was cancelled): leave at once, abort the call if no one else waits */
  signal?: AbortSignal;
  /** soft stop (a sibling call failed): leave only if the call has not started yet */
  stop?: AbortSignal;
  /** called before each retry with the error and the attempt number (0-based) */
  onRetry?: (error: Error, attempt: number) => void;
}

interface InFlight {
  promise: Promise<TeacherReply>;
  controller: AbortController;
  waiters: number;
  /** the call reached the model (past cache and queue): a soft stop no longer drops it */
  started: boolean;
}

/** One model (file or endpoint) shared by all activities of the worker. */
export class TeacherBackend {
  readonly stats: BackendStats = { paid: 0, cacheHits: 0, joined: 0, retries: 0, timeouts: 0 };
  readonly queue: FairQueue;
  readonly #inflight = new Map<string, InFlight>();

  /** @param capacity calls sent to the teacher at once */
  constructor(
    readonly teacher: Teacher,
    capacity: number,
  ) {
    this.queue = new FairQueue(capacity);
  }

  /** Calls being computed now (cache lookup, queue or model), by cache key. */
  get inFlight(): number {
    return this.#inflight.size;
  }

  /**
   * One call: persisted cache, else an identical in-flight call, else the fair queue and the
   * model (with deadline and retries); a fresh reply is cached before it is returned.
   * @returns the reply; `cached: true` when this caller did not pay for it (cache hit or joined)
   * @throws the hard signal's reason; `opts.stop`'s reason while not started; the teacher's
   *   error after retries (TeacherContextLengthError, TeacherConfigError, TeacherUnavailableError,
   *   TeacherTimeoutError)
   */
  async call(call: TeacherCall, params: SamplingParams, opts: BackendCallOptions): Promise<TeacherReply> {
    opts.signal?.throwIfAborted();
    opts.stop?.throwIfAborted();
    const key = cacheKey(this.teacher.modelId, call, params);
    let entry = this.#inflight.get(key);
    const joined = entry !== undefined;
    if (entry) this.stats.joined++;
    else {
      const controller = new AbortController();
      const created: InFlight = { controller, waiters: 0, started: false, promise: Promise.resolve(undefined!) };
      created.promise = this.#compute(key, call, params, opts, created).finally(() => {
        if (this.#inflight.get(key) === created) this.#inflight.delete(key);
      });
      created.promise.catch(() => undefined); // settled by whoever still waits, or by no one
      this.#inflight.set(key, (entry = created));
    }
    const e = entry;
    e.waiters++;
    let leftBy: 'signal' | 'stop' | undefined;
    try {
      const reply = await new Promise<TeacherReply>((resolve, reject) => {
        const onSignal = () => {
          leftBy = 'signal';
          reject(opts.signal!.reason);
        };
        const onStop = () => {
          if (e.started) return; // in flight: wait for it, so it is cached and paid only once
          leftBy = 'stop';
          reject(opts.stop!.reason);
        };
        opts.signal?.addEventListener('abort', onSignal, { once: true });
        opts.stop?.addEventListener('abort', onStop, { once: true });
        e.promise.then(resolve, reject).finally(() => {
          opts.signal?.removeEventListener('abort', onSignal);
          opts.stop?.removeEventListener('abort', onStop);
        });
      });
      return joined && !reply.cached ? { ...reply, cached: true } : reply;
    } finally {
      e.waiters--;
      if (e.waiters === 0 && leftBy && (leftBy === 'signal' || !e.started))
        e.controller.abort(leftBy === 'signal' ? opts.signal!.reason : opts.stop!.reason);
    }
  }

  async #compute(
    key: string,
    call: TeacherCall,
    params: SamplingParams,
    opts: BackendCallOptions,
    entry: InFlight,
  ): Promise<TeacherReply> {
    const signal = entry.controller.signal;
    const hit = await opts.cache.get(key);
    if (hit) {
      this.stats.cacheHits++;
      return hit;
    }
    // the reply is cached before the slot is released: the next call starts only once this one is safe
    return this.queue.run(
      opts.client,
      async () => {
        entry.started = true;
        const reply = await this.#withRetries(call, params, opts, signal);
        await opts.cache.put(key, reply);
        return reply;
      },
      signal,
    );
  }

  async #withRetries(
    call: TeacherCall,
    params: SamplingParams,
    opts: BackendCallOptions,
    signal: AbortSignal,
  ): Promise<TeacherReply> {
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      const deadline = AbortSignal.timeout(opts.callTimeoutMs);
      try {
        this.stats.paid++;
        return await this.teacher.complete(call, params, { signal: AbortSignal.any([signal, deadline]) });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        let error = err as Error;
        if (deadline.aborted || error instanceof TeacherTimeoutError) {
          this.stats.timeouts++;
          error = new TeacherTimeoutError(
            `teacher ${this.teacher.modelId}: a call did not finish within ${opts.callTimeoutMs} ms (teacher.timeoutMs)`,
          );
        }
        if (!(error instanceof TeacherUnavailableError)) throw error;
        if (attempt >= opts.maxRetries) {
          error.message += ` — gave up after ${attempt + 1} attempt(s) (teacher.maxRetries = ${opts.maxRetries})`;
          throw error;
        }
        this.stats.retries++;
        opts.onRetry?.(error, attempt);
        await sleep(Math.min(30_000, 1000 * 2 ** attempt), signal);
      }
    }
  }
}

/** What identifies the backend of each provider (after the provider's name in `backendKey`). */
const BACKEND_KEYS: PerProvider<unknown[], [defaultModelPath: string]> = {
  'llama-cpp': (cfg, defaultModelPath) => [path.resolve(cfg.modelPath ?? defaultModelPath), cfg.contextSize ?? 2048],
  'llama-server': (cfg) => [cfg.baseURL ?? null, cfg.model ?? null, cfg.modelPath ?? null, cfg.apiKeyEnv],
  openai: (cfg) => [cfg.baseURL, cfg.model, null, cfg.apiKeyEnv],
};

/**
 * The key of the backend serving a teacher configuration: what identifies the loaded model,
 * never the sampling parameters.
 * - llama-cpp: the resolved GGUF path and context size
 * - llama-server / openai: base URL, model name and the *name* of the key variable
 */
export function backendKey(cfg: TeacherConfig, defaultModelPath: string): string {
  return JSON.stringify([cfg.provider, ...byProvider(BACKEND_KEYS, cfg, defaultModelPath)]);
}

/** The backends of one worker process (a dependency of the activities: `createActivities({ teachers })`). */
export class TeacherPool {
  readonly #backends = new Map<string, TeacherBackend>();

  /**
   * @param opts.defaultModelPath GGUF used when `teacher.modelPath` is unset
   * @param opts.create builds a teacher (default `createTeacher` of teacher/index.ts, passed in by the caller)
   */
  constructor(private readonly opts: { defaultModelPath: string; create: TeacherFactory }) {}

  /** The shared backend of a teacher configuration, created on first use (loads nothing yet). */
  backend(cfg: TeacherConfig): TeacherBackend {
    const key = backendKey(cfg, this.opts.defaultModelPath);
    let b = this.#backends.get(key);
    if (!b) {
      b = new TeacherBackend(this.opts.create(cfg, this.opts.defaultModelPath), cfg.concurrency);
      this.#backends.set(key, b);
    }
    return b;
  }

  /** Every backend created so far. */
  get backends(): TeacherBackend[] {
    return [...this.#backends.values()];
  }

  /** Closes every teacher (worker shutdown); a later `backend()` creates them again. */
  async close(): Promise<void> {
    const all = [...this.#backends.values()];
    this.#backends.clear();
    await Promise.all(all.map((b) => b.teacher.close()));
  }
}

/** A call the backend refused because its prompt does not fit the model's context. */
export interface TeacherRefusal {
  refused: 'context_length';
  message: string;
}

/** Options of `completeAll`: those of `TeacherBackend.call` plus progress. */
export interface CompleteAllOptions extends Omit<
  BackendCallOptions,
  'stop' | 'client' | 'callTimeoutMs' | 'maxRetries'
> {
  /** fairness key, conventionally the workflow id (default "default") */
  client?: string;
  /** deadline of one attempt, ms (default 600 000) */
  callTimeoutMs?: number;
  /** retries after a failed attempt (default 0) */
  maxRetries?: number;
  /** calls in flight when `completeAll` is given a bare Teacher (default 1) */
  concurrency?: number;
  /** called after each call finishes (cache hits and refusals included) with the number done and the total */
  onProgress?: (done: number, total: number) => void;
}

/** True when a `completeAll` outcome is a refusal rather than a reply. */
export const isRefusal = (o: TeacherReply | TeacherRefusal): o is TeacherRefusal => 'refused' in o;

/**
 * Completes every call through the backend (cache → in-flight → fair queue → model); a bare
 * Teacher is wrapped in a backend of `opts.concurrency` slots for this batch.
 * A context-length refusal costs only its call: it comes back as a `TeacherRefusal` in its slot.
 * @returns one outcome per call, in the order of `calls`
 * @throws the first other error, or the signal's reason. After a failure no queued call is
 *   started, and the promise settles only once the calls already at the model have finished
 *   (and been cached), so a retry pays for none of them.
 */
export async function completeAll(
  teacher: TeacherBackend | Teacher,
  calls: TeacherCall[],
  params: SamplingParams,
  opts: CompleteAllOptions,
): Promise<(TeacherReply | TeacherRefusal)[]> {
  const backend = teacher instanceof TeacherBackend ? teacher : new TeacherBackend(teacher, opts.concurrency ?? 1);
  const callOpts = { callTimeoutMs: 600_000, maxRetries: 0, ...opts, client: opts.client ?? 'default' };
  const stop = new AbortController();
  // one listener on the caller's signal; every call listens on `hard` (and `stop`) instead
  const hard = new AbortController();
  const external = opts.signal;
  const forward = () => hard.abort(external!.reason);
  if (external?.aborted) forward();
  else external?.addEventListener('abort', forward, { once: true });
  setMaxListeners(calls.length + 16, hard.signal, stop.signal);
  const total = calls.length;
  let done = 0;
  let failure: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    calls.map(async (call): Promise<TeacherReply | TeacherRefusal> => {
      try {
        const out = await backend
          .call(call, params, { ...callOpts, signal: hard.signal, stop: stop.signal })
          .catch((err: unknown) => {
            if (err instanceof TeacherContextLengthError)
              return { refused: 'context_length', message: err.message } satisfies TeacherRefusal;
            throw err;
          });
        done++;
        opts.onProgress?.(done, total);
        return out;
      } catch (error) {
        if (!failure) {
          failure = { error };
          stop.abort(error);
        }
        throw error;
      }
    }),
  );
  external?.removeEventListener('abort', forward);
  if (failure) throw failure.error;
  return settled.map((s) => (s as PromiseFulfilledResult<TeacherReply | TeacherRefusal>).value);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
