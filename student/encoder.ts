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
 * Embedding cache: key = sha256(absolute model path + "\0" + text) (hex). Vectors are kept
 * in memory for the whole process (shared by all encoders of the same model and cacheDir)
 * and appended to `<cacheDir>/emb-<sha256(model path)[0:16]>.jsonl`, one line
 * {"k": key, "v": base64 of little-endian float32} per text, so that a later EES round, or
 * a later process, only embeds texts it has never seen. Malformed lines (e.g. a write cut
 * short by a crash) are skipped when the file is read.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, appendFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { env, pipeline, type FeatureExtractionPipeline } from '@huggingface/transformers';

/** Process-wide embedding counters (cumulative since start, or since {@link resetEmbeddingCaches}). */
export interface EmbeddingStats {
  /** texts run through the encoder */
  embedded: number;
  /** texts answered from the in-memory cache */
  cacheHits: number;
  /** vectors read from cache files on disk */
  loadedFromDisk: number;
  /** forward passes run (see {@link planBatches}) */
  passes: number;
}

const zeroStats = (): EmbeddingStats => ({ embedded: 0, cacheHits: 0, loadedFromDisk: 0, passes: 0 });
const stats: EmbeddingStats = zeroStats();
const pipelines = new Map<string, Promise<FeatureExtractionPipeline>>();
const caches = new Map<string, Map<string, Float32Array>>();
/** Model loads run one at a time, since env.localModelPath is global. */
let loading: Promise<unknown> = Promise.resolve();

/** A snapshot of the process-wide embedding counters. */
export function embeddingStats(): EmbeddingStats {
  return { ...stats };
}

/** Forgets every in-memory cache and zeroes the counters (cache files stay); for tests. */
export function resetEmbeddingCaches(): void {
  caches.clear();
  Object.assign(stats, zeroStats());
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Loads (once per process and path) the feature-extraction pipeline of a local model folder. */
function loadPipeline(modelPath: string): Promise<FeatureExtractionPipeline> {
  let p = pipelines.get(modelPath);
  if (!p) {
    const missing = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'].filter(
      (f) => !existsSync(join(modelPath, f)),
    );
    if (missing.length) throw new Error(`encoder: ${modelPath} lacks ${missing.join(', ')}`);
    const id = basename(modelPath);
    if (!/^[\w.-]{1,96}$/.test(id) || id.includes('..') || id.includes('--'))
      throw new Error(`encoder: folder name "${id}" must match [A-Za-z0-9_.-]{1,96} without ".." or "--"`);
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

/** Frozen sentence encoder with a persistent embedding cache. */
export class FrozenEncoder {
  /** absolute path of the model folder */
  readonly modelPath: string;
  private readonly file: string;
  private readonly batchSize: number;
  private readonly batchTokens: number;

  /**
   * @param modelPath local model folder (relative paths resolve against the cwd)
   * @param opts cacheDir: directory of the embedding cache (created if needed);
   *   batchSize: at most this many texts per forward pass (default 32);
   *   batchTokens: at most this many padded tokens per forward pass (default 2,048; see
   *   {@link planBatches}: onnxruntime-node runs a forward pass synchronously on the worker's
   *   event loop, so this bounds how long one pass blocks heartbeats and workflow tasks)
   */
  constructor(modelPath: string, opts: { cacheDir: string; batchSize?: number; batchTokens?: number }) {
    this.modelPath = resolve(modelPath);
    this.file = join(resolve(opts.cacheDir), `emb-${sha256(this.modelPath).slice(0, 16)}.jsonl`);
    this.batchSize = opts.batchSize ?? 32;
    this.batchTokens = opts.batchTokens ?? 2048;
  }

  /** Path of the JSONL cache file of this model. */
  get cacheFile(): string {
    return this.file;
  }

  private memory(): Map<string, Float32Array> {
    let m = caches.get(this.file);
    if (m) return m;
    m = new Map();
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, 'utf8').split('\n')) {
        try {
          const { k, v } = JSON.parse(line) as { k: string; v: string };
          const b = Buffer.from(v, 'base64');
          if (typeof k !== 'string' || b.length === 0 || b.length % 4) continue;
          m.set(k, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
          stats.loadedFromDisk++;
        } catch {
          // empty or truncated line
        }
      }
    }
    caches.set(this.file, m);
    return m;
  }

  /**
   * Unit-norm mean-pooled embeddings, one per text (cached; duplicates embedded once).
   * Texts longer than the model's max length (tokenizer_config model_max_length) are
   * truncated by the tokenizer.
   * @returns Float32Array vectors of the encoder's hidden size, aligned with `texts`
   * @throws Error if the model folder is incomplete or cannot be loaded
   */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const mem = this.memory();
    const keys = texts.map((t) => sha256(this.modelPath + '\0' + t));
    const todo = new Map<string, string>();
    keys.forEach((k, i) => {
      if (!mem.has(k)) todo.set(k, texts[i]);
    });
    stats.cacheHits += texts.length - todo.size;
    if (todo.size > 0) {
      const extractor = await loadPipeline(this.modelPath);
      const maxLength = Number(extractor.tokenizer.model_max_length) || 512;
      const pending = [...todo].map(([k, t]) => ({
        k,
        t,
        tokens: Math.min(extractor.tokenizer.encode(t).length, maxLength),
      }));
      mkdirSync(dirname(this.file), { recursive: true });
      for (const batch of planBatches(pending, { maxTexts: this.batchSize, maxTokens: this.batchTokens })) {
        // yield between passes: each pass blocks the event loop while it runs
        await new Promise((r) => setImmediate(r));
        const out = await extractor(
          batch.map((b) => b.t),
          { pooling: 'mean', normalize: true },
        );
        const [n, dim] = out.dims;
        const data = out.data as Float32Array;
        const lines: string[] = [];
        for (let i = 0; i < n; i++) {
          const v = data.slice(i * dim, (i + 1) * dim);
          mem.set(batch[i].k, v);
          lines.push(JSON.stringify({ k: batch[i].k, v: Buffer.from(v.buffer).toString('base64') }));
        }
        appendFileSync(this.file, lines.join('\n') + '\n');
        stats.embedded += n;
        stats.passes++;
      }
    }
    return keys.map((k) => mem.get(k)!);
  }
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
