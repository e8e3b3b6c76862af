/**
 * Replay tests: a recorded history of each workflow type must replay against the current
 * workflow code. A failure here means a change is not replay-safe and needs `patched()` (or a
 * new workflow type, the old one kept for running and recorded workflows).
 *
 * - tests/fixtures/s3Synthesis.history.json: recorded before the one loop (no 'one-loop'
 *   marker: it replays through workflows/legacy/s3SynthesisBeforeOneLoop.ts);
 * - tests/fixtures/s3Synthesis.one-loop.history.json: recorded on the one loop by
 *   `S3_RECORD_HISTORY=1 node --import tsx --test tests/workflow/workflow.test.ts`;
 * - tests/fixtures/s3Synthesis.steering.history.json (Updates: addGold accepted, its merge
 *   activity, the 'steering' patch marker) and s3Synthesis.cancelled.history.json (cancelled in
 *   an EES round: the teacher activity waited for, the partial report in a non-cancellable
 *   scope, ends cancelled): recorded by
 *   `S3_RECORD_HISTORY=1 node --import tsx --test tests/workflow/steering.test.ts`, which also
 *   records s3Experiment.cancelled and synthesisArm.cancelled (an experiment that sent its arm
 *   pause and resume Signals, then was cancelled: the arm saved what it had, the experiment
 *   reported its finished child);
 * - tests/fixtures/s3Experiment.history.json and synthesisArm.history.json (its one child, an `s3`
 *   arm under a token budget, whose history holds the `token-budget-remainder` patch marker):
 *   recorded by `node --import tsx tests/helpers/record-histories.ts`;
 * - tests/fixtures/s3Synthesis.long-run.history.json and s3Synthesis.long-run-end.history.json: the
 *   first run (closed by continue-as-new) and the last run (started from the carried state) of
 *   a single run with `synthesis.review: "each-round"` and a small history bound (the
 *   'long-run' and 'config-review' markers; review Updates in both runs), recorded by
 *   `node --import tsx tests/helpers/record-histories.ts tests/fixtures long-run`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/worker.js';

interface HistoryJson {
  events: {
    eventType: string;
    workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
    markerRecordedEventAttributes?: {
      markerName?: string;
      details?: { 'patch-data'?: { payloads?: { data?: string }[] } };
    };
  }[];
}

function load(type: string, variant = '', closed = 'COMPLETED'): HistoryJson {
  const file = path.join(import.meta.dirname, '..', 'fixtures', `${type}${variant}.history.json`);
  const history = JSON.parse(readFileSync(file, 'utf8')) as HistoryJson;
  assert.equal(history.events[0].workflowExecutionStartedEventAttributes?.workflowType?.name, type);
  const kinds = new Set(history.events.map((e) => e.eventType));
  assert.ok(
    kinds.has(`EVENT_TYPE_WORKFLOW_EXECUTION_${closed}`),
    `the recorded ${type}${variant} run closed ${closed}`,
  );
  return history;
}

for (const [type, variant, closed] of [
  ['s3Synthesis', ''],
  ['s3Synthesis', '.one-loop'],
  ['s3Synthesis', '.steering'],
  ['s3Synthesis', '.cancelled', 'CANCELED'],
  ['synthesisArm', ''],
  ['synthesisArm', '.cancelled', 'CANCELED'],
  ['s3Experiment', ''],
  ['s3Experiment', '.cancelled', 'CANCELED'],
  ['s3Synthesis', '.long-run', 'CONTINUED_AS_NEW'],
  ['s3Synthesis', '.long-run-end'],
]) {
  test(`recorded ${type}${variant} history replays against the current workflow code`, async () => {
    const history = load(type, variant, closed);
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS_PATH }, history, `recorded-${type}${variant}`);
  });
}

test('the s3Synthesis histories are one from before the one loop and one on it', () => {
  const marker = (h: HistoryJson) => h.events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
  assert.equal(marker(load('s3Synthesis')), false, 'recorded before patched("one-loop")');
  assert.equal(marker(load('s3Synthesis', '.one-loop')), true, 'recorded on the one loop');
});

test('the recorded synthesisArm history exercises patched() and the experiment started a child', () => {
  const arm = load('synthesisArm');
  assert.ok(
    arm.events.some((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch'),
    'a patch marker (token-budget-remainder) is in the arm history',
  );
  const experiment = load('s3Experiment');
  assert.ok(experiment.events.some((e) => e.eventType === 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED'));
});

test('the steering histories hold an accepted Update and a cancellation with its partial report', () => {
  const kinds = (h: HistoryJson) => new Set(h.events.map((e) => e.eventType));
  const steered = kinds(load('s3Synthesis', '.steering'));
  assert.ok(steered.has('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED'));
  const cancelled = load('s3Synthesis', '.cancelled', 'CANCELED');
  assert.ok(kinds(cancelled).has('EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED'));
  assert.ok(kinds(cancelled).has('EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED'));
  const types = cancelled.events.flatMap((e) => {
    const name = (e as { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } })
      .activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
  assert.equal(types[types.length - 1], 'writeReport', types.join(', '));
});

/** The patch ids of a history's patch markers, in order. */
function patches(h: HistoryJson): string[] {
  return h.events.flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });
}

test('the long-run histories are a run that continued as new and the run that went on from its carried state, both with the review gate from the config', () => {
  const first = load('s3Synthesis', '.long-run', 'CONTINUED_AS_NEW');
  const end = load('s3Synthesis', '.long-run-end');
  for (const h of [first, end]) {
    assert.deepEqual(patches(h), ['one-loop', 'steering', 'long-run', 'config-review']);
    assert.ok(
      h.events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED'),
      'a review Update',
    );
  }
  /** the second workflow argument: the recorder's bound, then the carried state (LongRunCarry) */
  const resume = (h: HistoryJson) => {
    const payloads =
      (h.events[0] as { workflowExecutionStartedEventAttributes?: { input?: { payloads?: { data?: string }[] } } })
        .workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    return JSON.parse(Buffer.from(payloads[1]?.data ?? 'bnVsbA==', 'base64').toString('utf8')) as {
      ledger?: { rounds: unknown[] };
      continued?: number;
      bound?: unknown;
    } | null;
  };
  assert.equal(resume(first)?.ledger, undefined, 'the first run started from the configuration (and a bound)');
  assert.equal(resume(end)?.continued, 1, 'the last run continued from the first');
  assert.ok((resume(end)?.ledger?.rounds.length ?? 0) > 0, 'with the rounds trained before');
  const activities = (h: HistoryJson) =>
    h.events.flatMap((e) => {
      const name = (e as { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } })
        .activityTaskScheduledEventAttributes?.activityType?.name;
      return name ? [name] : [];
    });
  assert.equal(activities(first)[0], 'prepareTask');
  const resumed = activities(end);
  assert.ok(
    !resumed.includes('prepareTask') && !resumed.includes('synthesizeSeed'),
    `the continued run went on from the carried task and seed data: ${resumed.join(', ')}`,
  );
  assert.equal(resumed[resumed.length - 1], 'writeReport');
});
