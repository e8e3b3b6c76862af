/**
 * Unit tests of the long-run journal (workflows/longRun.ts Journal): a method interrupted
 * before a training (continue-as-new) and run again from its start over the journal makes,
 * from there on, exactly the step calls an uninterrupted run makes, with the same arguments
 * (its loop counter and budget shares rebuilt from the journaled answers); a method that
 * diverges from its journal fails with a clear message. Fake steps, real methods (methods/).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArmSchema } from '../../config/experiment.js';
import type { DatasetRef } from '../../domain/types.js';
import { METHODS, type MethodName } from '../../methods/index.js';
import type { ArmSteps } from '../../methods/types.js';
import { ContinueAsNewRequest, Journal, type JournalEntry } from '../../workflows/longRun.js';

const ref = (name: string, count: number): DatasetRef => ({ path: name, sha256: name, count, labelCounts: {} });

/** Fake steps over a carried state (as the Ledger is carried): every call is logged with its arguments. */
function fakeSteps(method: MethodName, state: { spent: number }, calls: string[], limit: number): ArmSteps {
  const budget = { kind: 'examples' as const, limit };
  return {
    options: ArmSchema.parse({ method }),
    budget,
    rounds: 6,
    left: () => budget.limit - state.spent,
    portion: (share) => budget.limit * share,
    budgetStop: () => (budget.limit - state.spent <= 0 ? 'budget spent' : null),
    stop(reason) {
      calls.push(`stop(${reason})`);
    },
    async rationales() {
      calls.push('rationales');
    },
    async seed(l) {
      calls.push(`seed(${l})`);
      state.spent = Math.max(state.spent, Math.min(budget.limit, l));
    },
    async train(round, opts = {}) {
      calls.push(`train(${round}, ${JSON.stringify(opts)})`);
      return {
        round,
        validationAccuracy: 0.5 + round / 100,
        toExtrapolate: ref(`picked-${round}`, 7),
        converged: null,
      };
    },
    async extrapolate(round, rows, opts = {}) {
      calls.push(`extrapolate(${round}, ${rows.path}, ${JSON.stringify(opts)})`);
      state.spent = Math.min(budget.limit, state.spent + Math.min(rows.count, opts.tokens ?? rows.count));
    },
    async influence(round, topK) {
      calls.push(`influence(${round}, ${topK})`);
      return ref(`influential-${round}`, topK);
    },
    async useGold(which) {
      calls.push(`useGold(${JSON.stringify(which)})`);
    },
    async finish() {
      calls.push('finish');
    },
  };
}

for (const method of ['s3', 'active'] as MethodName[])
  test(`${method}: interrupted before round 3's training and run again over the journal, it makes the uninterrupted run's calls`, async () => {
    const LIMIT = 80;
    const whole: string[] = [];
    await METHODS[method].run(new Journal().wrap(fakeSteps(method, { spent: 0 }, whole, LIMIT), () => false));
    assert.ok(
      whole.some((c) => c.startsWith('train(4')),
      whole.join('\n'),
    );

    // first run: continue-as-new asked before the training of round 3
    const first: string[] = [];
    const state = { spent: 0 };
    const j1 = new Journal();
    let trains = 0;
    await assert.rejects(
      METHODS[method].run(j1.wrap(fakeSteps(method, state, first, LIMIT), () => ++trains >= 3)),
      (err: unknown) => err instanceof ContinueAsNewRequest && err.round === 3,
    );
    // the continued run: the journal (after a JSON round trip) and the carried state
    const carried = JSON.parse(JSON.stringify(j1.entries)) as JournalEntry[];
    const second: string[] = [];
    const j2 = new Journal(carried);
    await METHODS[method].run(j2.wrap(fakeSteps(method, { ...state }, second, LIMIT), () => false));
    assert.equal(second[0].startsWith('train(3'), true, `the continued run starts live at round 3: ${second[0]}`);
    assert.deepEqual([...first, ...second], whole);
    assert.equal(j2.entries.length > carried.length, true, 'the journal goes on');
  });

test('a journal answers Infinity (left() without a budget) after a JSON round trip', async () => {
  const j = new Journal();
  const steps = fakeSteps('s3', { spent: 0 }, [], 10);
  const wrapped = j.wrap({ ...steps, left: () => Infinity }, () => false);
  assert.equal(wrapped.left(), Infinity);
  const again = new Journal(JSON.parse(JSON.stringify(j.entries)) as JournalEntry[]).wrap(steps, () => false);
  assert.equal(again.left(), Infinity);
});

test('a method that calls other steps than its journal fails with the step and the call number', async () => {
  const j = new Journal([['rationales'], ['portion', 8]]);
  const wrapped = j.wrap(fakeSteps('s3', { spent: 0 }, [], 10), () => false);
  await wrapped.rationales();
  assert.throws(() => wrapped.left(), /called left where its journal has portion \(call 2\)/);
});
