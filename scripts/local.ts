/**
 * What `s3 start` and `s3 experiment` both need: a Temporal server (a local dev server
 * started or reused), a client, and, unless told otherwise, a worker in this process.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createWorker } from '../workers/worker.js';
import { ensureDevServer } from './devserver.js';

/** The global CLI options. */
export interface GlobalOptions {
  address: string;
  namespace: string;
  taskQueue: string;
}

/** A connected local setup; `stopWorker()` drains the in-process worker and closes its teachers. */
export interface Local {
  server: Awaited<ReturnType<typeof ensureDevServer>>;
  client: Client;
  stopWorker(): Promise<void>;
}

/**
 * @param g address, namespace, task queue
 * @param o.uiPort / o.db the dev server's Web UI port and database file (when one is started)
 * @param o.worker run a worker in this process
 * @throws Error when no server can be started or reached
 */
export async function startLocal(g: GlobalOptions, o: { uiPort: string; db: string; worker: boolean }): Promise<Local> {
  const server = await ensureDevServer({ address: g.address, uiPort: Number(o.uiPort), dbFile: o.db });
  console.log(`Temporal ${server.started ? 'dev server started' : 'server reused'} at ${server.address}`);
  const client = new Client({ connection: await Connection.connect({ address: g.address }), namespace: g.namespace });
  let worker: Awaited<ReturnType<typeof createWorker>> | undefined;
  let workerDone: Promise<void> | undefined;
  if (o.worker) {
    Runtime.install({ logger: new DefaultLogger(process.env.S3_LOG_LEVEL === 'INFO' ? 'INFO' : 'WARN') });
    const nc = await NativeConnection.connect({ address: g.address });
    worker = await createWorker({ connection: nc, namespace: g.namespace, taskQueue: g.taskQueue });
    workerDone = worker.worker.run().finally(() => nc.close());
  }
  return {
    server,
    client,
    async stopWorker() {
      worker?.worker.shutdown();
      await workerDone;
      await worker?.teachers.close();
    },
  };
}
