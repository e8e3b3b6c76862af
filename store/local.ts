/**
 * LocalFolderStore: the artifact store on a local folder (`file://` URIs), the default and today
 * the only one. Keys map to files under the root (`<root>/<runId>/round-1/misclassified.jsonl`).
 * Writes go to a temporary file in the same folder, are fsynced and renamed over the target
 * (atomic on POSIX); a write whose bytes equal the stored file's leaves it untouched
 * (idempotent: a retried activity does not even touch the file). Reads by reference may name
 * any `file://` URI (or, for references recorded before the store existed, any absolute path);
 * writes stay under the root.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { z } from 'zod';
import {
  DatasetError,
  decodeLineBatches,
  jsonlChunks,
  openForRead,
  parseRecord,
  type JsonlTally,
} from '../data/jsonl.js';
import type { DatasetRef } from '../domain/types.js';
import {
  IntegrityError,
  type ArtifactStore,
  type ArtifactTarget,
  type JsonlReadOptions,
  type PutResult,
} from './types.js';
import { fileUri, folderUri, pathOfFileUri, refUri, schemeOf } from './uri.js';

/** Suffix of the temporary files of in-flight writes (never listed). */
const TMP = /\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Checks a key: '/'-separated, relative, no "." / ".." / empty segment (a trailing "/" names
 * a folder), no backslash or NUL.
 * @throws RangeError naming the key
 */
export function checkKey(key: string, opts: { folder?: boolean } = {}): string[] {
  const body = opts.folder && key.endsWith('/') ? key.slice(0, -1) : key;
  const parts = body.split('/');
  if (
    body === '' ||
    key.startsWith('/') ||
    /[\\\0]/.test(key) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  )
    throw new RangeError(`invalid artifact key ${JSON.stringify(key)}: expected a relative '/'-separated key`);
  return parts;
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The bytes of a stream, each chunk also fed to `hash`. */
async function* tapped(chunks: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

/** sha256 (hex) of an open file's bytes from the start; the handle stays open. */
async function hashOpen(fh: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const stream = fh.createReadStream({ start: 0, autoClose: false });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } finally {
    stream.destroy();
  }
  return hash.digest('hex');
}

/** sha256 (hex) of a file's bytes. */
async function hashFile(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    return await hashOpen(fh);
  } finally {
    await fh.close();
  }
}

/** Whether `file` holds exactly `bytes` bytes whose sha256 is `sha256`. */
async function holds(file: string, bytes: number, sha256: string): Promise<boolean> {
  try {
    const st = await stat(file);
    return st.isFile() && st.size === bytes && (await hashFile(file)) === sha256;
  } catch {
    return false;
  }
}

/** Where a read goes: the file, its URI (for integrity errors) and the sha256 to check. */
interface Located {
  file: string;
  uri: string;
  sha256?: string;
}

export class LocalFolderStore implements ArtifactStore {
  /** the absolute root folder */
  readonly root: string;
  readonly rootUri: string;

  /** @param root the root folder (relative: against the cwd); created on the first write */
  constructor(root: string) {
    this.root = resolve(root);
    this.rootUri = folderUri(this.root);
  }

  /** The local file of `key` under the root. @throws RangeError for an invalid key */
  pathOf(key: string): string {
    return join(this.root, ...checkKey(key, { folder: true }));
  }

  uriOf(key: string): string {
    const file = this.pathOf(key);
    return key.endsWith('/') ? folderUri(file) : fileUri(file);
  }

  keyOf(uri: string): string | undefined {
    if (schemeOf(uri) !== 'file') return undefined;
    const rel = relative(this.root, pathOfFileUri(uri));
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    return rel.split(sep).join('/') + (uri.endsWith('/') ? '/' : '');
  }

  /** A key, or a reference (its uri, else its path), as a local file. */
  private locate(target: ArtifactTarget, sha256?: string): Located {
    if (typeof target === 'string') return { file: this.pathOf(target), uri: this.uriOf(target), sha256 };
    const uri = refUri(target);
    if (schemeOf(uri) !== 'file')
      throw new TypeError(`a local folder store cannot read ${uri} (open the store of its scheme: storeFor(uri))`);
    return { file: pathOfFileUri(uri), uri, sha256: target.sha256 ?? sha256 };
  }

  private check(at: Located, actual: string): void {
    if (at.sha256 !== undefined && at.sha256 !== actual) throw new IntegrityError(at.uri, at.sha256, actual);
  }

  /** Moves a finished temporary file into place unless `file` already holds the same bytes. */
  private async commit(tmp: string, file: string, bytes: number, sha256: string): Promise<boolean> {
    if (await holds(file, bytes, sha256)) {
      await rm(tmp, { force: true });
      return false;
    }
    await rename(tmp, file);
    return true;
  }

  async put(key: string, bytes: Uint8Array | string): Promise<PutResult> {
    const file = this.pathOf(key);
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
    const sha256 = sha256Of(buf);
    const result = { uri: this.uriOf(key), path: file, sha256, bytes: buf.length };
    if (await holds(file, buf.length, sha256)) return { ...result, written: false };
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const fh = await open(tmp, 'w');
    try {
      await fh.write(buf);
      await fh.sync();
      await fh.close();
      return { ...result, written: await this.commit(tmp, file, buf.length, sha256) };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(target: ArtifactTarget, opts: { sha256?: string } = {}): Promise<Buffer> {
    const at = this.locate(target, opts.sha256);
    const fh = await openForRead(at.file);
    try {
      const buf = await fh.readFile();
      this.check(at, sha256Of(buf));
      return buf;
    } finally {
      await fh.close();
    }
  }

  async putJsonl<T>(key: string, rows: Iterable<T>, opts: { labelOf?: (row: T) => string } = {}): Promise<DatasetRef> {
    const file = this.pathOf(key);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    const hash = createHash('sha256');
    const tally: JsonlTally = { count: 0, labelCounts: {} };
    let bytes = 0;
    const fh = await open(tmp, 'w');
    try {
      for (const buf of jsonlChunks(rows, tally, { ...opts, what: `putJsonl ${key}` })) {
        hash.update(buf);
        bytes += buf.length;
        await fh.write(buf);
      }
      await fh.sync();
      await fh.close();
      const sha256 = hash.digest('hex');
      await this.commit(tmp, file, bytes, sha256);
      return { path: file, uri: this.uriOf(key), sha256, count: tally.count, labelCounts: tally.labelCounts };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async getJsonl<T>(target: ArtifactTarget, schema: z.ZodType<T>, opts: JsonlReadOptions = {}): Promise<T[]> {
    const rows: T[] = [];
    for await (const row of this.streamJsonl(target, schema, { sha256: opts.sha256 })) rows.push(row);
    if (rows.length === 0 && !opts.allowEmpty)
      throw new DatasetError(this.locate(target, opts.sha256).file, undefined, 'is empty (no records)');
    return rows;
  }

  async *streamJsonl<T>(
    target: ArtifactTarget,
    schema: z.ZodType<T>,
    opts: { sha256?: string } = {},
  ): AsyncGenerator<T> {
    const at = this.locate(target, opts.sha256);
    const fh = await openForRead(at.file);
    try {
      const hash = createHash('sha256');
      const stream = fh.createReadStream({ start: 0, autoClose: false });
      try {
        for await (const batch of decodeLineBatches(tapped(stream as AsyncIterable<Buffer>, hash), at.file))
          for (const { line, text } of batch) if (text.trim() !== '') yield parseRecord(at.file, line, text, schema);
      } catch (err) {
        // changed bytes explain a parse error better than the parse error itself
        if (at.sha256 !== undefined && err instanceof DatasetError) this.check(at, await hashFile(at.file));
        throw err;
      } finally {
        stream.destroy();
      }
      this.check(at, hash.digest('hex'));
    } finally {
      await fh.close();
    }
  }

  async exists(target: ArtifactTarget): Promise<boolean> {
    try {
      return (await stat(this.locate(target).file)).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const cut = prefix.lastIndexOf('/');
    const base = cut < 0 ? '' : prefix.slice(0, cut + 1);
    if (base) checkKey(base, { folder: true });
    const dir = base ? this.pathOf(base) : this.root;
    let entries;
    try {
      entries = await readdir(dir, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
        return [];
      throw err;
    }
    return entries
      .filter((e) => e.isFile() && !TMP.test(e.name))
      .map((e) => base + relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((k) => k.startsWith(prefix))
      .sort();
  }
}
