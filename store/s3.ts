/**
 * S3ObjectStore: the artifact store on S3-compatible object storage (`s3://bucket/prefix/` URIs;
 * AWS S3, SeaweedFS, versitygw, Ceph, Google Cloud Storage's S3 API, …) through
 * `@aws-sdk/client-s3`. Same contract as LocalFolderStore (store/types.ts):
 * - a PUT of one object is atomic (a reader sees the old object or the new one, never a part);
 * - writes are idempotent: the object's sha256 is stored as object metadata (`x-amz-meta-sha256`)
 *   and a write whose bytes hash to the stored object's sha256 (same length) is skipped (one HEAD,
 *   no PUT), so a retried activity does not even rewrite the object;
 * - a read by reference checks the sha256 the reference carries (IntegrityError).
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
import {
  IntegrityError,
  type ArtifactStore,
  type ArtifactTarget,
  type JsonlReadOptions,
  type PutResult,
  type StoreConfig,
} from './types.js';
import { refUri, schemeOf } from './uri.js';

/** The metadata key of an object's hex sha256 (sent as `x-amz-meta-sha256`). */
export const SHA256_METADATA = 'sha256';

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

export class S3ObjectStore implements ArtifactStore {
  readonly rootUri: string;
  readonly bucket: string;
  /** the object key prefix of the root: '' or ending in "/" */
  readonly prefix: string;
  /** the shared client of this store's options (created with the SDK on first use) */
  readonly client: Promise<S3Client>;
  private readonly endpoint?: string;

  /** @param config `uri`: `s3://bucket` or `s3://bucket/prefix[/]`; endpoint, region, forcePathStyle */
  constructor(config: StoreConfig) {
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
    const opts = s3OptionsOf(given ? own : knownOptionsOf(bucket));
    this.endpoint = opts.endpoint;
    this.client = clientFor(opts);
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
    try {
      const { PutObjectCommand } = await loadSdk();
      await (
        await this.client
      ).send(
        new PutObjectCommand({
          Bucket: at.bucket,
          Key: at.key,
          Body: buf,
          ContentLength: buf.length,
          ContentType: key.endsWith('.jsonl')
            ? 'application/x-ndjson'
            : key.endsWith('.json')
              ? 'application/json'
              : 'application/octet-stream',
          Metadata: { [SHA256_METADATA]: sha256 },
        }),
      );
    } catch (err) {
      throw explain(err, at.uri, this.endpoint);
    }
    return { ...result, written: true };
  }

  async get(target: ArtifactTarget, opts: { sha256?: string } = {}): Promise<Buffer> {
    const at = this.locate(target, opts.sha256);
    const buf = await this.readAll(at);
    this.check(at, sha256Of(buf));
    return buf;
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
    const buf = await this.readAll(at);
    this.check(at, sha256Of(buf)); // before parsing: changed bytes explain a parse error best
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
