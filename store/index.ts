/**
 * The artifact store (see store/types.ts): `openStore(config)` opens the store a configuration
 * names, `storeFor(uri)` the store that holds a URI: a local folder (`file://` URIs, or a bare
 * path) or S3-compatible object storage (`s3://bucket/prefix/`, store/s3.ts).
 */
import { dirname } from 'node:path';
import { LocalFolderStore } from './local.js';
import { parseS3Uri, S3ObjectStore } from './s3.js';
import { meteredIfAsked } from './metered.js';
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
export { parseS3Uri, S3ObjectStore, StoreAccessError } from './s3.js';
export { pullArtifacts, type PullResult } from './pull.js';
export { meterStore, storeMetrics, writeStoreMetrics, type StoreMetrics } from './metered.js';
export { fileUri, folderUri, pathOfFileUri, refUri, schemeOf } from './uri.js';

/** Opens stores by configuration (the activities' dependency; tests may pass their own). */
export type OpenStore = (config: StoreConfig) => ArtifactStore;

/**
 * The store rooted at `config.uri`: a `file://` URI, a local path (relative: against the cwd),
 * or `s3://bucket/prefix/` (with config.endpoint / region / forcePathStyle). Metered
 * (store/metered.ts) when the environment sets S3_STORE_METRICS.
 * @throws TypeError for a scheme no store implements
 */
export const openStore: OpenStore = (config) => meteredIfAsked(openUnmetered(config));

function openUnmetered(config: StoreConfig): ArtifactStore {
  const scheme = schemeOf(config.uri);
  if (scheme === undefined) return new LocalFolderStore(config.uri);
  if (scheme === 'file') return new LocalFolderStore(pathOfFileUri(config.uri));
  if (scheme === 's3') return new S3ObjectStore(config);
  throw new TypeError(`no artifact store for ${scheme}:// URIs (${config.uri}); use a local folder, file:// or s3://`);
}

/**
 * The store that holds `uri`: rooted at the URI when it names a folder (ends in "/"), else at
 * its parent folder. Any store reads every reference of its scheme, so this is what a reader
 * without the run's configuration (a script, the report) uses: `storeFor(refUri(ref)).getJsonl(ref, …)`.
 */
export function storeFor(uri: string): ArtifactStore {
  const scheme = schemeOf(uri);
  if (scheme === 's3') {
    const { bucket, key } = parseS3Uri(uri);
    return openStore({
      uri: `s3://${bucket}/${uri.endsWith('/') ? key : key.slice(0, key.lastIndexOf('/') + 1)}`,
    });
  }
  if (uri.endsWith('/') || scheme !== 'file') return openStore({ uri });
  return openStore({ uri: dirname(pathOfFileUri(uri)) });
}
