/**
 * Restart test: the Temporal dev server (persisting to a SQLite file, as `npm start` runs it)
 * is killed with SIGKILL in the middle of the seed phase and started again on the same file;
 * the worker process reconnects by itself and the run completes with the same final dataset
 * as an uninterrupted run, with no finished teacher call paid twice (counted at the loopback
 * fake teacher, a test double).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { temporalBin } from '../scripts/devserver.js';
import type { S3Result } from '../workflows/types.js';
import { startFakeTeacher } from './helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from './helpers/fixtures.js';
import { spawnWorker } from './helpers/temporal.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

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
  { timeout: 240_000 },
  async () => {
    const gold = writeGoldTask({ validation: 40, test: 60 });
    const db = path.join(mkdtempSync(path.join(tmpdir(), 's3-db-')), 'temporal.db');
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    let server = await startServer(port, db);
    await startWorker(address);
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
    const reference = (await (
      await c1.workflow.start('s3Synthesis', {
        taskQueue: 's3-restart-test',
        workflowId: 'restart-ref',
        args: [config('restart-ref', refFake.baseURL)],
      })
    ).result()) as S3Result;
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
    while (!killed) await new Promise((r) => setTimeout(r, 20));
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
    void c1.connection.close().catch(() => undefined); // its server is gone: do not wait on it
    server = await startServer(port, db); // the same database file
    const c2 = await client();
    const result = (await c2.workflow.getHandle('restart-run').result()) as S3Result;
    await c2.connection.close();
    await fake.close();
    console.log(
      `restart test: ${fake.answered} calls answered (reference ${refFake.answered}), ${fake.aborted} aborted`,
    );
    assert.deepEqual(fake.answeredTwice(), [], 'a finished teacher call was paid for twice');
    assert.equal(
      result.dataset.sha256,
      reference.dataset.sha256,
      'the final dataset differs from the uninterrupted run',
    );
  },
);
