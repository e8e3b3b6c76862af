/**
 * A real S3-compatible object store for tests: versitygw (Apache-2.0, the Versity S3 Gateway,
 * POSIX backend), built by `S3_OBJECT_STORE=1 bash scripts/setup.sh` into
 * `.tools/object-store/bin/versitygw` (or named by $S3_OBJECT_STORE_BIN). Started on loopback on
 * a free port with a throwaway root folder and a bucket created through the S3 API. Tests skip
 * with `OBJECT_STORE_SKIP` when the binary is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { accepts, createBucket, objectStoreBin, versitygwArgs } from '../../scripts/store.js';
import { openStore, type ArtifactStore, type OpenStore } from '../../store/index.js';

export { objectStoreBin };

/** Why object-store tests skip (undefined when the server binary is present). */
export const OBJECT_STORE_SKIP = objectStoreBin()
  ? undefined
  : 'no S3-compatible server: build versitygw with `S3_OBJECT_STORE=1 bash scripts/setup.sh` (or set S3_OBJECT_STORE_BIN)';

export interface ObjectStoreServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** credentials of the store's root account (set them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) */
  accessKeyId: string;
  secretAccessKey: string;
  /** the POSIX folder behind the store (objects are files under <root>/<bucket>/) */
  root: string;
  process: ChildProcess;
  /** SIGTERM, then removes the root folder */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts versitygw on loopback and creates `bucket`.
 * @throws Error when the binary is missing or the server does not listen within 30 s (with its output)
 */
export async function startObjectStore(bucket = 's3-synth-test'): Promise<ObjectStoreServer> {
  const bin = objectStoreBin();
  if (!bin) throw new Error(OBJECT_STORE_SKIP);
  const root = await mkdtemp(path.join(os.tmpdir(), 's3-objstore-'));
  await mkdir(path.join(root, 'data'));
  await mkdir(path.join(root, 'meta'));
  const port = await freePort();
  const accessKeyId = 's3synthtest';
  const secretAccessKey = 's3synthtestsecret';
  const child = spawn(
    bin,
    versitygwArgs({
      host: '127.0.0.1',
      port,
      accessKeyId,
      secretAccessKey,
      dataDir: path.join(root, 'data'),
      metaDir: path.join(root, 'meta'),
    }),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(root, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!(await accepts('127.0.0.1', port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`versitygw did not start on 127.0.0.1:${port}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  await createBucket(endpoint, bucket, { accessKeyId, secretAccessKey });
  return { endpoint, bucket, accessKeyId, secretAccessKey, root, process: child, stop };
}

/** Time spent in store calls (summed over concurrent calls: an upper bound of the wall time). */
export interface StoreStats {
  calls: number;
  ms: number;
}

/** `openStore` whose stores count their calls (put, get, putJsonl, getJsonl, exists, list) and time. */
export function timedOpenStore(stats: StoreStats): OpenStore {
  const timed = new Set(['put', 'get', 'putJsonl', 'getJsonl', 'exists', 'list']);
  return (config) =>
    new Proxy(openStore(config), {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const fn = value as (...args: unknown[]) => unknown;
        if (!timed.has(String(prop))) return fn.bind(target);
        return async (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return await fn.apply(target, args);
          } finally {
            stats.calls++;
            stats.ms += performance.now() - t0;
          }
        };
      },
    }) as ArtifactStore;
}

/** The AWS SDKs' credential variables a test replaces while it talks to its store. */
const CREDENTIAL_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;

/**
 * Puts the store's credentials in this process's environment (the AWS SDK's default chain reads
 * them), with no session token or profile to interfere.
 * @returns restore(): puts the variables back as they were
 */
export function useStoreCredentials(s3: Pick<ObjectStoreServer, 'accessKeyId' | 'secretAccessKey'>): () => void {
  const saved = Object.fromEntries(CREDENTIAL_VARS.map((k) => [k, process.env[k]]));
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
  return () => {
    for (const k of CREDENTIAL_VARS)
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  };
}
