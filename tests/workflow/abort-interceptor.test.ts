/**
 * scripts/abortInterceptor.ts against a real dev server: after many calls the signal holds no
 * listener (the CLI watches a run for hours under one signal; `Connection.withAbortSignal` left
 * one listener per call and Node warned "MaxListenersExceededWarning" after the eleventh), and
 * aborting it cancels a call in flight (a long poll) at once, without a retry.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, test } from 'node:test';
import { Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { abortInterceptor } from '../../scripts/abortInterceptor.js';
import { startDevServer } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startDevServer();
});
after(async () => {
  await env?.teardown();
});

async function connect(signal: AbortSignal): Promise<Connection> {
  return Connection.connect({
    address: env.connection.options.address as string,
    interceptors: [abortInterceptor(signal), makeGrpcRetryInterceptor(defaultGrpcRetryOptions())],
  });
}

test('50 finished calls leave no abort listener behind', { timeout: 60_000 }, async () => {
  const stop = new AbortController();
  const connection = await connect(stop.signal);
  try {
    for (let i = 0; i < 50; i++) await connection.workflowService.getSystemInfo({});
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  } finally {
    await connection.close();
  }
});

test(
  'aborting the signal cancels a call in flight (a 60 s long poll) within a second',
  { timeout: 60_000 },
  async () => {
    const stop = new AbortController();
    const connection = await connect(stop.signal);
    try {
      const poll = connection.withDeadline(Date.now() + 60_000, () =>
        connection.workflowService.pollWorkflowTaskQueue({
          namespace: 'default',
          taskQueue: { name: 'abort-interceptor-empty-queue' },
          identity: 'abort-interceptor-test',
        }),
      );
      poll.catch(() => undefined); // asserted below
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(getEventListeners(stop.signal, 'abort').length, 1, 'one listener while the poll is in flight');
      const t0 = Date.now();
      stop.abort();
      await assert.rejects(poll, (err: Error & { code?: number }) => {
        assert.equal(err.code, 1, `gRPC CANCELLED, got ${err.code}: ${err.message}`);
        return true;
      });
      assert.ok(Date.now() - t0 < 1_000, `cancelled after ${Date.now() - t0} ms`);
      assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
      // a call started after the abort runs normally
      await connection.workflowService.getSystemInfo({});
    } finally {
      await connection.close();
    }
  },
);
