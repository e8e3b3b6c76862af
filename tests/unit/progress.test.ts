/** What the CLI shows for a heartbeat (scripts/progress.ts beatView). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beatView } from '../../scripts/progress.js';

test('beatView: teacher calls done/total with the re-ask attempt', () => {
  assert.deepEqual(beatView({ phase: 'seed', done: 30, total: 200 }), { done: 30, total: 200, note: '' });
  assert.deepEqual(beatView({ done: 0, total: 1, attempt: 1 }), {
    done: 0,
    total: 1,
    note: '(re-asking rejected outputs, attempt 2)',
  });
  assert.deepEqual(beatView({}), { done: 0, total: 0, note: '' });
});

test('beatView: the finetune student shows steps, epoch and loss; a resume and a retried attempt are named', () => {
  // a heartbeat as workers/finetune/s3_finetune/activity.py sends it
  const beat = {
    activityAttempt: 1,
    checkpoint: '/runs/x/round-0/finetune/checkpoint.pt',
    device: 'cpu',
    epoch: 2,
    epochs: 6,
    loss: 0.272860586643219,
    phase: 'fit',
    resumedFromStep: 0,
    round: 0,
    step: 30,
    steps: 150,
    trainSize: 200,
  };
  assert.deepEqual(beatView(beat), { done: 30, total: 150, note: 'epoch 2/6 loss 0.273' });
  assert.deepEqual(beatView({ ...beat, step: 90, resumedFromStep: 50, activityAttempt: 2 }), {
    done: 90,
    total: 150,
    note: 'epoch 2/6 loss 0.273 (resumed at step 50) (attempt 2)',
  });
  assert.deepEqual(beatView({ phase: 'predict', round: 0, activityAttempt: 1 }), {
    done: 0,
    total: 0,
    note: 'scoring',
  });
  assert.deepEqual(beatView({ phase: 'export', round: 0 }), { done: 0, total: 0, note: 'exporting ONNX' });
});
