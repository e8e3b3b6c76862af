/**
 * activities/context.ts guard(): what an activity body throws, as Temporal will record it
 * (MockActivityEnvironment from @temporalio/testing runs the body in an activity context).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { guard } from '../../activities/context.js';
import { DatasetError } from '../../data/jsonl.js';

test('a cancelled activity stays cancelled: its CancelledFailure passes through guard unchanged', async () => {
  const env = new MockActivityEnvironment();
  const run = env.run(() => guard(() => Context.current().cancelled));
  setTimeout(() => env.cancel('CANCELLED'), 10);
  await assert.rejects(run, (err: unknown) => err instanceof CancelledFailure && !(err instanceof ApplicationFailure));
});

test('an AbortError after a cancellation request passes through (Temporal records it as cancelled)', async () => {
  const env = new MockActivityEnvironment();
  const run = env.run(() =>
    guard(
      () =>
        new Promise((_, reject) =>
          Context.current().cancellationSignal.addEventListener('abort', () => {
            const e = new Error('The operation was aborted');
            e.name = 'AbortError';
            reject(e);
          }),
        ),
    ),
  );
  setTimeout(() => env.cancel('CANCELLED'), 10);
  await assert.rejects(run, (err: unknown) => err instanceof Error && err.name === 'AbortError');
});

test('without a cancellation request an AbortError is an ordinary retryable failure, and bad input non-retryable', async () => {
  const env = new MockActivityEnvironment();
  const abort = Object.assign(new Error('aborted by a timeout'), { name: 'AbortError' });
  await assert.rejects(
    env.run(() => guard(() => Promise.reject(abort))),
    (err: unknown) => err instanceof ApplicationFailure && err.type === 'AbortError' && !err.nonRetryable,
  );
  await assert.rejects(
    env.run(() => guard(() => Promise.reject(new DatasetError('gold.jsonl', 3, 'unknown label "x"')))),
    (err: unknown) => err instanceof ApplicationFailure && err.type === 'InvalidInput' && err.nonRetryable === true,
  );
});
