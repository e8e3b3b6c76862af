/**
 * Replay test: a recorded history of s3Synthesis (tests/fixtures/s3Synthesis.history.json,
 * recorded by `S3_RECORD_HISTORY=1 node --import tsx --test tests/workflow/workflow.test.ts`) must
 * replay against the current workflow code. A failure here means a change is not
 * replay-safe and needs `patched()`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/worker.js';

test('recorded s3Synthesis history replays against the current workflow code', async () => {
  const file = path.join(import.meta.dirname, '..', 'fixtures', 's3Synthesis.history.json');
  const history = JSON.parse(readFileSync(file, 'utf8'));
  const kinds = new Set(history.events.map((e: { eventType: string }) => e.eventType));
  assert.ok(kinds.has('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'), 'the recorded run completed');
  await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, 'recorded-s3Synthesis');
});
