/**
 * Copies a run's (or an experiment's) artifacts from a store into a local folder, for the CLI's
 * `s3 pull <runId|experimentId> [dir]` (issue 17) and for tools that read local run folders
 * (`s3 export`, `s3 predict`):
 *
 *   await pullArtifacts(openStore(artifactStoreOf(config)), `${runId}/`, `runs/${runId}`);
 *
 * Each object is read once and written atomically into place (a local folder store, so an
 * identical file already there is left untouched and a rerun copies only what changed).
 */
import { LocalFolderStore } from './local.js';
import type { ArtifactStore } from './types.js';

/** What a pull copied. */
export interface PullResult {
  /** keys under the prefix, relative to it (the local paths under `dir`, '/'-separated) */
  files: string[];
  /** files that were new or changed locally */
  written: number;
  bytes: number;
}

/**
 * @param from the store holding the artifacts
 * @param prefix a folder key ending in "/" (`<runId>/`), or "" for the whole store
 * @param dir the local folder to copy into (created; relative: against the cwd)
 * @throws RangeError for a prefix that is not a folder key; the store's errors (StoreAccessError)
 */
export async function pullArtifacts(from: ArtifactStore, prefix: string, dir: string): Promise<PullResult> {
  if (prefix !== '' && !prefix.endsWith('/'))
    throw new RangeError(`pull: the prefix must name a folder ("${prefix}/")`);
  const to = new LocalFolderStore(dir);
  const keys = await from.list(prefix);
  let written = 0;
  let bytes = 0;
  for (const key of keys) {
    const data = await from.get(key);
    const put = await to.put(key.slice(prefix.length), data);
    if (put.written) written++;
    bytes += put.bytes;
  }
  return { files: keys.map((k) => k.slice(prefix.length)), written, bytes };
}
