/**
 * Restart test: the Temporal dev server (persisting to a SQLite file, as `npm start` runs it)
 * is killed with SIGKILL in the middle of the seed phase and started again on the same file;
 * the worker process reconnects by itself and the run completes with the same final dataset
 * as an uninterrupted run, with no finished teacher call paid twice (counted at the loopback
 * fake teacher, a test double).
 *
 * It once hung in loaded full-suite runs (and was off by default): after the SIGKILL it waited
 * for the server's 'exit' event when `exitCode` was null, but a process killed by a signal has
 * `exitCode` null and `signalCode` set, so when Node had already reaped it (the test's 20 ms poll
 * ran late on a busy machine) the event had fired and the wait never ended. `exited` checks both.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { temporalBin } from '../../scripts/devserver.js';
import type { S3Result } from '../../workflows/types.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { spawnWorker } from '../helpers/temporal.js';

const children: ChildProcess[] = [];
/** set once the test is done: a worker exiting then is not restarted */
let stopping = false;
after(() => {
  stopping = true;
  for (const c of children) if (!hasExited(c)) c.kill('SIGKILL');
  // after a failure, open gRPC connections or a long poll must not keep this test file's
  // process (and so the whole suite) alive: exit if it has not ended 10 s after the test
  setTimeout(() => process.exit(process.exitCode ?? 0), 10_000).unref();
});

/**
 * `promise`, or a rejection naming `stage` (and what `diagnose` tells) after `ms`.
 * @throws Error "stuck at <stage> …" on timeout
 */
async function within<T>(ms: number, stage: string, promise: Promise<T>, diagnose: () => Promise<string>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void diagnose().then((d) => reject(new Error(`stuck at ${stage} after ${ms / 1000} s\n${d}`)));
    }, ms);
  });
  return Promise.race([promise, stuck]).finally(() => clearTimeout(timer));
}

/** Whether a child process has ended: an exit code, or the signal that killed it (exitCode stays null then). */
const hasExited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

/** Resolves when `c` has ended, at once if it already has ('exit' is emitted only once). */
function exited(c: ChildProcess): Promise<void> {
  return hasExited(c) ? Promise.resolve() : new Promise((r) => c.once('exit', () => r()));
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startServer(port: number, db: string): Promise<ChildProcess> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--headless'];
  args.push('--db-filename', db, '--log-level', 'error');
  const child = spawn(temporalBin(), args, { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 120; i++) {
    try {
      const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 500 });
      await c.close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error('dev server did not start');
}

const startWorker = (address: string) => spawnWorker(address, 's3-restart-test', children);

test(
  'SIGKILL of the dev server during the seed phase: after a restart on the same database the run completes unchanged',
  {
    timeout: 300_000,
  },
  async () => {
    const gold = writeGoldTask({ validation: 40, test: 60 });
    const db = path.join(mkdtempSync(path.join(tmpdir(), 's3-db-')), 'temporal.db');
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    let server = await startServer(port, db);
    // the worker's output, for the diagnosis if the run does not finish
    let workerLog = '';
    let workerRestarts = 0;
    const watch = (w: ChildProcess) => {
      w.stdout?.on('data', (b: Buffer) => (workerLog = (workerLog + b.toString()).slice(-20_000)));
      w.stderr?.on('data', (b: Buffer) => (workerLog = (workerLog + b.toString()).slice(-20_000)));
      // a worker that gives up while the server is down is restarted, as a user would restart it
      w.once('exit', (code) => {
        if (stopping) return;
        workerRestarts++;
        workerLog += `\n[test] worker exited (${code}); starting another\n`;
        void startWorker(address).then(watch, (err: Error) => (workerLog += `\n[test] ${err.message}\n`));
      });
    };
    watch(await within(120_000, 'the first worker to start', startWorker(address), async () => ''));
    const client = async () => new Client({ connection: await Connection.connect({ address }) });
    const config = (runId: string, baseURL: string) =>
      fakeRunConfig(gold, baseURL, {
        runId,
        seedSize: 20,
        rounds: 1,
        concurrency: 1,
        heartbeatSec: 5,
        cacheDir: path.join(gold.dir, `cache-${runId}`),
      });

    const refFake = await startFakeTeacher({ delayMs: 20 });
    const c1 = await client();
    const describe = (id: string) => async () => {
      const state = await c1.workflow
        .getHandle(id)
        .describe()
        .then((d) => JSON.stringify({ status: d.status.name, pending: d.raw.pendingActivities }, null, 1))
        .catch((err: Error) => `describe failed: ${err.message}`);
      return `workflow ${id}: ${state}\nworker restarts: ${workerRestarts}\nworker output (tail):\n${workerLog.slice(-4000)}`;
    };
    const reference = (await within(
      120_000,
      'the uninterrupted reference run',
      c1.workflow
        .start('s3Synthesis', {
          taskQueue: 's3-restart-test',
          workflowId: 'restart-ref',
          args: [config('restart-ref', refFake.baseURL)],
        })
        .then((h) => h.result()),
      describe('restart-ref'),
    )) as S3Result;
    await refFake.close();

    let seedCalls = 0;
    let killed = false;
    const fake = await startFakeTeacher({
      delayMs: 150,
      onRequest: (r) => {
        if (!killed && /Now imagine/.test(r.prompt) && ++seedCalls === 5) {
          killed = true;
          server.kill('SIGKILL');
        }
      },
    });
    await c1.workflow.start('s3Synthesis', {
      taskQueue: 's3-restart-test',
      workflowId: 'restart-run',
      args: [config('restart-run', fake.baseURL)],
    });
    const waitKill = async () => {
      while (!killed) await new Promise((r) => setTimeout(r, 20));
    };
    await within(120_000, 'the 5th seed call', waitKill(), async () => {
      const d = await describe('restart-run')();
      return `seed calls seen by the fake teacher: ${seedCalls}, requests: ${fake.requests}\n${d}`;
    });
    await within(30_000, 'the killed dev server to exit', exited(server), async () => `pid ${server.pid}`);
    void c1.connection.close().catch(() => undefined); // its server is gone: do not wait on it
    server = await startServer(port, db); // the same database file
    const c2 = await client();
    const handle = c2.workflow.getHandle('restart-run');
    // a hang is reported with what the server and the worker were doing, not as a bare timeout
    const result = (await within(180_000, 'the run after the server restart', handle.result(), async () => {
      const state = await handle
        .describe()
        .then((d) => JSON.stringify({ status: d.status.name, pending: d.raw.pendingActivities }, null, 1))
        .catch((err: Error) => `describe failed: ${err.message}`);
      return `workflow restart-run: ${state}\nworker restarts: ${workerRestarts}\nworker output (tail):\n${workerLog.slice(-4000)}`;
    })) as S3Result;
    stopping = true;
    await c2.connection.close();
    await fake.close();
    console.log(
      `restart test: ${fake.answered} calls answered (reference ${refFake.answered}), ${fake.aborted} aborted, ` +
        `worker restarts ${workerRestarts}`,
    );
    assert.deepEqual(fake.answeredTwice(), [], 'a finished teacher call was paid for twice');
    assert.equal(
      result.dataset.sha256,
      reference.dataset.sha256,
      'the final dataset differs from the uninterrupted run',
    );
  },
);
