/**
 * Copies a run's (or an experiment's) artifacts from a store into a local folder, verifying every
 * file's sha256 before it is written: the one implementation behind the CLI's
 * `s3 pull <runId|experimentId> [dir]` (scripts/pull.ts, which adds the printing) and the local
 * copy `s3 predict` makes of a student folder in the store (issue 17):
 *
 *   await pullArtifacts(openStore(artifactStoreOf(config)), `${runId}/`, `runs/${runId}`);
 *
 * Each object's bytes are checked against (a) the sha256 the object store recorded with it
 * (`x-amz-meta-sha256`, S3 stores; local folders record none) and (b) every reference found in
 * the pulled JSON artifacts (`report.json`, `results.json`, `arm-result.json`, …: objects with a
 * `uri` or absolute `path` and a `sha256`) that names it. Each object is read once and written
 * atomically into place through a local folder store, so an identical file already there is left
 * untouched and a rerun rewrites only what changed.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { LocalFolderStore } from './local.js';
import { IntegrityError, type ArtifactStore } from './types.js';
import { refUri } from './uri.js';

/** One copied file. */
export interface PulledFile {
  /** path under the local folder, '/'-separated (= the key below the prefix) */
  file: string;
  bytes: number;
  /** hex sha256 of the bytes */
  sha256: string;
  /** false when the local file already held these bytes */
  written: boolean;
  /** what the bytes were checked against: the store's recorded sha256 and/or references naming the file */
  verified: ('store' | 'reference')[];
}

/** What a pull copied. */
export interface PullResult {
  /** the store URI of the pulled folder (`s3://bucket/prefix/<id>/`; the store's root for prefix "") */
  from: string;
  /** the absolute local folder */
  dir: string;
  /** every file, in key order */
  files: PulledFile[];
  /** bytes of all files */
  bytes: number;
  /** files that were new or changed locally */
  written: number;
  /** files whose bytes matched the sha256 the store recorded */
  verifiedByStore: number;
  /** files whose bytes matched a reference in the pulled JSON artifacts */
  verifiedByReference: number;
}

/** A reference found in a JSON artifact: the URI it names, the sha256 it carries, the artifact it is in. */
export interface FoundReference {
  uri: string;
  sha256: string;
  where: string;
}

const sha256Of = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * References (`{uri|path, sha256}` with a 64-hex sha256 and a `uri` or an absolute `path`) anywhere
 * in a parsed JSON value, at any depth.
 * @param where the artifact they were found in (for messages)
 */
export function referencesIn(value: unknown, where: string): FoundReference[] {
  const out: FoundReference[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const uri = typeof o.uri === 'string' ? o.uri : undefined;
      const p = typeof o.path === 'string' ? o.path : undefined;
      if (typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256) && (uri || (p && path.isAbsolute(p))))
        out.push({ uri: refUri({ uri, path: p }), sha256: o.sha256, where });
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(value);
  return out;
}

/** The references in a JSON artifact's bytes ([] when they are not JSON). */
export function referencesInBytes(bytes: Uint8Array, where: string): FoundReference[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return []; // not JSON after all: carries no references
  }
  return referencesIn(parsed, where);
}

/**
 * The sha256 an object store recorded with `key` (S3 object metadata `sha256`, written by
 * S3ObjectStore.put and the Python worker's store), or undefined: a local folder records none,
 * nor does an object written by another tool. Asks the store (ArtifactStore.recordedSha256), so a
 * wrapped store (store/metered.ts) answers too.
 * @throws StoreAccessError (store/s3.ts) when the store cannot be reached
 */
export async function recordedSha256(store: ArtifactStore, key: string): Promise<string | undefined> {
  return store.recordedSha256?.(key);
}

/**
 * Copies every object under `prefix` of `from` into `dir` (key `<prefix>a/b` → `<dir>/a/b`),
 * verifying each file before it is written: against the store's recorded sha256, and against the
 * references of the JSON artifacts under the prefix (read first, so they check the others; a JSON
 * artifact already copied is checked against a later one's reference too).
 * @param from the store holding the artifacts
 * @param prefix a folder key ending in "/" (`<runId>/`), or "" for the whole store
 * @param dir the local folder to copy into (created when there is a file; relative: against the cwd)
 * @param opts.onFile called once per file, in key order, after all were copied
 * @returns what was copied; `files` is empty when nothing lies under the prefix
 * @throws RangeError for a prefix that is not a folder key; IntegrityError (store/types.ts) when
 *   bytes differ from the sha256 the store recorded or a reference carries (files before it are
 *   written, the changed one is not); StoreAccessError for an unreachable store, missing
 *   credentials or bucket
 */
export async function pullArtifacts(
  from: ArtifactStore,
  prefix: string,
  dir: string,
  opts: { onFile?: (file: PulledFile) => void } = {},
): Promise<PullResult> {
  if (prefix !== '' && !prefix.endsWith('/'))
    throw new RangeError(`pull: the prefix must name a folder ("${prefix}/")`);
  const abs = path.resolve(dir);
  const to = new LocalFolderStore(abs);
  const keys = await from.list(prefix);

  // the JSON artifacts first: the references they carry check every other file before it is written
  const isJson = (k: string) => k.endsWith('.json');
  const ordered = [...keys.filter(isJson), ...keys.filter((k) => !isJson(k))];
  const expected = new Map<string, FoundReference[]>();
  const files = new Map<string, PulledFile>();
  for (const key of ordered) {
    const stored = await recordedSha256(from, key);
    // the store's own bytes (not a local read-through copy): IntegrityError on a mismatch
    const data = await from.get(key, stored ? { sha256: stored, localCopy: false } : {});
    const sha256 = sha256Of(data);
    const verified: PulledFile['verified'] = stored ? ['store'] : [];
    for (const ref of expected.get(key) ?? []) {
      if (ref.sha256 !== sha256) throw new IntegrityError(from.uriOf(key), ref.sha256, sha256);
      if (!verified.includes('reference')) verified.push('reference');
    }
    if (isJson(key))
      for (const ref of referencesInBytes(data, key)) {
        const k = from.keyOf(ref.uri);
        if (k === undefined || !k.startsWith(prefix)) continue;
        const seen = files.get(k.slice(prefix.length));
        if (seen) {
          // a JSON artifact referencing another one already copied (JSON files come first)
          if (seen.sha256 !== ref.sha256) throw new IntegrityError(ref.uri, ref.sha256, seen.sha256);
          if (!seen.verified.includes('reference')) seen.verified.push('reference');
        } else expected.set(k, [...(expected.get(k) ?? []), ref]);
      }
    const file = key.slice(prefix.length);
    const put = await to.put(file, data);
    files.set(file, { file, bytes: data.length, sha256, written: put.written, verified });
  }
  const list = [...files.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const f of list) opts.onFile?.(f);
  return {
    from: prefix === '' ? from.rootUri : from.uriOf(prefix),
    dir: abs,
    files: list,
    bytes: list.reduce((s, f) => s + f.bytes, 0),
    written: list.filter((f) => f.written).length,
    verifiedByStore: list.filter((f) => f.verified.includes('store')).length,
    verifiedByReference: list.filter((f) => f.verified.includes('reference')).length,
  };
}
