/**
 * Artifact URIs: `file:///abs/path` for a local folder (the only scheme today; `s3://bucket/key`
 * with issue 17), and `refUri(ref)`, the one way to get the URI of a reference whether it was
 * recorded with a `uri` (new) or only a `path` (histories recorded before the store existed).
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactLocation } from './types.js';

/** The `file://` URI of a local path (resolved against the cwd when relative), percent-encoded
 * as Node's pathToFileURL does (the Python worker's store.py file_uri encodes the same way). */
export function fileUri(path: string): string {
  return pathToFileURL(resolve(path)).href;
}

/** The `file://` URI of a local folder, ending in "/" (a store root). */
export function folderUri(path: string): string {
  const uri = fileUri(path);
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** The scheme of a URI without ":" ("file", "s3"), lower case; undefined for a bare path. */
export function schemeOf(uri: string): string | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(uri);
  return m && m[1].length > 1 ? m[1].toLowerCase() : undefined;
}

/** The local path of a `file://` URI. @throws TypeError for another scheme */
export function pathOfFileUri(uri: string): string {
  if (schemeOf(uri) !== 'file') throw new TypeError(`not a file:// URI: ${uri}`);
  return fileURLToPath(uri);
}

/**
 * The URI of a reference: its `uri`, else the `file://` URI of its `path` (an absolute path in
 * every recorded reference; a relative one resolves against the cwd).
 * @throws TypeError when the reference has neither
 */
export function refUri(ref: ArtifactLocation): string {
  if (ref.uri) return ref.uri;
  if (ref.path) return isAbsolute(ref.path) ? pathToFileURL(ref.path).href : fileUri(ref.path);
  throw new TypeError('artifact reference has neither uri nor path');
}
