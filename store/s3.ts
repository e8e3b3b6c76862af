/**
 * S3ObjectStore: the artifact store on S3-compatible object storage (`s3://bucket/prefix/` URIs;
 * AWS S3, SeaweedFS, versitygw, Ceph, Google Cloud Storage's S3 API, …) through
 * `@aws-sdk/client-s3`. Same contract as LocalFolderStore (store/types.ts):
 * - a PUT of one object is atomic (a reader sees the old object or the new one, never a part);
 * - writes are idempotent: the object's sha256 is stored as object metadata (`x-amz-meta-sha256`)
 *   and a write whose bytes hash to the stored object's sha256 (same length) is skipped (one HEAD,
 *   no PUT), so a retried activity does not even rewrite the object;
 * - a read by reference checks the sha256 the reference carries (IntegrityError);
 * - a read that names the sha256 it expects (a reference's, or `opts.sha256`) by `get` or
 *   `getJsonl` is served from the bounded local read-through copy (store/localcache.ts;
 *   `S3_STORE_LOCAL_CACHE`, `S3_STORE_LOCAL_CACHE_BYTES`) when this machine already holds those
 *   bytes, without a call to the store; otherwise the verified bytes are kept there. Reads without
 *   an expected sha256, and streamJsonl, always go to the store;
 * - bodies larger than `multipartBytes` (`S3_STORE_MULTIPART_BYTES`, default 16 MiB) are uploaded
 *   in parts (`@aws-sdk/lib-storage` Upload: CreateMultipartUpload, UploadPart…,
 *   CompleteMultipartUpload; the object appears whole when completed, so the write stays atomic)
 *   with the same metadata; smaller ones in one PutObject.
 *
 * Credentials come only from the environment, through the AWS SDK's default credential chain
 * (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, web identity, the
 * instance role, …); never from the configuration. The endpoint, region and path-style addressing
 * of S3-compatible servers come from the configuration (`artifacts.endpoint`, `region`,
 * `forcePathStyle`) or the SDK's own environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION).
 * When the store cannot be reached or the credentials are missing or refused, the error names
 * the URI and what to check (StoreAccessError, retryable: another attempt may run on a worker
 * that has them).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { DatasetError, decodeLineBatches, jsonlChunks, parseRecord, type JsonlTally } from '../data/jsonl.js';
import type { DatasetRef } from '../domain/types.js';
import { checkKey } from './local.js';
import { LocalReadCache, localCacheOptionsFromEnv, type LocalCacheOptions } from './localcache.js';
import {
  IntegrityError,
  type ArtifactStore,
  type ArtifactTarget,
  type JsonlReadOptions,
  type PutResult,
  type ReadOptions,
  type StoreConfig,
} from './types.js';
import { refUri, schemeOf } from './uri.js';

/** The metadata key of an object's hex sha256 (sent as `x-amz-meta-sha256`). */
export const SHA256_METADATA = 'sha256';

/** The default multipart threshold: bodies above 16 MiB are uploaded in parts. */
export const DEFAULT_MULTIPART_BYTES = 16 * 1024 ** 2;
/** The smallest part S3 accepts (every part but the last): 5 MiB. */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
/** The default part size: 8 MiB (as boto3's), more for objects above 8 MiB × 9,000 parts. */
const DEFAULT_PART_BYTES = 8 * 1024 ** 2;

/** Per-store options beyond the configuration (defaults from the environment; tests set them). */
export interface S3StoreOptions {
  /**
   * The local read-through copy: a LocalReadCache (shared), its options, or false (none).
   * Default: localCacheOptionsFromEnv() (`S3_STORE_LOCAL_CACHE`, `S3_STORE_LOCAL_CACHE_BYTES`).
   */
  localCache?: LocalReadCache | LocalCacheOptions | false;
  /** bodies of more than this many bytes are uploaded in parts; default `S3_STORE_MULTIPART_BYTES`, else 16 MiB */
  multipartBytes?: number;
  /** the part size of a multipart upload in bytes (≥ 5 MiB); default 8 MiB, larger when 9,000 parts would not hold the body */
  partBytes?: number;
}

/** A whole number of bytes from the environment variable `name`, else `fallback`. @throws RangeError */
function bytesFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new RangeError(`${name} must be a whole number of bytes, not "${raw}"`);
  return Number(raw);
}

/** A store that cannot be used: unreachable, no credentials, credentials refused, no bucket. */
export class StoreAccessError extends Error {
  readonly uri: string;
  constructor(uri: string, message: string, options?: { cause?: unknown }) {
    super(`artifact store ${uri}: ${message}`, options);
    this.name = 'StoreAccessError';
    this.uri = uri;
  }
}

/** Bucket and object key of an `s3://bucket/key` URI. @throws TypeError for another URI */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri);
  if (!m || schemeOf(uri) !== 's3') throw new TypeError(`not an s3:// URI: ${uri}`);
  return { bucket: m[1], key: m[2] };
}

/** The S3 options of a store configuration with the environment's defaults filled in. */
export function s3OptionsOf(config: Omit<StoreConfig, 'uri'>, env: NodeJS.ProcessEnv = process.env) {
  const endpoint = config.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    endpoint,
    region: config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    // S3-compatible servers on their own endpoint rarely serve virtual-hosted buckets
    forcePathStyle: config.forcePathStyle ?? endpoint !== undefined,
  };
}

/** The AWS SDK, loaded on first use (workers and the CLI without an object store never load it). */
type Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => (sdk ??= import('@aws-sdk/client-s3'));

/** One client per (endpoint, region, path style): connections are reused across stores. */
const clients = new Map<string, Promise<S3Client>>();
/** The options a bucket was last opened with, for `storeFor(uri)` readers without a configuration. */
const bucketOptions = new Map<string, Omit<StoreConfig, 'uri'>>();

function clientFor(opts: ReturnType<typeof s3OptionsOf>): Promise<S3Client> {
  const id = JSON.stringify(opts);
  let client = clients.get(id);
  if (!client) {
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      // checksums only when an operation requires them: S3-compatible servers differ in support;
      // integrity is the sha256 this store checks itself
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    };
    client = loadSdk().then((m) => new m.S3Client(config));
    clients.set(id, client);
  }
  return client;
}

/** The options a bucket was opened with in this process (else the environment's). */
export function knownOptionsOf(bucket: string): Omit<StoreConfig, 'uri'> {
  return bucketOptions.get(bucket) ?? {};
}

type AwsError = Error & {
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
};

const statusOf = (err: unknown): number | undefined => (err as AwsError)?.$metadata?.httpStatusCode;
const isNotFound = (err: unknown): boolean => {
  const e = err as AwsError;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (statusOf(err) === 404 && e?.name !== 'NoSuchBucket');
};

/** The error to throw for a failed call on `uri` (missing objects are handled by the caller). */
function explain(err: unknown, uri: string, endpoint: string | undefined): unknown {
  if (err instanceof DatasetError || err instanceof StoreAccessError) return err;
  const e = err as AwsError;
  const name = e?.name ?? '';
  const where = endpoint ? `the endpoint ${endpoint}` : 'AWS S3';
  if (name === 'CredentialsProviderError' || (/credential/i.test(e?.message ?? '') && statusOf(err) === undefined))
    return new StoreAccessError(
      uri,
      'no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, SSO, a web identity, an instance role) in the environment of every worker; credentials are never read from the configuration',
      { cause: err },
    );
  if (name === 'NoSuchBucket')
    return new StoreAccessError(uri, `the bucket does not exist at ${where} (create it first)`, { cause: err });
  if (
    [
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'AccessDenied',
      'Forbidden',
      'InvalidToken',
      'ExpiredToken',
    ].includes(name) ||
    statusOf(err) === 403
  )
    return new StoreAccessError(uri, `the credentials were refused by ${where} (${name || 'HTTP 403'}): check them`, {
      cause: err,
    });
  if (statusOf(err) === undefined)
    return new StoreAccessError(
      uri,
      `cannot reach ${where} (${e?.code ?? name}: ${e?.message ?? String(err)}); check artifacts.endpoint, AWS_ENDPOINT_URL_S3 and the network`,
      { cause: err },
    );
  return err;
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Where a read goes. */
interface Located {
  bucket: string;
  key: string;
  uri: string;
  sha256?: string;
}

async function* once(buf: Buffer): AsyncGenerator<Buffer> {
  yield buf;
}

async function* tapped(chunks: AsyncIterable<Uint8Array>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    hash.update(buf);
    yield buf;
  }
}

/** One LocalReadCache per (folder, bound) in this process: stores of one machine share their counts. */
const localCaches = new Map<string, LocalReadCache>();
function sharedLocalCache(opts: LocalCacheOptions): LocalReadCache {
  const id = JSON.stringify([opts.dir, opts.maxBytes]);
  let cache = localCaches.get(id);
  if (!cache) localCaches.set(id, (cache = new LocalReadCache(opts)));
  return cache;
}

export class S3ObjectStore implements ArtifactStore {
  readonly rootUri: string;
  readonly bucket: string;
  /** the object key prefix of the root: '' or ending in "/" */
  readonly prefix: string;
  /** the shared client of this store's options (created with the SDK on first use) */
  readonly client: Promise<S3Client>;
  /** the local read-through copy of reads by sha256 (undefined: off) */
  readonly localCache?: LocalReadCache;
  /** bodies of more than this many bytes are uploaded in parts */
  readonly multipartBytes: number;
  private readonly partBytes?: number;
  private readonly endpoint?: string;

  /**
   * @param config `uri`: `s3://bucket` or `s3://bucket/prefix[/]`; endpoint, region, forcePathStyle
   * @param opts the local read-through copy and the multipart threshold (defaults: the environment)
   * @throws RangeError for an invalid bucket name, key prefix, S3_STORE_LOCAL_CACHE_BYTES,
   *   S3_STORE_MULTIPART_BYTES or a part size under 5 MiB
   */
  constructor(config: StoreConfig, opts: S3StoreOptions = {}) {
    const { bucket, key } = parseS3Uri(config.uri);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      throw new RangeError(`invalid bucket name "${bucket}" in ${config.uri}`);
    const prefix = key.replace(/\/+$/, '');
    if (prefix) checkKey(prefix);
    this.bucket = bucket;
    this.prefix = prefix ? `${prefix}/` : '';
    this.rootUri = `s3://${bucket}/${this.prefix}`;
    const own = { endpoint: config.endpoint, region: config.region, forcePathStyle: config.forcePathStyle };
    const given = Object.values(own).some((v) => v !== undefined);
    if (given) bucketOptions.set(bucket, own);
    const s3 = s3OptionsOf(given ? own : knownOptionsOf(bucket));
    this.endpoint = s3.endpoint;
    this.client = clientFor(s3);
    const local = opts.localCache === undefined ? localCacheOptionsFromEnv() : opts.localCache;
    if (local) this.localCache = local instanceof LocalReadCache ? local : sharedLocalCache(local);
    this.multipartBytes =
      opts.multipartBytes ?? bytesFromEnv(process.env, 'S3_STORE_MULTIPART_BYTES', DEFAULT_MULTIPART_BYTES);
    if (opts.partBytes !== undefined && !(Number.isSafeInteger(opts.partBytes) && opts.partBytes >= MIN_PART_BYTES))
      throw new RangeError(
        `a part of a multipart upload holds at least ${MIN_PART_BYTES} bytes, not ${opts.partBytes}`,
      );
    this.partBytes = opts.partBytes;
  }

  uriOf(key: string): string {
    checkKey(key, { folder: true });
    return this.rootUri + key;
  }

  keyOf(uri: string): string | undefined {
    if (!uri.startsWith(this.rootUri) || uri.length === this.rootUri.length) return undefined;
    return uri.slice(this.rootUri.length);
  }

  private locate(target: ArtifactTarget, sha256?: string): Located {
    if (typeof target === 'string') {
      checkKey(target);
      return { bucket: this.bucket, key: this.prefix + target, uri: this.uriOf(target), sha256 };
    }
    const uri = refUri(target);
    if (schemeOf(uri) !== 's3')
      throw new TypeError(`an s3:// store cannot read ${uri} (open the store of its scheme: storeFor(uri))`);
    const { bucket, key } = parseS3Uri(uri);
    return { bucket, key, uri, sha256: target.sha256 ?? sha256 };
  }

  private check(at: Located, actual: string): void {
    if (at.sha256 !== undefined && at.sha256 !== actual) throw new IntegrityError(at.uri, at.sha256, actual);
  }

  /** HEAD: the object's size and stored sha256, undefined when there is none. */
  private async head(at: Located): Promise<{ bytes?: number; sha256?: string } | undefined> {
    try {
      const { HeadObjectCommand } = await loadSdk();
      const h = await (await this.client).send(new HeadObjectCommand({ Bucket: at.bucket, Key: at.key }));
      return { bytes: h.ContentLength, sha256: h.Metadata?.[SHA256_METADATA] };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw explain(err, at.uri, this.endpoint);
    }
  }

  /** GET: the object's body as a stream. @throws DatasetError when the object does not exist */
  private async open(at: Located): Promise<AsyncIterable<Uint8Array>> {
    try {
      const { GetObjectCommand } = await loadSdk();
      const out = await (await this.client).send(new GetObjectCommand({ Bucket: at.bucket, Key: at.key }));
      if (!out.Body) return once(Buffer.alloc(0));
      return out.Body as Readable & AsyncIterable<Uint8Array>;
    } catch (err) {
      if (isNotFound(err)) throw new DatasetError(at.uri, undefined, 'object not found', { cause: err });
      throw explain(err, at.uri, this.endpoint);
    }
  }

  private async readAll(at: Located): Promise<Buffer> {
    const parts: Buffer[] = [];
    try {
      for await (const chunk of await this.open(at)) parts.push(Buffer.from(chunk));
    } catch (err) {
      throw explain(err, at.uri, this.endpoint);
    }
    return Buffer.concat(parts);
  }

  async put(key: string, bytes: Uint8Array | string): Promise<PutResult> {
    const at = this.locate(key);
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
    const sha256 = sha256Of(buf);
    const result = { uri: at.uri, sha256, bytes: buf.length };
    const stored = await this.head(at);
    if (stored && stored.sha256 === sha256 && stored.bytes === buf.length) return { ...result, written: false };
    const params = {
      Bucket: at.bucket,
      Key: at.key,
      Body: buf,
      ContentType: key.endsWith('.jsonl')
        ? 'application/x-ndjson'
        : key.endsWith('.json')
          ? 'application/json'
          : 'application/octet-stream',
      Metadata: { [SHA256_METADATA]: sha256 },
    };
    try {
      if (buf.length > this.multipartBytes) await this.upload(params);
      else {
        const { PutObjectCommand } = await loadSdk();
        await (await this.client).send(new PutObjectCommand({ ...params, ContentLength: buf.length }));
      }
    } catch (err) {
      throw explain(err, at.uri, this.endpoint);
    }
    return { ...result, written: true };
  }

  /**
   * A multipart upload (`@aws-sdk/lib-storage` Upload, parts of `partBytes`, 4 in flight; a failed
   * upload is aborted, its parts dropped). The object appears only when the upload completes.
   */
  private async upload(params: { Bucket: string; Key: string; Body: Buffer; Metadata: Record<string, string> }) {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const partSize = this.partBytes ?? Math.max(DEFAULT_PART_BYTES, Math.ceil(params.Body.length / 9000));
    await new Upload({ client: await this.client, params, partSize, queueSize: 4 }).done();
  }

  /**
   * The verified bytes of `at`: from the local read-through copy when `at` names a sha256 and this
   * machine holds those bytes (no store call), else from the store (checked, then copied locally
   * when a sha256 was expected). `localCopy` false: the store only, nothing kept.
   * @throws DatasetError (missing), IntegrityError, StoreAccessError
   */
  private async readVerified(at: Located, localCopy = true): Promise<Buffer> {
    const local = localCopy && LocalReadCache.usable(at.sha256) ? this.localCache : undefined;
    const kept = await local?.read(at.sha256!);
    if (kept) return kept;
    const buf = await this.readAll(at);
    this.check(at, sha256Of(buf));
    await local?.write(at.sha256!, buf);
    return buf;
  }

  async get(target: ArtifactTarget, opts: ReadOptions = {}): Promise<Buffer> {
    return this.readVerified(this.locate(target, opts.sha256), opts.localCopy !== false);
  }

  async putJsonl<T>(key: string, rows: Iterable<T>, opts: { labelOf?: (row: T) => string } = {}): Promise<DatasetRef> {
    const tally: JsonlTally = { count: 0, labelCounts: {} };
    const body = Buffer.concat([...jsonlChunks(rows, tally, { ...opts, what: `putJsonl ${key}` })]);
    const put = await this.put(key, body);
    // an object has no local path: `path` repeats the URI (DatasetRef.path is required; readers use refUri)
    return { path: put.uri, uri: put.uri, sha256: put.sha256, count: tally.count, labelCounts: tally.labelCounts };
  }

  async getJsonl<T>(target: ArtifactTarget, schema: z.ZodType<T>, opts: JsonlReadOptions = {}): Promise<T[]> {
    const at = this.locate(target, opts.sha256);
    const buf = await this.readVerified(at); // sha256 checked before parsing: changed bytes explain a parse error best
    const rows: T[] = [];
    for await (const batch of decodeLineBatches(once(buf), at.uri))
      for (const { line, text } of batch) if (text.trim() !== '') rows.push(parseRecord(at.uri, line, text, schema));
    if (rows.length === 0 && !opts.allowEmpty) throw new DatasetError(at.uri, undefined, 'is empty (no records)');
    return rows;
  }

  async *streamJsonl<T>(
    target: ArtifactTarget,
    schema: z.ZodType<T>,
    opts: { sha256?: string } = {},
  ): AsyncGenerator<T> {
    const at = this.locate(target, opts.sha256);
    const hash = createHash('sha256');
    try {
      for await (const batch of decodeLineBatches(tapped(await this.open(at), hash), at.uri))
        for (const { line, text } of batch) if (text.trim() !== '') yield parseRecord(at.uri, line, text, schema);
    } catch (err) {
      if (at.sha256 !== undefined && err instanceof DatasetError && !(err instanceof IntegrityError))
        this.check(at, sha256Of(await this.readAll(at)));
      throw explain(err, at.uri, this.endpoint);
    }
    this.check(at, hash.digest('hex'));
  }

  async exists(target: ArtifactTarget): Promise<boolean> {
    return (await this.head(this.locate(target))) !== undefined;
  }
  /** The sha256 recorded with `key` as object metadata (by put and the Python worker's store), or
   * undefined for an object written without it or absent. @throws StoreAccessError when unreachable */
  async recordedSha256(key: string): Promise<string | undefined> {
    return (await this.head(this.locate(key)))?.sha256;
  }

  async list(prefix: string): Promise<string[]> {
    const cut = prefix.lastIndexOf('/');
    if (cut >= 0) checkKey(prefix.slice(0, cut + 1), { folder: true });
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let out;
      try {
        const { ListObjectsV2Command } = await loadSdk();
        out = await (
          await this.client
        ).send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
      } catch (err) {
        throw explain(err, this.rootUri + prefix, this.endpoint);
      }
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }
}
