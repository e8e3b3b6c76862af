/**
 * The artifact store (see store/types.ts): `openStore(config)` opens the store a configuration
 * names, `storeFor(uri)` the store that holds a URI. Only local folders (`file://` URIs, or a
 * bare path) exist today; an object store (issue 17) registers its scheme here.
 */
import { dirname } from 'node:path';
import { LocalFolderStore } from './local.js';
import type { ArtifactStore, StoreConfig } from './types.js';
import { pathOfFileUri, schemeOf } from './uri.js';

export { checkKey, LocalFolderStore } from './local.js';
export {
  IntegrityError,
  type ArtifactLocation,
  type ArtifactStore,
  type ArtifactTarget,
  type JsonlReadOptions,
  type PutResult,
  type StoreConfig,
} from './types.js';
export { fileUri, folderUri, pathOfFileUri, refUri, schemeOf } from './uri.js';

/** Opens stores by configuration (the activities' dependency; tests may pass their own). */
export type OpenStore = (config: StoreConfig) => ArtifactStore;

/**
 * The store rooted at `config.uri`: a `file://` URI, or a local path (relative: against the cwd).
 * @throws TypeError for a scheme no store implements (e.g. `s3://` until issue 17)
 */
export const openStore: OpenStore = (config) => {
  const scheme = schemeOf(config.uri);
  if (scheme === undefined) return new LocalFolderStore(config.uri);
  if (scheme === 'file') return new LocalFolderStore(pathOfFileUri(config.uri));
  throw new TypeError(`no artifact store for ${scheme}:// URIs (${config.uri}); only local folders (file://) exist`);
};

/**
 * The store that holds `uri`: rooted at the URI when it names a folder (ends in "/"), else at
 * its parent folder. Any store reads every reference of its scheme, so this is what a reader
 * without the run's configuration (a script, the report) uses: `storeFor(refUri(ref)).getJsonl(ref, …)`.
 */
export function storeFor(uri: string): ArtifactStore {
  if (uri.endsWith('/') || schemeOf(uri) !== 'file') return openStore({ uri });
  return openStore({ uri: dirname(pathOfFileUri(uri)) });
}
