/**
 * Persisted per-call teacher cache: a retried or resumed activity never pays twice for a
 * call that already finished. One small JSON file per call at
 * `<dir>/<key[0..2]>/<key>.json` (dir conventionally `<cacheDir>/teacher`), written atomically (temp file + rename)
 * right after the call completes, so a crash leaves either the whole entry or none.
 * The caller names the directory: `new TeacherCache(path.join(config.cacheDir, 'teacher'))`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SamplingParams } from '../domain/types.js';
import type { TeacherCall, TeacherReply } from './types.js';

const KEY_RE = /^[0-9a-f]{64}$/;

/**
 * The cache key of one call: hex sha256 of the JSON of
 * `{modelId, prompt, sampleIndex, params: {temperature, topP, maxTokens}}`, with `seed` after
 * `sampleIndex` when the call carries the run's seed (fixed key order, so equal calls give
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
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** File-per-call store of teacher replies (safe for concurrent writers: last rename wins). */
export class TeacherCache {
  readonly root: string;

  /** @param dir directory of the entries, conventionally `<config.cacheDir>/teacher` (created on first put) */
  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  /** Path of the entry of `key`. @throws TypeError when `key` is not a cacheKey() value */
  fileOf(key: string): string {
    if (!KEY_RE.test(key)) throw new TypeError(`TeacherCache: invalid key "${key}"`);
    return path.join(this.root, key.slice(0, 2), `${key}.json`);
  }

  /**
   * @returns the stored reply with `cached: true` (other fields as stored, `ms` being the
   *   original call's wall time), or undefined when absent. An unreadable or corrupt entry
   *   counts as absent and is removed.
   * @throws TypeError on an invalid key; rethrows I/O errors other than ENOENT
   */
  async get(key: string): Promise<TeacherReply | undefined> {
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
   * Stores `reply` under `key` atomically (write `<file>.<random>.tmp`, then rename).
   * The `cached` flag is not stored. @throws TypeError on an invalid key; I/O errors
   */
  async put(key: string, reply: TeacherReply): Promise<void> {
    const file = this.fileOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    const entry = {
      key,
      text: reply.text,
      promptTokens: reply.promptTokens,
      completionTokens: reply.completionTokens,
      ms: reply.ms,
    };
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(entry));
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
