/**
 * The bounded local read-through copy of an object store (issue 17): verified bytes kept in a
 * local folder under their sha256, so a read that names the sha256 it expects (a DatasetRef, an
 * artifact reference, `get(key, { sha256 })`) is served from this machine's disk the second time,
 * without a call to the store. What pays: the gold splits read every round, the training worker
 * reading validation/test every training round.
 *
 * - Keyed by content: the file `<folder>/<sha256>` holds bytes whose sha256 is its name. Only
 *   reads that name the sha256 they expect use it (an object can be rewritten under the same key;
 *   a read by key alone always goes to the store).
 * - Verified on every hit: the local copy is hashed again; a copy that does not match (a corrupt or
 *   truncated file) is deleted and the read goes to the store, which then writes a fresh copy.
 * - Atomic writes: a temporary file in the same folder (`<sha256>.tmp-<pid>-<8 hex>`), then rename;
 *   a reader never sees a partial copy. Several processes (the TypeScript workers and the Python
 *   training worker, s3_finetune/local_cache.py) may share one folder.
 * - Bounded: after each write, the least recently used copies (oldest mtime; a hit touches its
 *   copy) are deleted until the folder holds at most `maxBytes`; an object larger than `maxBytes`
 *   is never copied. Temporary files older than 10 minutes (a crashed writer's) are deleted then too.
 * - Best effort: a local disk error (full, read-only, permissions) never fails a read; the read
 *   goes to the store as it would without a local copy.
 *
 * Configuration, per machine, from the environment (localCacheOptionsFromEnv):
 * `S3_STORE_LOCAL_CACHE` (the folder; default `<os.tmpdir()>/s3-synth/store`, e.g.
 * `/tmp/s3-synth/store`) and `S3_STORE_LOCAL_CACHE_BYTES` (the bound in bytes; default 1 GiB;
 * `0` turns the local copy off).
 *
 * Node-only (I/O): used by store/s3.ts S3ObjectStore.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Where the local copy lives and how large it may grow. */
export interface LocalCacheOptions {
  /** the folder (created on first write) */
  dir: string;
  /** the bound of the folder's total size, in bytes (> 0) */
  maxBytes: number;
}

/** The default bound: 1 GiB. */
export const DEFAULT_LOCAL_CACHE_BYTES = 1024 ** 3;

/** The default folder: `<os.tmpdir()>/s3-synth/store` (the Python worker's default is the same folder). */
export const defaultLocalCacheDir = (): string => path.join(os.tmpdir(), 's3-synth', 'store');

const SHA256 = /^[0-9a-f]{64}$/;
const TMP = /\.tmp-\d+-[0-9a-f]{8}$/;
const STALE_TMP_MS = 10 * 60_000;

/**
 * The local copy's options from the environment: `S3_STORE_LOCAL_CACHE` (folder, default
 * `<os.tmpdir()>/s3-synth/store`) and `S3_STORE_LOCAL_CACHE_BYTES` (default 1 GiB).
 * @returns undefined when S3_STORE_LOCAL_CACHE_BYTES is 0 (no local copy)
 * @throws RangeError when S3_STORE_LOCAL_CACHE_BYTES is not a non-negative integer
 */
export function localCacheOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LocalCacheOptions | undefined {
  const raw = env.S3_STORE_LOCAL_CACHE_BYTES?.trim();
  let maxBytes = DEFAULT_LOCAL_CACHE_BYTES;
  if (raw !== undefined && raw !== '') {
    if (!/^\d+$/.test(raw))
      throw new RangeError(`S3_STORE_LOCAL_CACHE_BYTES must be a whole number of bytes (0: off), not "${raw}"`);
    maxBytes = Number(raw);
  }
  if (maxBytes === 0) return undefined;
  const dir = env.S3_STORE_LOCAL_CACHE?.trim() || defaultLocalCacheDir();
  return { dir: path.resolve(dir), maxBytes };
}

/** Counts of one LocalReadCache (this process only). */
export interface LocalCacheStats {
  /** reads served from a verified local copy */
  hits: number;
  /** reads that found no usable copy (absent, or corrupt: see `corrupt`) */
  misses: number;
  /** local copies that did not hash to their name, deleted */
  corrupt: number;
  /** copies written */
  writes: number;
  /** copies deleted to stay under the bound */
  evicted: number;
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const hitProbe = new AsyncLocalStorage<{ hits: number }>();

/**
 * Runs `fn` and reports how many reads inside it (across awaits) were served from a local copy:
 * how store/metered.ts tells a local hit from a store call.
 */
export async function countLocalHits<T>(fn: () => Promise<T>): Promise<{ value: T; localHits: number }> {
  const probe = { hits: 0 };
  const value = await hitProbe.run(probe, fn);
  return { value, localHits: probe.hits };
}

export class LocalReadCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly stats: LocalCacheStats = { hits: 0, misses: 0, corrupt: 0, writes: 0, evicted: 0 };

  /** @throws RangeError when maxBytes is not a positive integer */
  constructor(opts: LocalCacheOptions) {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes <= 0)
      throw new RangeError(`the local copy's bound must be a positive number of bytes, not ${opts.maxBytes}`);
    this.dir = path.resolve(opts.dir);
    this.maxBytes = opts.maxBytes;
  }

  /** Whether `sha256` can name a local copy (64 lowercase hex digits; anything else is never cached). */
  static usable(sha256: string | undefined): sha256 is string {
    return sha256 !== undefined && SHA256.test(sha256);
  }

  /** The file of the copy of `sha256`. */
  fileOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new RangeError(`not a hex sha256: ${sha256}`);
    return path.join(this.dir, sha256);
  }

  /**
   * The verified local copy of `sha256` (its mtime touched: recently used), or undefined when
   * there is none or it does not hash to `sha256` (then it is deleted). Never throws for disk errors.
   */
  async read(sha256: string): Promise<Buffer | undefined> {
    const file = this.fileOf(sha256);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      this.stats.misses++;
      return undefined;
    }
    if (sha256Of(bytes) !== sha256) {
      this.stats.corrupt++;
      this.stats.misses++;
      await unlink(file).catch(() => undefined);
      return undefined;
    }
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    this.stats.hits++;
    const probe = hitProbe.getStore();
    if (probe) probe.hits++;
    return bytes;
  }

  /**
   * Keeps `bytes` (already verified to hash to `sha256` by the caller) as the copy of `sha256`
   * (temporary file + rename), then evicts the least recently used copies beyond the bound.
   * Bytes larger than the bound are not kept. Never throws for disk errors.
   */
  async write(sha256: string, bytes: Uint8Array): Promise<void> {
    if (bytes.length > this.maxBytes) return;
    const file = this.fileOf(sha256);
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(tmp, bytes);
      await rename(tmp, file);
      this.stats.writes++;
    } catch {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    await this.evict().catch(() => undefined);
  }

  /**
   * Deletes the least recently used copies (oldest mtime first) until the folder holds at most
   * `maxBytes`, and temporary files older than 10 minutes.
   * @returns the bytes the folder's copies hold afterwards
   */
  async evict(): Promise<number> {
    const entries: { file: string; bytes: number; mtimeMs: number }[] = [];
    let total = 0;
    const now = Date.now();
    for (const name of await readdir(this.dir)) {
      const file = path.join(this.dir, name);
      const s = await stat(file).catch(() => undefined);
      if (!s?.isFile()) continue;
      if (TMP.test(name)) {
        if (now - s.mtimeMs > STALE_TMP_MS) await unlink(file).catch(() => undefined);
        continue;
      }
      if (!SHA256.test(name)) continue; // not ours: left alone
      entries.push({ file, bytes: s.size, mtimeMs: s.mtimeMs });
      total += s.size;
    }
    entries.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      await unlink(e.file).catch(() => undefined);
      total -= e.bytes;
      this.stats.evicted++;
    }
    return total;
  }
}
