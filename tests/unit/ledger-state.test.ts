/**
 * Unit tests of Ledger.state / Ledger.fromState (domain/ledger.ts): what a long run carries
 * into its continued run (workflows/longRun.ts) rebuilds a ledger that answers and goes on
 * exactly as the original, after a JSON round trip (as Temporal's payloads do).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger } from '../../domain/ledger.js';
import type { DatasetRef, SplitMetrics, TeacherUsage } from '../../domain/types.js';

const usage = (prompt: number, completion: number): TeacherUsage => ({
  promptTokens: prompt,
  completionTokens: completion,
  calls: 1,
  cachedCalls: 0,
  rejected: 0,
  teacherMs: 0,
});
const ref = (name: string, count: number): DatasetRef => ({ path: name, sha256: name, count, labelCounts: {} });
const split = (accuracy: number): SplitMetrics => ({ count: 10, accuracy, macroF1: accuracy, misclassified: 1 });
const student = (trainSize: number, accuracy: number) => ({
  trainSize,
  validation: split(accuracy),
  test: split(accuracy),
  studentMs: 1,
});

/** every answer of a ledger that the loop reads */
const answers = (l: Ledger) => ({
  have: l.have(),
  spent: l.spent(),
  limit: l.limit(),
  left: l.left(),
  tokensLeft: l.tokensLeft(),
  needsTraining: l.needsTraining(),
  trainingSet: l.trainingSet(),
  newSynthetic: l.newSynthetic(),
  budgetStop: l.budgetStop(),
  stoppedBy: l.stoppedBy,
  tokenCap: l.tokenCap,
  rounds: l.rounds,
});

/** a ledger in the middle of a round: trained once, then new data and usage since */
function midRound(l: Ledger): Ledger {
  l.record({ usage: usage(300, 100), ref: ref('seed', 20) }, 'seed');
  l.nextSeedIndex = 20;
  l.trained(0, student(20, 0.6));
  l.record({ usage: usage(50, 30), ref: ref('ees-1', 5), warnings: ['w1'] }, 'ees');
  return l;
}

const roundTrip = (l: Ledger) => Ledger.fromState(JSON.parse(JSON.stringify(l.state())));

test('a single run with a token cap: the rebuilt ledger answers as the original and records the next round the same', () => {
  const a = midRound(new Ledger(null, 1000));
  const b = roundTrip(a);
  assert.deepEqual(answers(b), answers(a));
  assert.equal(b.nextSeedIndex, 20);
  assert.deepEqual(b.warnings, ['w1']);
  // the pending round's tally (added, origin, usage since the last student) was carried
  const ra = a.trained(1, student(25, 0.7));
  const rb = b.trained(1, student(25, 0.7));
  assert.deepEqual(rb, ra);
  assert.equal(rb.added, 5);
  assert.equal(rb.origin, 'ees');
  assert.equal(rb.teacher.promptTokens, 50);
});

test('hidden state survives: a user stop, a spent token remainder, a review replacing the round data', () => {
  const stopped = midRound(new Ledger({ kind: 'tokens', limit: 2000 }));
  stopped.stopNow('finished after round 0 (finishAfterRound)');
  assert.equal(roundTrip(stopped).budgetStop(), 'finished after round 0 (finishAfterRound)');
  assert.equal(roundTrip(stopped).left(), 0);

  const spent = midRound(new Ledger(null, 1000));
  spent.noteExhausted({ budgetExhausted: true }, 600, 520);
  assert.equal(spent.left(), 0);
  assert.equal(roundTrip(spent).left(), 0, 'the token remainder that buys no call stays spent');

  const reviewed = midRound(new Ledger(null));
  const b = roundTrip(reviewed);
  b.replaceNewSynthetic(ref('reviewed-1', 3));
  reviewed.replaceNewSynthetic(ref('reviewed-1', 3));
  assert.deepEqual(answers(b), answers(reviewed));
  assert.deepEqual(
    b.trainingSet().map((r) => r.path),
    ['seed', 'reviewed-1'],
    'only the round’s data after the last student was replaced',
  );
});

test('an experiment budget and gold data: limit changes (setBudget) and gold flags are carried', () => {
  const a = new Ledger({ kind: 'examples', limit: 100 });
  a.record({ usage: usage(10, 10), ref: ref('seed', 30) }, 'seed');
  a.addGold(ref('gold', 10), 'validation');
  a.setLimit(120);
  const b = roundTrip(a);
  assert.deepEqual(answers(b), answers(a));
  assert.equal(b.limit(), 120);
  assert.equal(b.trainedOnValidation, true);
  assert.equal(b.goldCount(), 10);
  assert.equal(b.budget?.limit, 120);
});
