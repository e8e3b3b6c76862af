/**
 * `s3 store start|stop|status|env`: a single-node S3-compatible object store on loopback for
 * `artifacts.uri: "s3://…"` without a cloud account: versitygw (the Versity S3 Gateway,
 * Apache-2.0, POSIX backend), built by `S3_OBJECT_STORE=1 bash scripts/setup.sh` into
 * `.tools/object-store/bin/versitygw` (or named by $S3_OBJECT_STORE_BIN).
 *
 * The gateway runs detached and outlives the command. Its state lives in `.tools/object-store/run/`
 * (or $S3_OBJECT_STORE_RUN_DIR):
 * `store.json` (pid, endpoint, bucket, folders; mode 0600: it holds the root credentials),
 * `store.log`, the metadata sidecar (`meta/`) and by default the data (`data/<bucket>/…`, each folder
 * a bucket; objects are plain files). `start` creates the bucket through the S3 API, and a
 * second `start` reuses a running store; a state file whose process is gone is stale and replaced.
 *
 * The root credentials are AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when set at `start` (so the
 * workers' environment already matches), else generated once and kept in `store.json`;
 * `s3 store env` prints the `export` lines a worker's shell needs.
 *
 * The tests' own stores (tests/helpers/objectStore.ts) use `versitygwArgs` and `createBucket` from here.
 */
import { isLiveProcessOf, writeStateFile } from './processes.js';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PROJECT_ROOT } from '../activities/paths.js';

/** The versitygw binary setup builds. */
export const OBJECT_STORE_DEFAULT_BIN = path.join(PROJECT_ROOT, '.tools', 'object-store', 'bin', 'versitygw');
/** State, log and default data folder of `s3 store`: $S3_OBJECT_STORE_RUN_DIR, else .tools/object-store/run. */
export const OBJECT_STORE_RUN_DIR = path.resolve(
  process.env.S3_OBJECT_STORE_RUN_DIR || path.join(PROJECT_ROOT, '.tools', 'object-store', 'run'),
);
export const DEFAULT_STORE_PORT = 7070;
export const DEFAULT_STORE_BUCKET = 's3-synth';
const BUILD_HINT = 'build versitygw with `S3_OBJECT_STORE=1 bash scripts/setup.sh` (or set S3_OBJECT_STORE_BIN)';

/** The versitygw binary: $S3_OBJECT_STORE_BIN, else the one setup builds; undefined when missing. */
export function objectStoreBin(): string | undefined {
  const bin = process.env.S3_OBJECT_STORE_BIN ?? OBJECT_STORE_DEFAULT_BIN;
  return fs.existsSync(bin) ? bin : undefined;
}

/**
 * versitygw's command line: the gateway on `host:port` with root credentials, a POSIX backend on
 * `dataDir` (each sub-folder a bucket) and its metadata in `metaDir` (no extended attributes needed).
 */
export function versitygwArgs(o: {
  host: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  dataDir: string;
  metaDir: string;
}): string[] {
  return [
    '--port',
    `${o.host}:${o.port}`,
    '--access',
    o.accessKeyId,
    '--secret',
    o.secretAccessKey,
    '--quiet',
    'posix',
    '--sidecar',
    o.metaDir,
    o.dataDir,
  ];
}

/** Whether something accepts TCP connections on host:port. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Creates `bucket` through the S3 API (an existing bucket of these credentials is fine).
 * @throws the SDK's error (with its message) for refused credentials or an unreachable endpoint
 */
export async function createBucket(
  endpoint: string,
  bucket: string,
  creds: { accessKeyId: string; secretAccessKey: string },
): Promise<void> {
  const { CreateBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: creds });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  } finally {
    client.destroy();
  }
}

/** What `store.json` holds. */
export interface StoreState {
  pid: number;
  host: string;
  port: number;
  /** http://host:port */
  endpoint: string;
  bucket: string;
  dataDir: string;
  metaDir: string;
  accessKeyId: string;
  secretAccessKey: string;
  startedAt: string;
}

export interface StoreStatus {
  running: boolean;
  /** the port accepts connections */
  listening: boolean;
  /** a state file whose process is gone */
  stale: boolean;
  state?: StoreState;
}

const stateFileOf = (runDir: string) => path.join(runDir, 'store.json');

function readState(runDir: string): StoreState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(stateFileOf(runDir), 'utf8')) as StoreState;
    return Number.isInteger(s.pid) && Number.isInteger(s.port) ? s : undefined;
  } catch {
    return undefined;
  }
}

function writeState(runDir: string, state: StoreState): void {
  writeStateFile(stateFileOf(runDir), state, 0o600);
}

/** True when `pid` is alive, not a zombie, and (where /proc exists) runs versitygw. */
const isStoreProcess = (pid: number) => isLiveProcessOf(pid, 'versitygw');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options of `startStore`. */
export interface StartStoreOptions {
  /** default 7070 */
  port?: number;
  /** default 127.0.0.1 (loopback only) */
  host?: string;
  /** default s3-synth */
  bucket?: string;
  /** the POSIX folder behind the store (default `<runDir>/data`) */
  dataDir?: string;
  /** state, log and default data folder (default .tools/object-store/run) */
  runDir?: string;
  /** default $S3_OBJECT_STORE_BIN, else .tools/object-store/bin/versitygw */
  binary?: string;
  /** how long to wait for the port, ms (default 30 000) */
  readyTimeoutMs?: number;
}

/**
 * Starts versitygw detached on loopback (or reuses the running one of the same port and data
 * folder), creates the bucket, and records the state.
 * @returns the state and whether a running store was reused
 * @throws Error when the binary is missing (with how to build it), when another store of this
 *   folder runs on another port, or when the gateway exits or does not listen in time (with the log's tail)
 */
export async function startStore(opts: StartStoreOptions = {}): Promise<{ state: StoreState; reused: boolean }> {
  const runDir = path.resolve(opts.runDir ?? OBJECT_STORE_RUN_DIR);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_STORE_PORT;
  const bucket = opts.bucket ?? DEFAULT_STORE_BUCKET;
  const dataDir = path.resolve(opts.dataDir ?? path.join(runDir, 'data'));
  // versitygw refuses a sidecar folder whose path starts with the data folder's (even `data.meta`)
  const metaDir = path.join(runDir, 'meta');
  const old = readState(runDir);
  if (old && isStoreProcess(old.pid)) {
    if (old.port !== port || old.host !== host || old.dataDir !== dataDir)
      throw new Error(
        `an object store already runs (pid ${old.pid}, ${old.endpoint}, data ${old.dataDir}): ` +
          '`s3 store stop` first, or use it',
      );
    if (old.bucket !== bucket) await createBucket(old.endpoint, bucket, old);
    const state = { ...old, bucket };
    writeState(runDir, state);
    return { state, reused: true };
  }
  const binary = opts.binary ?? objectStoreBin();
  if (!binary || !fs.existsSync(binary)) throw new Error(`no versitygw binary: ${BUILD_HINT}`);
  if (await accepts(host, port)) throw new Error(`${host}:${port} is in use by another program: choose --port`);
  fs.mkdirSync(runDir, { recursive: true });
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(metaDir, { recursive: true });
  // the workers' credentials when set, so their environment already matches; else kept from the last start
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID ?? old?.accessKeyId ?? `s3synth${randomBytes(4).toString('hex')}`;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY ?? old?.secretAccessKey ?? randomBytes(24).toString('hex');
  const logFile = path.join(runDir, 'store.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(binary, versitygwArgs({ host, port, accessKeyId, secretAccessKey, dataDir, metaDir }), {
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid!;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!(await accepts(host, port))) {
    if (!isStoreProcess(pid) || Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(`versitygw did not start on ${endpoint} (log ${logFile}):\n${tail}`);
    }
    await sleep(100);
  }
  const state: StoreState = {
    pid,
    host,
    port,
    endpoint,
    bucket,
    dataDir,
    metaDir,
    accessKeyId,
    secretAccessKey,
    startedAt: new Date().toISOString(),
  };
  writeState(runDir, state);
  await createBucket(endpoint, bucket, state);
  return { state, reused: false };
}

/**
 * Stops the recorded store (SIGTERM, then SIGKILL after `timeoutMs`); the data stays.
 * @returns whether a store was stopped; stale: the recorded process was already gone
 */
export async function stopStore(
  opts: { runDir?: string; timeoutMs?: number } = {},
): Promise<{ stopped: boolean; pid?: number; stale?: boolean }> {
  const runDir = path.resolve(opts.runDir ?? OBJECT_STORE_RUN_DIR);
  const state = readState(runDir);
  if (!state) return { stopped: false };
  const keep = { ...state, pid: 0 }; // the credentials and folders stay for the next start
  if (!isStoreProcess(state.pid)) {
    writeState(runDir, keep);
    return { stopped: false, pid: state.pid, stale: state.pid !== 0 };
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (isStoreProcess(state.pid) && Date.now() < deadline) await sleep(100);
  if (isStoreProcess(state.pid)) {
    process.kill(state.pid, 'SIGKILL');
    while (isStoreProcess(state.pid)) await sleep(50);
  }
  writeState(runDir, keep);
  return { stopped: true, pid: state.pid };
}

/** The recorded store: running, listening, or stale. Changes nothing. */
export async function storeStatus(opts: { runDir?: string } = {}): Promise<StoreStatus> {
  const state = readState(path.resolve(opts.runDir ?? OBJECT_STORE_RUN_DIR));
  if (!state || state.pid === 0) return { running: false, listening: false, stale: false, state };
  if (!isStoreProcess(state.pid)) return { running: false, listening: false, stale: true, state };
  return { running: true, listening: await accepts(state.host, state.port), stale: false, state };
}

/** The environment a worker or the CLI needs for this store (credentials, endpoint). */
export function storeEnv(s: StoreState): string {
  return [
    `export AWS_ENDPOINT_URL_S3=${s.endpoint}`,
    `export AWS_ACCESS_KEY_ID=${s.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${s.secretAccessKey}`,
  ].join('\n');
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
}

/** The `store` command for the s3 CLI: start | stop | status | env. */
export function storeCommand(name = 'store'): Command {
  const cmd = new Command(name).description(
    'a single-node S3-compatible object store (versitygw) on loopback for artifacts.uri s3://…',
  );
  cmd
    .command('start')
    .description('start versitygw detached (or reuse the running one) and create the bucket')
    .option('--port <n>', 'listen port', positiveInt, DEFAULT_STORE_PORT)
    .option('--host <ip>', 'listen address (keep it loopback unless you mean it)', '127.0.0.1')
    .option('--bucket <name>', 'bucket to create', DEFAULT_STORE_BUCKET)
    .option('--data <dir>', 'folder behind the store (default .tools/object-store/run/data)')
    .addHelpText(
      'after',
      `
Examples:
  $ npm run s3 -- store start
  $ eval "$(npm run -s s3 -- store env)"          # endpoint and credentials for this shell
  $ npm run s3 -- start my-run.json --set artifacts.uri=s3://s3-synth/runs`,
    )
    .action(async (o: { port: number; host: string; bucket: string; data?: string }) => {
      const { state, reused } = await startStore({ port: o.port, host: o.host, bucket: o.bucket, dataDir: o.data });
      console.log(
        `${reused ? 'object store already running' : 'object store started'}: ${state.endpoint} (pid ${state.pid}), ` +
          `bucket s3://${state.bucket}, data ${state.dataDir}`,
      );
      console.log(
        `use it with "artifacts": {"uri": "s3://${state.bucket}/runs"} and this environment (\`s3 store env\`):`,
      );
      console.log(storeEnv(state).replace(/(AWS_SECRET_ACCESS_KEY=).*/, '$1… (see `s3 store env`)'));
    });
  cmd
    .command('stop')
    .description('stop the store (its data stays)')
    .action(async () => {
      const r = await stopStore();
      console.log(
        r.stopped
          ? `object store stopped (pid ${r.pid})`
          : r.stale
            ? `object store was not running (stale pid ${r.pid})`
            : 'no object store running',
      );
    });
  cmd
    .command('status')
    .description('whether the store runs, where, and its bucket')
    .option('--json', 'print the status as JSON (without the secret)')
    .action(async (o: { json?: boolean }) => {
      const s = await storeStatus();
      if (o.json) {
        const state = s.state ? { ...s.state, secretAccessKey: undefined } : undefined;
        console.log(JSON.stringify({ ...s, state }, null, 2));
      } else if (s.running)
        console.log(
          `object store running: ${s.state!.endpoint} (pid ${s.state!.pid}${s.listening ? '' : ', NOT listening'}), ` +
            `bucket s3://${s.state!.bucket}, data ${s.state!.dataDir}`,
        );
      else console.log(s.stale ? `object store not running (stale pid ${s.state!.pid})` : 'object store not running');
      if (!s.running) process.exitCode = 3;
    });
  cmd
    .command('env')
    .description('print the export lines (endpoint, credentials) for the recorded store')
    .action(async () => {
      const s = await storeStatus();
      if (!s.state) throw new Error('no object store recorded: `s3 store start` first');
      console.log(storeEnv(s.state));
    });
  return cmd;
}
