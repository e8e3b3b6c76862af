/** Unit tests of domain/ledger.ts: the loop's bookkeeping (budget left, rounds, usage) against hand-computed answers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger, roundTraining } from '../../domain/ledger.js';
import {
  roundColumns,
  roundTableHead,
  roundTableMarkdown,
  roundTableRows,
  TRAINING_HEAD,
  WALL_HEAD,
} from '../../domain/roundTable.js';
import type { DatasetRef, SplitMetrics, TeacherUsage } from '../../domain/types.js';

const usage = (prompt: number, completion: number, calls = 1): TeacherUsage => ({
  promptTokens: prompt,
  completionTokens: completion,
  calls,
  cachedCalls: 0,
  rejected: 0,
  teacherMs: 0,
});
const ref = (name: string, count: number): DatasetRef => ({ path: name, sha256: name, count, labelCounts: {} });
const split = (accuracy: number): SplitMetrics => ({ count: 10, accuracy, macroF1: accuracy, misclassified: 0 });
const student = (trainSize: number, accuracy: number) => ({
  trainSize,
  validation: split(accuracy),
  test: split(accuracy),
  studentMs: 1,
});

test('examples budget: spent = synthetic examples, left = limit − spent, gold not counted', () => {
  const l = new Ledger({ kind: 'examples', limit: 100 });
  l.record({ usage: usage(500, 100), ref: ref('seed', 40) }, 'seed');
  l.addGold(ref('gold', 30), { train: 30 });
  assert.equal(l.spent(), 40);
  assert.equal(l.left(), 60);
  assert.equal(l.tokens, 600);
  assert.equal(l.goldCount(), 30);
  assert.deepEqual(
    l.trainingSet().map((r) => r.path),
    ['seed', 'gold'],
  );
  assert.equal(l.budgetStop(), null);
  l.record({ usage: usage(10, 10), ref: ref('ees', 60) }, 'ees');
  assert.equal(l.budgetStop(), 'examples budget spent (100 of 100)');
});

test('token budget: a teacher step given all that was left and stopped for it spends the budget', () => {
  const l = new Ledger({ kind: 'tokens', limit: 1000 });
  l.record({ usage: usage(600, 300) }, 'seed');
  assert.equal(l.left(), 100);
  assert.deepEqual(l.tokensLeft(), { tokenLimit: 100 });
  // given only part of what is left (a round's share): the budget is not spent
  l.noteExhausted({ budgetExhausted: true }, 50, 100);
  assert.equal(l.left(), 100);
  // replaying a history recorded before the rule: not spent either
  l.noteExhausted({ budgetExhausted: true }, 100, 100, false);
  assert.equal(l.left(), 100);
  l.noteExhausted({ budgetExhausted: true }, 100, 100);
  assert.equal(l.left(), 0);
  assert.deepEqual(l.tokensLeft(), { tokenLimit: 0 });
  assert.equal(l.budgetStop(), 'token budget spent (900 of 1000)');
});

test('a single run: no budget (Infinity left, no tokenLimit) or a token cap counted like a token budget', () => {
  const free = new Ledger(null);
  free.record({ usage: usage(5000, 5000), ref: ref('seed', 200) }, 'seed');
  assert.equal(free.left(), Infinity);
  assert.deepEqual(free.tokensLeft(), {});
  assert.equal(free.budgetStop(), null);
  const capped = new Ledger(null, 3000);
  capped.record({ usage: usage(2000, 500), ref: ref('seed', 200) }, 'seed');
  assert.equal(capped.spent(), 2500, 'a single run counts tokens, not examples');
  assert.deepEqual(capped.tokensLeft(), { tokenLimit: 500 });
  capped.noteExhausted({ budgetExhausted: true }, 500, 500);
  assert.equal(capped.budgetStop(), 'teacher token budget spent (2500 of 3000)');
});

test('rounds: what was added and the teacher usage since the previous student, then a fresh tally', () => {
  const l = new Ledger(null);
  assert.equal(l.needsTraining(), true, 'no student yet');
  l.record({ usage: usage(100, 0), warnings: ['w1'] }, 'seed'); // rationales: not training data
  l.record({ usage: usage(200, 50), ref: ref('seed', 20) }, 'seed');
  const r0 = l.trained(0, student(20, 0.5));
  assert.deepEqual([r0.origin, r0.added, r0.teacher.promptTokens, r0.teacher.completionTokens], ['seed', 20, 300, 50]);
  assert.equal(l.needsTraining(), false);
  l.record({ usage: usage(30, 20), ref: ref('ees-1', 0) }, 'ees');
  assert.equal(l.needsTraining(), false, 'an empty addition does not change the training set');
  l.record({ usage: usage(40, 10), ref: ref('ees-1b', 5) }, 'ees');
  l.filling = true;
  l.record({ usage: usage(1, 1), ref: ref('fill', 3) }, 'seed');
  const r1 = l.trained(1, {
    ...student(28, 0.6),
    acquisition: { name: 'misclassified', pool: 'gold-validation', candidates: 10, picked: null },
  });
  assert.deepEqual([r1.origin, r1.added, r1.teacher.promptTokens], ['fill', 8, 71]);
  assert.equal(r1.acquisition?.name, 'misclassified');
  assert.deepEqual(l.accuracyHistory(), [0.5, 0.6]);
  assert.equal(l.usage.promptTokens, 371);
  assert.deepEqual(l.warnings, ['w1']);
  l.addGold(ref('val', 10), 'validation');
  assert.equal(l.trainedOnValidation, true);
  assert.equal(l.needsTraining(), true);
  assert.equal(l.trained(2, student(38, 0.9)).origin, 'gold');
});

test('setLimit (the setBudget Update): never below what is spent; a raised limit reopens a budget the remainder closed', () => {
  const l = new Ledger({ kind: 'tokens', limit: 1000 });
  l.record({ usage: usage(500, 100) }, 'seed');
  assert.throws(() => l.setLimit(599), /below what is spent \(600\)/);
  assert.throws(() => l.setLimit(1.5), /whole number/);
  l.noteExhausted({ budgetExhausted: true }, 400, 400);
  assert.equal(l.left(), 0, 'the remainder buys no call');
  l.setLimit(2000);
  assert.equal(l.left(), 1400);
  assert.equal(l.budget!.limit, 2000);
  const run = new Ledger(null);
  assert.equal(run.left(), Infinity);
  assert.deepEqual(run.tokensLeft(), {});
  run.setLimit(300);
  assert.equal(run.tokenCap, 300);
  assert.deepEqual(run.tokensLeft(), { tokenLimit: 300 });
});

test('stopNow (finishAfterRound, cancel): nothing left, budgetStop gives the reason, the first reason stays', () => {
  const l = new Ledger({ kind: 'examples', limit: 100 });
  l.record({ usage: usage(1, 1), ref: ref('seed', 10) }, 'seed');
  assert.equal(l.budgetStop(), null);
  l.stopNow('finished after round 0 (finishAfterRound)');
  l.stopNow('another');
  assert.equal(l.left(), 0);
  assert.equal(l.stoppedBy, 'finished after round 0 (finishAfterRound)');
  assert.equal(l.budgetStop(), 'finished after round 0 (finishAfterRound)');
});

test('round wall time and the finetune student speed: ms per epoch per 1,000 inputs = mean epoch ms × 1,000 / inputs', () => {
  const l = new Ledger(null);
  l.record({ usage: usage(10, 10), ref: ref('seed', 20) }, 'seed');
  const fit = { finetune: { device: 'cpu', epochMs: [2000, 4000], trainFeatures: 500 } };
  const r0 = l.trained(0, { ...student(20, 0.5), fit }, 12_345);
  // mean epoch 3,000 ms over 500 windows: 6,000 ms per 1,000
  assert.deepEqual(r0.training, { features: 500, epochs: 2, msPerEpochPer1000: 6000, device: 'cpu' });
  assert.equal(r0.wallMs, 12_345);
  // in-process students and older workers (no trainFeatures) report no speed; no wall time given, none recorded
  assert.equal(roundTraining({ finetune: { device: 'cpu', epochMs: [1000] } }), undefined);
  assert.equal(roundTraining(undefined), undefined);
  const r1 = l.trained(1, student(20, 0.6));
  assert.equal('training' in r1, false);
  assert.equal('wallMs' in r1, false);
  // the table shows them in s, "–" for the round without
  const columns = roundColumns(l.rounds);
  assert.deepEqual(columns, { wall: true, training: true });
  const head = roundTableHead(undefined, undefined, false, columns);
  const rows = roundTableRows(l.rounds, undefined, undefined, columns);
  assert.equal(rows[0]![head.indexOf(TRAINING_HEAD)], '6.0');
  assert.equal(rows[0]![head.indexOf(WALL_HEAD)], '12.3');
  assert.equal(rows[1]![head.indexOf(TRAINING_HEAD)], '–');
  assert.equal(rows[1]![head.indexOf(WALL_HEAD)], '–');
  // rounds without either (old histories, in-process students without wall time): no extra columns
  assert.deepEqual(roundTableHead(undefined, undefined, false, roundColumns([r1])), roundTableHead());
  assert.ok(roundTableMarkdown(l.rounds).split('\n')[0]!.includes('| s/epoch/1k | round s |'));
});
