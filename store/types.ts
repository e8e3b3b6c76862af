/**
 * The artifact store seam: where the JSONL artifacts (and the few JSON / Markdown files) of a
 * run are written and read back. Activities never build a file path by hand: they ask the
 * store for a key (`<runId>/round-1/misclassified.jsonl`), and what travels through workflow
 * history is the reference the store returns (a DatasetRef with `uri`, `sha256`, counts).
 *
 * Two implementations: LocalFolderStore (a folder on this machine, `file://` URIs) and
 * S3ObjectStore (S3-compatible object storage, `s3://bucket/prefix/` URIs). Keys are '/'
 * separated and relative to the store's root, every write is atomic (a reader never sees a half
 * written artifact) and idempotent (rewriting identical bytes is a no-op), and a read by
 * reference checks the sha256 the reference carries.
 *
 * Node-only (I/O): use from activities and scripts, never from workflows.
 */
import type { z } from 'zod';
import { DatasetError } from '../data/jsonl.js';
import type { DatasetRef } from '../domain/types.js';

/** Where a store lives: its root URI (`file:///abs/runs/`, a local path, or `s3://bucket/prefix/`)
 * and, for an object store, how to reach it. Credentials come only from the environment. */
export interface StoreConfig {
  uri: string;
  /** S3-compatible endpoint URL (e.g. `http://127.0.0.1:7070`); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS */
  endpoint?: string;
  /** S3 region; default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1 */
  region?: string;
  /** path-style requests (`endpoint/bucket/key`); default: true with an endpoint, else false */
  forcePathStyle?: boolean;
}

/** A reference to an artifact as history records it: a DatasetRef, or any object with a `uri`
 * (new references) or only a `path` (references recorded before the store existed), and the
 * sha256 to check on read when known. */
export interface ArtifactLocation {
  uri?: string;
  path?: string;
  sha256?: string;
}

/** What a read or `exists` names: a key relative to the store's root, or a reference. */
export type ArtifactTarget = string | ArtifactLocation;

/** What a write returns. */
export interface PutResult {
  uri: string;
  /** the local file, for stores that have one (LocalFolderStore) */
  path?: string;
  /** hex sha256 of the stored bytes */
  sha256: string;
  bytes: number;
  /** false when the artifact already held exactly these bytes (idempotent rewrite: nothing done) */
  written: boolean;
}

/** How `get` reads. */
export interface ReadOptions {
  /** the expected sha256 (hex) when the target is a key; a reference's own sha256 is always checked */
  sha256?: string;
  /**
   * false: read the store itself even when this machine's local read-through copy holds the
   * expected bytes (store/localcache.ts; S3 stores), e.g. to check the store's objects (s3 pull).
   * Default true.
   */
  localCopy?: boolean;
}

export interface JsonlReadOptions {
  /** return [] for an artifact without records instead of throwing (as readJsonl) */
  allowEmpty?: boolean;
  /** the expected sha256 (hex) when the target is a key; a reference's own sha256 is always checked */
  sha256?: string;
}

export interface ArtifactStore {
  /** the root URI, ending in "/" */
  readonly rootUri: string;
  /** the URI of `key` (a '/'-separated key relative to the root; no "..", no leading "/") */
  uriOf(key: string): string;
  /** the key of `uri` when it lies under the root, else undefined */
  keyOf(uri: string): string | undefined;

  /** Writes bytes (atomic, idempotent). */
  put(key: string, bytes: Uint8Array | string): Promise<PutResult>;
  /**
   * Reads bytes. A reference's sha256 (or opts.sha256) is checked. An object store may serve a
   * read with an expected sha256 from its local read-through copy unless `opts.localCopy` is false.
   * @throws DatasetError when the artifact is missing; IntegrityError on a sha256 mismatch
   */
  get(target: ArtifactTarget, opts?: ReadOptions): Promise<Buffer>;
  /**
   * Writes rows as JSON Lines (atomic, idempotent), as data/jsonl.ts writeJsonl did.
   * @param opts.labelOf the label counted in `labelCounts` (default `row.label` when a string)
   * @returns the DatasetRef: uri (and path for a local store), sha256 of the bytes, count, labelCounts
   */
  putJsonl<T>(key: string, rows: Iterable<T>, opts?: { labelOf?: (row: T) => string }): Promise<DatasetRef>;
  /**
   * Reads and validates every record, with readJsonl's semantics and messages (blank lines
   * skipped; DatasetError naming the file and 1-based line on invalid JSON or a record that does
   * not match the schema; "is empty" unless allowEmpty). The sha256 of the reference (or
   * opts.sha256) is checked; a mismatch is reported before any parse error of the same bytes.
   */
  getJsonl<T>(target: ArtifactTarget, schema: z.ZodType<T>, opts?: JsonlReadOptions): Promise<T[]>;
  /**
   * Streams validated records, one at a time (memory: one chunk). The sha256 is checked when
   * the last record has been read: a consumer sees the records of a changed artifact before the
   * IntegrityError, so use getJsonl where a partial read must not be acted on.
   */
  streamJsonl<T>(target: ArtifactTarget, schema: z.ZodType<T>, opts?: { sha256?: string }): AsyncGenerator<T>;
  /** Whether the artifact exists. */
  exists(target: ArtifactTarget): Promise<boolean>;
  /** Keys under the root that start with `prefix` (a key prefix, as S3 lists), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * The sha256 the store recorded with `key` when it wrote it (object metadata of an object
   * store), or undefined when it keeps none; absent on stores that never record one (a local folder).
   */
  recordedSha256?(key: string): Promise<string | undefined>;
}

/**
 * An artifact whose bytes are not the ones its reference recorded (changed or truncated after
 * the reference was written). Non-retryable like every DatasetError (activities/context.ts guard).
 */
export class IntegrityError extends DatasetError {
  readonly uri: string;
  readonly expected: string;
  readonly actual: string;

  constructor(uri: string, expected: string, actual: string) {
    super(
      uri,
      undefined,
      `sha256 mismatch: the reference expects ${expected}, the stored bytes hash to ${actual} (the artifact changed after its reference was recorded)`,
    );
    this.name = 'IntegrityError';
    this.uri = uri;
    this.expected = expected;
    this.actual = actual;
  }
}
