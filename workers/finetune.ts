/**
 * The Python training worker of the 'finetune' student (workers/finetune, package s3_finetune)
 * as seen from TypeScript: where its interpreter is, whether a worker polls its task queue, and
 * starting one as a child process (`s3 start` does when none polls; tests do).
 *
 *   .tools/finetune-venv/bin/python -m s3_finetune.worker    (built by `S3_FINETUNE=1 bash scripts/setup.sh`)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { PROJECT_ROOT } from '../activities/paths.js';

/** The venv that `S3_FINETUNE=1 bash scripts/setup.sh` creates. */
export const FINETUNE_VENV = path.join(PROJECT_ROOT, '.tools', 'finetune-venv');
/** Its Python interpreter. */
export const FINETUNE_PYTHON = path.join(FINETUNE_VENV, 'bin', 'python');

/** Why the finetune worker cannot run here, or null when its venv is built. */
export function finetuneUnavailable(): string | null {
  return existsSync(FINETUNE_PYTHON)
    ? null
    : `${path.relative(PROJECT_ROOT, FINETUNE_PYTHON)} is missing: run S3_FINETUNE=1 bash scripts/setup.sh`;
}

/**
 * Whether a poller that the server still lists is gone: its identity is the SDKs' default
 * `<pid>@<host>`, the host is this machine, and no process with that pid runs here. The server
 * keeps listing a stopped worker's last poll for minutes, so without this check a run started
 * right after another one's worker had stopped waited for a worker that no longer existed.
 * @param identity the poller's identity as DescribeTaskQueue reports it
 * @returns true only when it is certainly gone; false for other hosts and custom identities
 */
export function pollerGone(identity: string | null | undefined): boolean {
  const m = /^(\d+)@(.+)$/.exec(identity ?? '');
  if (!m || m[2] !== os.hostname()) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Whether some live worker polled `taskQueue` for activities within the last `withinMs`
 * (pollers long-poll for about 60 s, so a live worker is seen within that); pollers
 * {@link pollerGone} says are gone do not count.
 */
export async function queuePolled(
  client: Client,
  taskQueue: string,
  namespace = client.options.namespace,
  withinMs = 90_000,
): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  return (res.pollers ?? []).some((p) => {
    const t = p.lastAccessTime;
    const ms = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
    return now - ms < withinMs && !pollerGone(p.identity);
  });
}

/**
 * Starts `python -m s3_finetune.worker` on `taskQueue`, resolved once it polls.
 * @param opts.env extra environment (e.g. S3_FINETUNE_MODEL)
 * @throws Error when the venv is missing, or with the worker's output when it exits before polling
 */
export function spawnFinetuneWorker(opts: {
  address: string;
  taskQueue: string;
  namespace?: string;
  env?: Record<string, string>;
}): Promise<ChildProcess> {
  const missing = finetuneUnavailable();
  if (missing) return Promise.reject(new Error(`student.kind "finetune" needs the Python worker: ${missing}`));
  const child = spawn(FINETUNE_PYTHON, ['-m', 's3_finetune.worker'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      ...opts.env,
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: opts.namespace ?? 'default',
      S3_TRAIN_TASK_QUEUE: opts.taskQueue,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('s3-train worker on')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code, signal) =>
      reject(new Error(`finetune worker exited (${code ?? signal}) before polling:\n${out.slice(-4000)}`)),
    );
  });
}

/**
 * Makes sure a training worker polls `taskQueue`: reuses one that does, else starts one as a
 * child process. @returns stop(): SIGTERM to the child started here (graceful), nothing otherwise.
 */
export async function ensureFinetuneWorker(opts: {
  client: Client;
  address: string;
  taskQueue: string;
  /** where the started worker's stderr (its log) goes; default: this process's stderr */
  log?: (chunk: Buffer) => void;
}): Promise<{ started: boolean; stop(): Promise<void> }> {
  if (await queuePolled(opts.client, opts.taskQueue)) {
    console.log(`finetune worker: reusing the one polling task queue "${opts.taskQueue}"`);
    return { started: false, stop: async () => undefined };
  }
  const child = await spawnFinetuneWorker({
    address: opts.address,
    taskQueue: opts.taskQueue,
    namespace: opts.client.options.namespace,
  });
  console.log(`finetune worker: started (pid ${child.pid}) on task queue "${opts.taskQueue}"`);
  child.stdout!.resume();
  child.stderr!.on('data', opts.log ?? ((b: Buffer) => process.stderr.write(b)));
  return {
    started: true,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
