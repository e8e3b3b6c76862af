/**
 * `runLocally(...)`: what `s3 start` and `s3 experiment` share. It starts (or reuses) a local
 * Temporal dev server, runs a worker in this process (its SDK log going to a file, not the
 * terminal, unless `verbose`), starts the Python training worker when the student needs one,
 * starts (or attaches to) the workflow, watches it until it ends and stops what it started.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  WorkflowIdConflictPolicy,
  type WorkflowHandle,
} from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogEntry } from '@temporalio/worker';
import { ensureFinetuneWorker } from '../workers/finetune.js';
import { describeMissing, rolesWithoutPollers, type NeededQueue } from '../workers/pollers.js';
import { createWorker } from '../workers/worker.js';
import { abortInterceptor } from './abortInterceptor.js';
import { ensureDevServer } from './devserver.js';
import { cliConnection, type GlobalOptions } from './temporalClient.js';
import { describeConnection } from '../workers/connection.js';

/** The global CLI options. */
export type { GlobalOptions };

/** The options of a command that runs a workflow here. */
export interface LocalOptions {
  /** Web UI port of a dev server started here */
  uiPort: string;
  /** dev server database file */
  db: string;
  /** run a worker in this process */
  worker: boolean;
  /** the worker's SDK log on the terminal (as well as in the log file) */
  verbose?: boolean;
}

/** What to run: a workflow, its id and arguments, and how to watch it. */
export interface LocalRun<R> {
  /** the workflow type (its name: the CLI loads no workflow code) */
  workflow: string;
  workflowId: string;
  args: unknown[];
  /** the worker's log file (e.g. runs/<runId>/worker.log) */
  logFile: string;
  /** the Python training worker's task queue when the student is "finetune" */
  finetuneQueue?: string;
  /** the task queues the run needs polled (workers/pollers.ts queuesNeeded): checked before it starts */
  needs?: NeededQueue[];
  /** called with the server before the workflow starts (e.g. to turn search attributes on) */
  beforeStart?(server: Awaited<ReturnType<typeof ensureDevServer>>): void;
  /** called once the workflow started, with the Web UI link (and a note when no UI answers) */
  onStarted?(info: { workflowId: string; ui: string }): void;
  /** watches the workflow; @returns its result; @throws its failure */
  watch(handle: WorkflowHandle, client: Client): Promise<R>;
  /** where status lines go (default: the terminal's stdout; `--json` sends them to stderr) */
  say?(line: string): void;
}

/** A finished (or failed) local run. */
export type LocalOutcome<R> =
  | { ok: true; result: R; workflowId: string; ui: string; seconds: number }
  | { ok: false; error: unknown; workflowId: string; ui: string; seconds: number };

/**
 * Runs one workflow here, end to end.
 * @returns the result, or the failure (never throws for a failed workflow)
 * @throws Error when no server can be started or reached, or the workflow cannot be started
 */
export async function runLocally<R>(g: GlobalOptions, o: LocalOptions, run: LocalRun<R>): Promise<LocalOutcome<R>> {
  const say = run.say ?? ((line: string) => console.log(line));
  const t0 = Date.now();
  const temporal = cliConnection(g);
  const server = await ensureDevServer({ connection: temporal, uiPort: Number(o.uiPort), dbFile: o.db });
  say(`Temporal ${server.started ? 'dev server started' : 'server reused'} at ${describeConnection(temporal)}`);
  // the watch's calls are cancelled when it stops (an interruption): see the comment at the watch
  const stopWatching = new AbortController();
  const connection = await Connection.connect({
    ...temporal.client,
    interceptors: [abortInterceptor(stopWatching.signal), makeGrpcRetryInterceptor(defaultGrpcRetryOptions())],
  });
  const client = new Client({ connection, namespace: temporal.namespace });
  let stopWorker = async () => undefined as void;
  // resolves when the in-process worker stops on its own: the SDK shuts it down on SIGINT /
  // SIGTERM, and then nothing would ever answer the watch's queries
  let workerStopped: Promise<void> = new Promise(() => undefined);
  let trainer: { stop(): Promise<void> } | undefined;
  let watchSettled: Promise<void> = Promise.resolve();
  try {
    if (o.worker)
      ({ stop: stopWorker, stopped: workerStopped } = await startWorker(g, run.logFile, o.verbose ?? false));
    // student.kind "finetune": a Python training worker polls its task queue (started here when none does)
    if (run.finetuneQueue) {
      // the Python worker's log goes where the TypeScript worker's does
      mkdirSync(path.dirname(run.logFile), { recursive: true });
      const log = (b: Buffer) => {
        appendFileSync(run.logFile, b);
        if (o.verbose) process.stderr.write(b);
      };
      trainer = await ensureFinetuneWorker({ client, address: g.address, taskQueue: run.finetuneQueue, log });
    }
    // a queue no worker polls makes the run wait silently: say which worker to start
    const unserved = (run.needs ?? []).filter(
      (n) => n.role !== 'finetune' && (!o.worker || n.taskQueue !== g.taskQueue),
    );
    const missing = unserved.length ? await rolesWithoutPollers(client, temporal.namespace, unserved) : [];
    if (missing.length) say(`warning: the run waits until these are polled:\n${describeMissing(missing)}`);
    run.beforeStart?.(server);
    const handle = await client.workflow.start(run.workflow, {
      taskQueue: g.taskQueue,
      workflowId: run.workflowId,
      args: run.args,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    let ui = `${server.uiUrl}/namespaces/${g.namespace}/workflows/${encodeURIComponent(handle.workflowId)}`;
    const uiProblem = await checkWebUi(server.uiUrl);
    if (uiProblem) ui += ` (${uiProblem}; pass --ui-port if the server's UI is elsewhere)`;
    run.onStarted?.({ workflowId: handle.workflowId, ui });
    const seconds = () => (Date.now() - t0) / 1000;
    try {
      const interrupted = workerStopped.then(() => {
        throw new Error(
          `interrupted: this command's worker stopped (a signal); workflow ${handle.workflowId} goes on on the server ` +
            'and resumes when a worker polls again: run the same command again',
        );
      });
      // after an interruption the calls in flight are cancelled (abortInterceptor; CANCELLED is
      // not retried) and the connection closes only once the watch has settled; a call still
      // being retried when the connection closes throws from the SDK's retry timer ("Channel has
      // been shut down") as an uncaught exception with a stack trace
      const watching = run.watch(handle, client);
      watchSettled = watching.then(
        () => undefined,
        () => undefined,
      );
      const result = await Promise.race([watching, interrupted]);
      return { ok: true, result, workflowId: handle.workflowId, ui, seconds: seconds() };
    } catch (error) {
      return { ok: false, error, workflowId: handle.workflowId, ui, seconds: seconds() };
    }
  } finally {
    stopWatching.abort();
    await Promise.race([watchSettled, new Promise((r) => setTimeout(r, WATCH_SETTLE_MS).unref())]);
    await stopWorker();
    await trainer?.stop();
    await client.connection.close();
  }
}

/** How long a closing command waits for its cancelled watch calls to settle, in ms. */
const WATCH_SETTLE_MS = 10_000;

/** One log line as the SDK's default logger writes it (time, level, message, metadata). */
export function formatLogEntry(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const meta = entry.meta === undefined ? '' : ` ${inspect(entry.meta, { depth: 6, breakLength: Infinity })}`;
  return `${time} [${entry.level}] ${entry.message}${meta}\n`;
}

/**
 * Installs the SDK runtime with a logger writing to `logFile` (and the terminal's stderr when
 * `verbose`), native (core) logs forwarded to it, and runs a worker in this process.
 * @returns stop(): drains the worker and closes its teachers; stopped: resolves when the
 *   worker has stopped (after stop(), or on its own: the SDK shuts it down on SIGINT/SIGTERM)
 */
async function startWorker(
  g: GlobalOptions,
  logFile: string,
  verbose: boolean,
): Promise<{ stop: () => Promise<void>; stopped: Promise<void> }> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  appendFileSync(logFile, `--- ${new Date().toISOString()} worker started (pid ${process.pid})\n`);
  const level = process.env.S3_LOG_LEVEL === 'INFO' ? 'INFO' : 'WARN';
  const write = (entry: LogEntry) => {
    const line = formatLogEntry(entry);
    appendFileSync(logFile, line);
    if (verbose) process.stderr.write(line);
  };
  Runtime.install({
    logger: new DefaultLogger(level, write),
    telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } },
  });
  const nc = await NativeConnection.connect(cliConnection(g).native);
  const worker = await createWorker({ connection: nc, namespace: g.namespace, taskQueue: g.taskQueue });
  const done = worker.worker.run().finally(() => nc.close());
  return {
    stopped: done.then(
      () => undefined,
      () => undefined,
    ),
    async stop() {
      if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
      await done;
      await worker.teachers.close();
    },
  };
}

/**
 * Checks that what answers at `uiUrl` is a Temporal Web UI.
 * @returns undefined when it is, else what is wrong (nothing answers, or another server does)
 */
export async function checkWebUi(uiUrl: string): Promise<string | undefined> {
  try {
    // the Temporal UI server answers its settings route with JSON naming Auth and DefaultNamespace
    const r = await fetch(`${uiUrl}/api/v1/settings`, { signal: AbortSignal.timeout(2000) });
    const body = (await r.json().catch(() => null)) as Record<string, unknown> | null;
    if (r.ok && body && 'Auth' in body && 'DefaultNamespace' in body) return undefined;
    return `the server at ${uiUrl} is not a Temporal Web UI`;
  } catch {
    return `no Web UI answers at ${uiUrl}`;
  }
}
