/**
 * Frozen-encoder sentence embeddings for the 'encoder-logreg' student.
 *
 * The encoder is a local transformers.js model folder in Hugging Face layout (config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model.onnx — the fp32 weights are used), run with
 * pipeline('feature-extraction') and mean pooling over real tokens followed by L2
 * normalisation (the Sentence-BERT recipe, Reimers & Gurevych 2019). Nothing is ever fetched
 * from the network: env.allowRemoteModels = false, and the folder is found through
 * env.localModelPath = its parent directory.
 *
 * Embedding cache, one of two kinds (vectors are kept in memory for the whole process, shared by
 * all encoders of the same model and cache, and stored as {"k": key, "v": base64 of
 * little-endian float32} JSON lines, so a vector reads back bit for bit wherever it is read):
 * - a local folder (`{ cacheDir }`): key = sha256(absolute model path + "\0" + text) (hex), one
 *   line per text appended to `<cacheDir>/emb-<sha256(model path)[0:16]>.jsonl`, so that a later
 *   EES round, or a later process, only embeds texts it has never seen. Malformed lines (e.g. a
 *   write cut short by a crash) are skipped when the file is read.
 * - an artifact store (`{ store }`, e.g. `s3://bucket/cache/embeddings/`; see
 *   activities/paths.ts embeddingCacheOf), shared by every worker on every machine that opens it.
 *   The model is named by its content, not its path (machines install it in different folders):
 *   id = sha256 of the recipe and of the four model files (read once per process: about 90 MB for
 *   all-MiniLM-L6-v2), key = sha256(id + "\0" + text). Each
 *   embed() call that computes new vectors writes them as one shard object
 *   `<id[0:16]>/<sha256 of the shard's bytes>.jsonl` (lines sorted by key; a long call writes a
 *   shard whenever {@link SHARD_TEXTS} vectors are pending, so a crash loses about that many): content
 *   addressed, so a PUT is atomic and idempotent and never overwrites another worker's shard. An
 *   embed() call that misses in memory lists `<id[0:16]>/` once (one LIST, paged by 1,000) and
 *   loads every shard it has not loaded yet (one GET each, sha256 checked), then embeds only what
 *   is still missing; a call answered from memory touches the store not at all. Shards are read
 *   in key order and a vector already in memory is kept: a vector a reader has returned never
 *   changes. A vector joins the in-memory cache once its shard is stored
 *   (a failed PUT throws, and the activity's retry embeds those texts again).
 *   What can still be computed twice: a text that two workers embed before either has stored
 *   its shard (e.g. two activities on different machines that start on the same new texts at
 *   once); both shards are kept, and each reader keeps the vector it computed or loaded first
 *   (onnxruntime on different CPUs may differ in the last bits, so the two need not be equal).
 *   Shards are never merged: a store holds one per embed() call that computed something.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, appendFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';
import { DatasetError } from '../data/jsonl.js';
import type { ArtifactStore } from '../store/types.js';

/** Process-wide embedding counters (cumulative since start, or since {@link resetEmbeddingCaches}). */
export interface EmbeddingStats {
  /** texts run through the encoder */
  embedded: number;
  /** texts answered from the in-memory cache */
  cacheHits: number;
  /** vectors read from the cache: lines of cache files on disk, or of shards in a store */
  loadedFromDisk: number;
  /** forward passes run (see {@link planBatches}) */
  passes: number;
}

/** Where an encoder keeps its embeddings: a local folder, or the root of an artifact store
 * (shared by every worker that opens it); see the module comment. */
export type EmbeddingCacheLocation = { cacheDir: string } | { store: ArtifactStore };

/** A long embed() call on a store writes a shard every this many new vectors (about 2 MB of
 * JSON for 384 dimensions), and one with the rest at its end. */
export const SHARD_TEXTS = 1024;

/** The in-memory side of one cache: the vectors, and (store caches) the shards already read. */
interface CacheState {
  mem: Map<string, Float32Array>;
  loaded: Set<string>;
  /** the running or last listing of the store (listings run one at a time) */
  listing: Promise<void>;
}

const zeroStats = (): EmbeddingStats => ({ embedded: 0, cacheHits: 0, loadedFromDisk: 0, passes: 0 });
const stats: EmbeddingStats = zeroStats();
const pipelines = new Map<string, Promise<FeatureExtractionPipeline>>();
const caches = new Map<string, CacheState>();
const modelIds = new Map<string, Promise<string>>();
/** Model loads run one at a time, since env.localModelPath is global. */
let loading: Promise<unknown> = Promise.resolve();

const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];
/** What the vectors are besides the model: part of a store cache's model id. */
const RECIPE = 'feature-extraction fp32 mean-pooling l2-normalised v1';
const SHARD_RE = /^[0-9a-f]{64}\.jsonl$/;

/** A snapshot of the process-wide embedding counters. */
export function embeddingStats(): EmbeddingStats {
  return { ...stats };
}

/** Forgets every in-memory cache and zeroes the counters (cache files and shards stay); for tests. */
export function resetEmbeddingCaches(): void {
  caches.clear();
  Object.assign(stats, zeroStats());
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const newState = (): CacheState => ({ mem: new Map(), loaded: new Set(), listing: Promise.resolve() });

/** The {"k", "v"} JSON line of one vector. */
const lineOf = (k: string, v: Float32Array) =>
  JSON.stringify({ k, v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') });

/** Adds the vectors of JSON lines to `mem` (malformed lines skipped). A key already there is
 * replaced (a local file: its last line wins, as it always did), or kept when `keepFirst`. */
function readLines(text: string, mem: Map<string, Float32Array>, keepFirst = false): void {
  for (const line of text.split('\n')) {
    try {
      const { k, v } = JSON.parse(line) as { k: string; v: string };
      const b = Buffer.from(v, 'base64');
      if (typeof k !== 'string' || b.length === 0 || b.length % 4) continue;
      if (!keepFirst || !mem.has(k))
        mem.set(k, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
      stats.loadedFromDisk++;
    } catch {
      // empty or truncated line
    }
  }
}

/**
 * The content id of a model folder (once per process and path): hex sha256 over {@link RECIPE}
 * and the name, length and bytes of each of {@link MODEL_FILES}.
 * @throws Error when a file cannot be read
 */
function modelIdOf(modelPath: string): Promise<string> {
  let p = modelIds.get(modelPath);
  if (!p) {
    p = (async () => {
      const h = createHash('sha256').update(RECIPE + '\0');
      for (const f of MODEL_FILES) {
        const hf = createHash('sha256');
        let n = 0;
        for await (const chunk of createReadStream(join(modelPath, f))) {
          hf.update(chunk as Buffer);
          n += (chunk as Buffer).length;
        }
        h.update(`${f}\0${n}\0${hf.digest('hex')}\0`);
      }
      return h.digest('hex');
    })();
    modelIds.set(modelPath, p);
    p.catch(() => modelIds.delete(modelPath));
  }
  return p;
}

/** Checks a model folder; loads (once per process and path) its feature-extraction pipeline. */
function loadPipeline(modelPath: string): Promise<FeatureExtractionPipeline> {
  let p = pipelines.get(modelPath);
  if (!p) {
    checkModelFolder(modelPath);
    const id = basename(modelPath);
    p = loading.then(() => {
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.localModelPath = dirname(modelPath) + '/';
      return pipeline('feature-extraction', id, { dtype: 'fp32', device: 'cpu' });
    });
    pipelines.set(modelPath, p);
    loading = p.catch(() => pipelines.delete(modelPath));
  }
  return p;
}

/** @throws Error when the folder lacks a model file or its name is not a plain folder name */
function checkModelFolder(modelPath: string): void {
  const missing = MODEL_FILES.filter((f) => !existsSync(join(modelPath, f)));
  if (missing.length) throw new Error(`encoder: ${modelPath} lacks ${missing.join(', ')}`);
  const id = basename(modelPath);
  if (!/^[\w.-]{1,96}$/.test(id) || id.includes('..') || id.includes('--'))
    throw new Error(`encoder: folder name "${id}" must match [A-Za-z0-9_.-]{1,96} without ".." or "--"`);
}

/** Frozen sentence encoder with a persistent embedding cache (a local folder or an artifact store). */
export class FrozenEncoder {
  /** absolute path of the model folder */
  readonly modelPath: string;
  private readonly file?: string;
  private readonly store?: ArtifactStore;
  private readonly batchSize: number;
  private readonly batchTokens: number;

  /**
   * @param modelPath local model folder (relative paths resolve against the cwd)
   * @param opts the cache: `cacheDir`, a local directory (created if needed), or `store`, an
   *   artifact store whose root holds the shards (see the module comment);
   *   batchSize: at most this many texts per forward pass (default 32);
   *   batchTokens: at most this many padded tokens per forward pass (default 2,048; see
   *   {@link planBatches}: onnxruntime-node runs a forward pass synchronously on the worker's
   *   event loop, so this bounds how long one pass blocks heartbeats and workflow tasks)
   */
  constructor(modelPath: string, opts: EmbeddingCacheLocation & { batchSize?: number; batchTokens?: number }) {
    this.modelPath = resolve(modelPath);
    if ('store' in opts) this.store = opts.store;
    else this.file = join(resolve(opts.cacheDir), `emb-${sha256(this.modelPath).slice(0, 16)}.jsonl`);
    this.batchSize = opts.batchSize ?? 32;
    this.batchTokens = opts.batchTokens ?? 2048;
  }

  /**
   * Path of the JSONL cache file of this model (local-folder caches).
   * @throws TypeError when the cache is an artifact store (it has no single file)
   */
  get cacheFile(): string {
    if (this.file === undefined)
      throw new TypeError(`encoder: the embedding cache is the store ${this.store!.rootUri}`);
    return this.file;
  }

  private localMemory(file: string): Map<string, Float32Array> {
    let st = caches.get(file);
    if (st) return st.mem;
    st = newState();
    if (existsSync(file)) readLines(readFileSync(file, 'utf8'), st.mem);
    caches.set(file, st);
    return st.mem;
  }

  /**
   * Unit-norm mean-pooled embeddings, one per text (cached; duplicates embedded once).
   * Texts longer than the model's max length (tokenizer_config model_max_length) are
   * truncated by the tokenizer.
   * @returns Float32Array vectors of the encoder's hidden size, aligned with `texts`
   * @throws Error if the model folder is incomplete or cannot be loaded; with a store cache, the
   *   store's errors on LIST, GET or PUT (StoreAccessError when unreachable; a shard that vanished
   *   or fails its sha256 check is skipped, not thrown)
   */
  async embed(texts: string[]): Promise<Float32Array[]> {
    if (this.store) return this.embedShared(this.store, texts);
    const file = this.file!;
    const mem = this.localMemory(file);
    const keys = texts.map((t) => sha256(this.modelPath + '\0' + t));
    const todo = new Map<string, string>();
    keys.forEach((k, i) => {
      if (!mem.has(k)) todo.set(k, texts[i]);
    });
    stats.cacheHits += texts.length - todo.size;
    if (todo.size > 0) {
      await this.compute(todo, (batch) => {
        mkdirSync(dirname(file), { recursive: true });
        for (const [k, v] of batch) mem.set(k, v);
        appendFileSync(file, batch.map(([k, v]) => lineOf(k, v)).join('\n') + '\n');
      });
    }
    return keys.map((k) => mem.get(k)!);
  }

  /** embed() on a store cache (see the module comment). */
  private async embedShared(store: ArtifactStore, texts: string[]): Promise<Float32Array[]> {
    checkModelFolder(this.modelPath);
    const id = await modelIdOf(this.modelPath);
    const prefix = `${id.slice(0, 16)}/`;
    const cacheId = `${store.rootUri}\0${prefix}`;
    let st = caches.get(cacheId);
    if (!st) caches.set(cacheId, (st = newState()));
    const state = st;
    const keys = texts.map((t) => sha256(id + '\0' + t));
    const missing = () => {
      const todo = new Map<string, string>();
      keys.forEach((k, i) => {
        if (!state.mem.has(k)) todo.set(k, texts[i]);
      });
      return todo;
    };
    let todo = missing();
    if (todo.size > 0) {
      const listing = state.listing.then(() => loadShards(store, prefix, state));
      state.listing = listing.catch(() => undefined);
      await listing;
      todo = missing();
    }
    stats.cacheHits += texts.length - todo.size;
    if (todo.size > 0) {
      let fresh: [string, Float32Array][] = [];
      const flush = async () => {
        const lines = fresh.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => lineOf(k, v) + '\n');
        const bytes = lines.join('');
        const name = `${sha256(bytes)}.jsonl`;
        await store.put(prefix + name, bytes);
        state.loaded.add(name);
        for (const [k, v] of fresh) if (!state.mem.has(k)) state.mem.set(k, v);
        fresh = [];
      };
      await this.compute(todo, async (batch) => {
        fresh.push(...batch);
        if (fresh.length >= SHARD_TEXTS) await flush();
      });
      if (fresh.length > 0) await flush();
    }
    return keys.map((k) => state.mem.get(k)!);
  }

  /** Embeds `todo` (key → text) in passes (see {@link planBatches}), handing each pass's vectors to `save`. */
  private async compute(
    todo: Map<string, string>,
    save: (batch: [string, Float32Array][]) => void | Promise<void>,
  ): Promise<void> {
    const extractor = await loadPipeline(this.modelPath);
    const maxLength = Number(extractor.tokenizer.model_max_length) || 512;
    const pending = [...todo].map(([k, t]) => ({
      k,
      t,
      tokens: Math.min(extractor.tokenizer.encode(t).length, maxLength),
    }));
    for (const batch of planBatches(pending, { maxTexts: this.batchSize, maxTokens: this.batchTokens })) {
      // yield between passes: each pass blocks the event loop while it runs
      await new Promise((r) => setImmediate(r));
      const out = await extractor(
        batch.map((b) => b.t),
        { pooling: 'mean', normalize: true },
      );
      const [n, dim] = out.dims;
      const data = out.data as Float32Array;
      await save(batch.map((b, i) => [b.k, data.slice(i * dim, (i + 1) * dim)]));
      stats.embedded += n;
      stats.passes++;
    }
  }
}

/**
 * Reads the shards under `prefix` that `state` has not read yet (one LIST, then up to 8 GETs at a
 * time, merged in key order), into state.mem. A shard that vanished since the LIST or whose bytes
 * do not hash to its name (DatasetError, IntegrityError) is skipped for good.
 * @throws the store's other errors (StoreAccessError when unreachable)
 */
async function loadShards(store: ArtifactStore, prefix: string, state: CacheState): Promise<void> {
  const names = (await store.list(prefix))
    .map((key) => key.slice(prefix.length))
    .filter((name) => SHARD_RE.test(name) && !state.loaded.has(name));
  const texts: (string | undefined)[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      try {
        texts[i] = (await store.get(prefix + names[i], { sha256: names[i].slice(0, 64) })).toString('utf8');
      } catch (err) {
        if (!(err instanceof DatasetError)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, names.length) }, worker));
  names.forEach((name, i) => {
    const text = texts[i];
    if (text !== undefined) readLines(text, state.mem, true);
    state.loaded.add(name);
  });
}

/**
 * Splits texts into forward passes for the encoder: sorted by token count (shortest first, so
 * each pass pads little), each pass holding at most `maxTexts` texts and at most `maxTokens`
 * padded tokens (texts × the longest text's tokens); a text longer than `maxTokens` goes alone.
 * Why a token bound: onnxruntime-node runs `session.run` synchronously on the Node event loop
 * (after a setImmediate), so one pass of 32 e-mails of 512 tokens blocked the worker for about
 * 10 s: the Temporal SDK reported workflow tasks of 5–10 s (TMPRL1104) against a 10 s workflow
 * task timeout, and activity heartbeats stall just as long.
 * @param items texts with their token counts (after truncation to the model's max length)
 * @param limits maxTexts ≥ 1, maxTokens ≥ 1
 * @returns the passes in order; every item appears exactly once (stable for equal counts)
 */
export function planBatches<T extends { tokens: number }>(
  items: readonly T[],
  limits: { maxTexts: number; maxTokens: number },
): T[][] {
  const sorted = items.map((item, i) => ({ item, i })).sort((a, b) => a.item.tokens - b.item.tokens || a.i - b.i);
  const batches: T[][] = [];
  let cur: T[] = [];
  for (const { item } of sorted) {
    // sorted ascending, so this item is the longest of the pass it joins
    if (cur.length > 0 && (cur.length >= limits.maxTexts || (cur.length + 1) * item.tokens > limits.maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(item);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/**
 * Features of one example from its embeddings: u for a single text; for a pair (u = text,
 * v = text_pair) the InferSent/Sentence-BERT classifier input [u, v, |u − v|, u ∘ v]
 * (Conneau et al. 2017), of length 4·dim.
 */
export function pairFeatures(u: Float32Array, v?: Float32Array): Float32Array {
  if (!v) return u;
  const d = u.length;
  const out = new Float32Array(4 * d);
  out.set(u, 0);
  out.set(v, d);
  for (let i = 0; i < d; i++) {
    out[2 * d + i] = Math.abs(u[i] - v[i]);
    out[3 * d + i] = u[i] * v[i];
  }
  return out;
}
