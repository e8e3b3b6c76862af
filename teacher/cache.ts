/**
 * Persisted per-call teacher cache: a retried or resumed activity never pays twice for a
 * call that already finished. One small JSON object per call at `<key[0..2]>/<key>.json`, written
 * right after the call completes, so a crash leaves either the whole entry or none:
 * - in a local folder (`new TeacherCache(dir)`, dir conventionally `<cacheDir>/teacher`):
 *   temp file + rename;
 * - or in an artifact store (`new TeacherCache(store)`, e.g. `s3://bucket/cache/teacher/`; see
 *   activities/paths.ts teacherCacheOf): one atomic, idempotent PUT. Every worker that opens the
 *   same store shares the entries, so a call paid by a worker on one machine is a hit for all.
 *   What can still be paid twice: a call that two workers on different machines start before
 *   either has stored it (the in-flight de-duplication of TeacherPool is per worker).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from '../data/jsonl.js';
import type { SamplingParams } from '../domain/types.js';
import type { ArtifactStore } from '../store/types.js';
import type { TeacherCall, TeacherReply } from './types.js';

const KEY_RE = /^[0-9a-f]{64}$/;

/**
 * The cache key of one call: hex sha256 of the JSON of
 * `{modelId, prompt, sampleIndex, params: {temperature, topP, maxTokens}}`, with `seed` after
 * `sampleIndex` when the call carries the run's seed and `grammar` after the params when it
 * carries a grammar (fixed key order, so equal calls give
 * equal keys whatever order the caller built its objects in).
 * @returns 64 lowercase hex characters
 */
export function cacheKey(modelId: string, call: TeacherCall, params: SamplingParams): string {
  const canonical = JSON.stringify({
    modelId,
    prompt: call.prompt,
    sampleIndex: call.sampleIndex,
    ...(call.seed === undefined ? {} : { seed: call.seed }),
    params: { temperature: params.temperature, topP: params.topP, maxTokens: params.maxTokens },
    ...(call.grammar === undefined ? {} : { grammar: call.grammar }),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** File-per-call (or object-per-call) store of teacher replies (safe for concurrent writers: last write wins). */
export class TeacherCache {
  /** the local folder of the entries, or the store's root URI */
  readonly root: string;
  /** the artifact store holding the entries, when not a local folder */
  readonly store?: ArtifactStore;

  /**
   * @param where a local directory, conventionally `<config.cacheDir>/teacher` (created on first
   *   put), or an artifact store whose root holds the entries
   */
  constructor(where: string | ArtifactStore) {
    if (typeof where === 'string') this.root = path.resolve(where);
    else {
      this.store = where;
      this.root = where.rootUri;
    }
  }

  /** Key of the entry of `key` in the store: `<key[0..2]>/<key>.json`. @throws TypeError on an invalid key */
  entryKey(key: string): string {
    if (!KEY_RE.test(key)) throw new TypeError(`TeacherCache: invalid key "${key}"`);
    return `${key.slice(0, 2)}/${key}.json`;
  }

  /** Path (local folder) or URI (store) of the entry of `key`. @throws TypeError when `key` is not a cacheKey() value */
  fileOf(key: string): string {
    const entry = this.entryKey(key);
    return this.store ? this.store.uriOf(entry) : path.join(this.root, ...entry.split('/'));
  }

  /**
   * @returns the stored reply with `cached: true` (other fields as stored, `ms` being the
   *   original call's wall time), or undefined when absent. An unreadable or corrupt entry
   *   counts as absent (and is removed from a local folder; in a store the next put replaces it).
   * @throws TypeError on an invalid key; rethrows I/O errors other than a missing entry
   *   (StoreAccessError when the store cannot be reached)
   */
  async get(key: string): Promise<TeacherReply | undefined> {
    if (this.store) {
      let raw: Buffer;
      try {
        raw = await this.store.get(this.entryKey(key));
      } catch (err) {
        if (err instanceof DatasetError) return undefined; // missing
        throw err;
      }
      const reply = parseEntry(raw.toString('utf8'), key);
      return reply && { ...reply, cached: true };
    }
    const file = this.fileOf(key);
    let raw: string;
    try {
      raw = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const reply = parseEntry(raw, key);
    if (!reply) {
      await rm(file, { force: true });
      return undefined;
    }
    return { ...reply, cached: true };
  }

  /**
   * Stores `reply` under `key` atomically (local: write `<file>.<random>.tmp`, then rename;
   * store: one PUT). The `cached` flag is not stored. @throws TypeError on an invalid key; I/O errors
   */
  async put(key: string, reply: TeacherReply): Promise<void> {
    const entry = JSON.stringify({
      key,
      text: reply.text,
      promptTokens: reply.promptTokens,
      completionTokens: reply.completionTokens,
      ms: reply.ms,
    });
    if (this.store) {
      await this.store.put(this.entryKey(key), entry);
      return;
    }
    const file = this.fileOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, entry);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

function parseEntry(raw: string, key: string): Omit<TeacherReply, 'cached'> | undefined {
  try {
    const e = JSON.parse(raw) as Record<string, unknown>;
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (e.key !== key || typeof e.text !== 'string') return undefined;
    if (!num(e.promptTokens) || !num(e.completionTokens) || !num(e.ms)) return undefined;
    return {
      text: e.text,
      promptTokens: e.promptTokens as number,
      completionTokens: e.completionTokens as number,
      ms: e.ms as number,
    };
  } catch {
    return undefined;
  }
}
