/**
 * Starts, stops and reports llama.cpp's own `llama-server` as a teacher shared by many
 * workers and runs (`teacher.provider: "llama-server"`): one loaded GGUF, `slots` parallel
 * sequences with continuous batching, OpenAI-compatible API at http://HOST:PORT/v1.
 *
 * The server runs detached and outlives the command; `.s3-cache/teacher-server.json`
 * records {pid, port, host, modelPath, startedAt, ...}. A second `start` for the same model
 * and port reuses the running server; a pid file whose process is gone is stale and replaced.
 * The binary comes from `S3_LLAMA_TOOLS=1 bash scripts/setup.sh` (scripts/build-llama-tools.sh).
 *
 * CLI: node --import tsx scripts/teacher-server.ts start|stop|status [--model PATH] [--port N]
 *        [--slots N] [--threads N] [--ctx-per-slot N] [--host H]
 *      (npm run teacher-server -- start ...)
 */
import { isLiveProcessOf, writeStateFile } from './processes.js';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** llama-server built by scripts/build-llama-tools.sh */
export const LLAMA_SERVER_BIN = path.join(PROJECT_ROOT, '.tools', 'llama.cpp', 'bin', 'llama-server');
/** the default teacher installed by scripts/setup.sh */
export const DEFAULT_SERVER_MODEL = path.join(PROJECT_ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
/** pid file of the running server */
export const DEFAULT_STATE_FILE = path.join(PROJECT_ROOT, '.s3-cache', 'teacher-server.json');
export const DEFAULT_PORT = 8091;
export const DEFAULT_HOST = '127.0.0.1';
const BUILD_HINT = 'S3_LLAMA_TOOLS=1 bash scripts/setup.sh';

/** Options of `startTeacherServer`. */
export interface StartTeacherServerOptions {
  /** GGUF to load (default: models/SmolLM2-135M-Instruct.Q4_1.gguf) */
  modelPath?: string;
  /** default 8091 */
  port?: number;
  /** default 127.0.0.1 (loopback only) */
  host?: string;
  /** parallel sequences (llama-server slots), default 4 */
  slots?: number;
  /** tokens per slot (prompt + reply), default 2048; the context is slots × ctxPerSlot */
  ctxPerSlot?: number;
  /** CPU threads (default: all cores) */
  threads?: number;
  /** server log (default: .s3-cache/teacher-server.log, next to the pid file) */
  logFile?: string;
  /** pid file (default: .s3-cache/teacher-server.json) */
  stateFile?: string;
  /** llama-server binary (default: .tools/llama.cpp/bin/llama-server) */
  binary?: string;
  /** how long to wait for the model to load and `/health` to answer ok, ms (default 120 000) */
  readyTimeoutMs?: number;
}

/** What the pid file holds. */
export interface TeacherServerState {
  pid: number;
  port: number;
  host: string;
  modelPath: string;
  /** model name the server answers to and lists (the GGUF file name) */
  alias: string;
  slots: number;
  ctxPerSlot: number;
  threads: number;
  logFile: string;
  startedAt: string;
}

/** A running (or just started) server. */
export interface TeacherServerInfo extends TeacherServerState {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8091/v1 */
  baseURL: string;
  /** true when an already running server was reused */
  reused: boolean;
}

/** What `teacherServerStatus` reports. */
export interface TeacherServerStatus {
  /** the recorded process is alive and is a llama-server */
  running: boolean;
  /** it answered `GET /health` with status ok */
  healthy: boolean;
  /** a pid file exists but its process is gone */
  stale: boolean;
  state?: TeacherServerState;
  baseURL?: string;
  /** body of `GET /health` (or the error) */
  health?: string;
}

/**
 * Starts llama-server detached (or reuses the one already running for the same model and
 * port) and waits until `GET /health` answers ok.
 * @throws Error when the binary or the model is missing (naming `S3_LLAMA_TOOLS=1 bash scripts/setup.sh`),
 *   when a server for another model/port is recorded as running, when the port is taken,
 *   or when the server exits or is not ready within `readyTimeoutMs` (with its log's tail)
 */
export async function startTeacherServer(opts: StartTeacherServerOptions = {}): Promise<TeacherServerInfo> {
  const binary = opts.binary ?? LLAMA_SERVER_BIN;
  const stateFile = opts.stateFile ?? DEFAULT_STATE_FILE;
  const modelPath = path.resolve(opts.modelPath ?? DEFAULT_SERVER_MODEL);
  const port = opts.port ?? DEFAULT_PORT;
  const host = opts.host ?? DEFAULT_HOST;
  const slots = opts.slots ?? 4;
  const ctxPerSlot = opts.ctxPerSlot ?? 2048;
  const threads = opts.threads ?? defaultThreads();
  const logFile = path.resolve(opts.logFile ?? path.join(path.dirname(stateFile), 'teacher-server.log'));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  for (const [name, n] of Object.entries({ port, slots, ctxPerSlot, threads }))
    if (!Number.isInteger(n) || n <= 0) throw new Error(`teacher server: ${name} must be a positive integer, got ${n}`);

  if (!isExecutable(binary))
    throw new Error(`llama-server not found at ${binary}: build llama.cpp's tools once with \`${BUILD_HINT}\``);
  if (!fs.existsSync(modelPath))
    throw new Error(
      `teacher server: model file ${modelPath} not found (run \`bash scripts/setup.sh\` for the default)`,
    );

  const prev = readState(stateFile);
  if (prev) {
    if (isServerProcess(prev.pid)) {
      if (prev.modelPath === modelPath && prev.port === port && prev.host === host) {
        await waitHealthy(prev, readyTimeoutMs);
        return { ...prev, baseURL: baseURLOf(prev), reused: true };
      }
      throw new Error(
        `a teacher server is already running (pid ${prev.pid}, ${prev.host}:${prev.port}, ${prev.modelPath}); ` +
          'stop it first with `npm run teacher-server -- stop`',
      );
    }
    fs.rmSync(stateFile, { force: true }); // stale: its process is gone
  }
  const busy = await fetchHealth(host, port, 2_000);
  if (busy.answered)
    throw new Error(
      `teacher server: ${host}:${port} is already in use by another process (not recorded in ${stateFile}); pick another --port`,
    );

  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const alias = path.basename(modelPath);
  // prettier-ignore
  const args = [
    '--model', modelPath,
    '--alias', alias,
    '--host', host,
    '--port', String(port),
    '--parallel', String(slots),
    '--ctx-size', String(slots * ctxPerSlot),
    '--cont-batching',
    '--threads', String(threads),
    '--threads-batch', String(threads),
    '--no-webui',
  ];
  const log = fs.openSync(logFile, 'a');
  fs.writeSync(log, `\n[teacher-server] ${new Date().toISOString()} ${binary} ${args.join(' ')}\n`);
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (err) => reject(new Error(`teacher server: cannot start ${binary}: ${err.message}`)));
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
  child.unref();

  const state: TeacherServerState = {
    pid,
    port,
    host,
    modelPath,
    alias,
    slots,
    ctxPerSlot,
    threads,
    logFile,
    startedAt: new Date().toISOString(),
  };
  writeState(stateFile, state);
  try {
    await waitHealthy(state, readyTimeoutMs, () => exited);
  } catch (err) {
    killQuietly(pid, 'SIGKILL');
    fs.rmSync(stateFile, { force: true });
    throw new Error(`${(err as Error).message}\n--- ${logFile} (last lines) ---\n${tail(logFile, 15)}`, {
      cause: err,
    });
  }
  return { ...state, baseURL: baseURLOf(state), reused: false };
}

/**
 * Stops the recorded server (SIGTERM, then SIGKILL after `timeoutMs`) and removes the pid file.
 * A stale pid file (process gone, or the pid now belongs to another program) is only removed.
 * @returns whether a process was stopped, and its pid
 */
export async function stopTeacherServer(
  opts: { stateFile?: string; timeoutMs?: number } = {},
): Promise<{ stopped: boolean; pid?: number; stale?: boolean }> {
  const stateFile = opts.stateFile ?? DEFAULT_STATE_FILE;
  const state = readState(stateFile);
  if (!state) return { stopped: false };
  if (!isServerProcess(state.pid)) {
    fs.rmSync(stateFile, { force: true });
    return { stopped: false, pid: state.pid, stale: true };
  }
  killQuietly(state.pid, 'SIGTERM');
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (isServerProcess(state.pid) && Date.now() < deadline) await sleep(100);
  if (isServerProcess(state.pid)) {
    killQuietly(state.pid, 'SIGKILL');
    while (isServerProcess(state.pid)) await sleep(50);
  }
  fs.rmSync(stateFile, { force: true });
  return { stopped: true, pid: state.pid };
}

/** Reports the recorded server: alive, answering `/health`, or stale. Changes nothing. */
export async function teacherServerStatus(opts: { stateFile?: string } = {}): Promise<TeacherServerStatus> {
  const state = readState(opts.stateFile ?? DEFAULT_STATE_FILE);
  if (!state) return { running: false, healthy: false, stale: false };
  if (!isServerProcess(state.pid)) return { running: false, healthy: false, stale: true, state };
  const h = await fetchHealth(state.host, state.port, 5_000);
  return { running: true, healthy: h.ok, stale: false, state, baseURL: baseURLOf(state), health: h.body };
}

/** OpenAI-compatible base URL of a server. */
export function baseURLOf(s: Pick<TeacherServerState, 'host' | 'port'>): string {
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;
  return `http://${host}:${s.port}/v1`;
}

function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function readState(stateFile: string): TeacherServerState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Partial<TeacherServerState>;
    if (!Number.isInteger(s.pid) || !Number.isInteger(s.port) || typeof s.modelPath !== 'string') return undefined;
    return { host: DEFAULT_HOST, alias: path.basename(s.modelPath), ...s } as TeacherServerState;
  } catch {
    return undefined;
  }
}

function writeState(stateFile: string, state: TeacherServerState): void {
  writeStateFile(stateFile, state);
}

/**
 * True when `pid` is alive, not a zombie, and (where /proc exists) runs llama-server, so a
 * recycled pid of another program is never taken for our server.
 */
const isServerProcess = (pid: number) => isLiveProcessOf(pid, 'llama-server');

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function fetchHealth(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<{ answered: boolean; ok: boolean; body: string }> {
  const h = host.includes(':') ? `[${host}]` : host;
  try {
    const res = await fetch(`http://${h}:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).slice(0, 300);
    return { answered: true, ok: res.ok && /"ok"/.test(body), body };
  } catch (err) {
    return { answered: false, ok: false, body: (err as Error).message };
  }
}

async function waitHealthy(
  s: Pick<TeacherServerState, 'host' | 'port' | 'pid'>,
  timeoutMs: number,
  exited: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = exited();
    if (why) throw new Error(`llama-server (pid ${s.pid}) stopped during start-up (${why})`);
    const h = await fetchHealth(s.host, s.port, 2_000);
    if (h.ok) return;
    if (Date.now() > deadline)
      throw new Error(`llama-server (pid ${s.pid}) not ready on ${s.host}:${s.port} after ${timeoutMs} ms (${h.body})`);
    if (!exited() && !isServerProcess(s.pid)) throw new Error(`llama-server (pid ${s.pid}) stopped during start-up`);
    await sleep(200);
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/**
 * The `start|stop|status` commands, for this script and for `s3 teacher-server`.
 * @param name the command's name (default `teacher-server`)
 */
export function teacherServerCommand(name = 'teacher-server'): Command {
  const cmd = new Command(name)
    .description("llama.cpp's llama-server as a teacher shared by many workers (teacher.provider: llama-server)")
    .addHelpText(
      'after',
      `
Examples (after S3_LLAMA_TOOLS=1 bash scripts/setup.sh):
  $ npm run s3 -- teacher-server start --slots 4
  $ npm start -- --set teacher.provider=llama-server --set teacher.concurrency=4
  $ npm run s3 -- teacher-server status
  $ npm run s3 -- teacher-server stop`,
    );
  cmd
    .command('start')
    .description('start llama-server detached (or reuse the running one) and wait until it is ready')
    .option('--model <path>', 'GGUF to load', DEFAULT_SERVER_MODEL)
    .option('--port <n>', 'port', positiveInt, DEFAULT_PORT)
    .option('--host <host>', 'address to listen on', DEFAULT_HOST)
    .option('--slots <n>', 'parallel sequences (continuous batching)', positiveInt, 4)
    .option('--threads <n>', 'CPU threads (default: all cores)', positiveInt)
    .option('--ctx-per-slot <n>', 'tokens per slot (prompt + reply)', positiveInt, 2048)
    .option('--log <file>', 'server log (default .s3-cache/teacher-server.log)')
    .action(
      async (o: {
        model: string;
        port: number;
        host: string;
        slots: number;
        threads?: number;
        ctxPerSlot: number;
        log?: string;
      }) => {
        const t0 = Date.now();
        const info = await startTeacherServer({
          modelPath: o.model,
          port: o.port,
          host: o.host,
          slots: o.slots,
          threads: o.threads,
          ctxPerSlot: o.ctxPerSlot,
          logFile: o.log,
        });
        console.log(
          `${info.reused ? 'reusing' : `started in ${((Date.now() - t0) / 1000).toFixed(1)} s:`} llama-server pid ${info.pid} ` +
            `at ${info.baseURL} (model ${info.alias}, ${info.slots} slots × ${info.ctxPerSlot} tokens, ${info.threads} threads)\n` +
            `log: ${info.logFile}\n` +
            `use it with: --set teacher.provider=llama-server` +
            (info.port === DEFAULT_PORT && info.host === DEFAULT_HOST ? '' : ` --set teacher.baseURL=${info.baseURL}`),
        );
      },
    );
  cmd
    .command('stop')
    .description('stop the recorded llama-server')
    .action(async () => {
      const r = await stopTeacherServer();
      console.log(
        r.stopped
          ? `stopped llama-server pid ${r.pid}`
          : r.stale
            ? `no llama-server running (removed stale pid file of pid ${r.pid})`
            : 'no llama-server running',
      );
    });
  cmd
    .command('status')
    .description('show the recorded llama-server and whether it answers /health')
    .action(async () => {
      const s = await teacherServerStatus();
      if (!s.state) console.log('no llama-server recorded');
      else if (s.stale) console.log(`not running (stale pid file: pid ${s.state.pid} is gone)`);
      else
        console.log(
          `llama-server pid ${s.state.pid} at ${s.baseURL}: ${s.healthy ? 'healthy' : `not ready (${s.health})`}\n` +
            `model ${s.state.modelPath}, ${s.state.slots} slots × ${s.state.ctxPerSlot} tokens, ${s.state.threads} threads, ` +
            `since ${s.state.startedAt}\nlog: ${s.state.logFile}`,
        );
      if (!s.running) process.exitCode = 3;
    });
  return cmd;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  teacherServerCommand()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(`teacher-server: ${(err as Error).message}`);
      process.exitCode = 1;
    });
}
