/**
 * A single run under budget.teacherTokens stops as an experiment arm does (issue 16: the
 * token-budget remainder rule lived only in synthesisArm): when a teacher activity given all
 * the tokens left stops because its next call would pass them, the budget is spent, and the
 * run trains on what it has and stops: no further round on the few tokens left, no student
 * re-trained on unchanged data. Real dev server, loopback fake teacher (a test double).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { S3Result } from '../../workflows/types.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { scheduledActivities, startWorkflowHarness } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-budget-test';
let h: Awaited<ReturnType<typeof startWorkflowHarness>>;
const gold = writeGoldTask({ validation: 40, test: 40 });

before(async () => {
  h = await startWorkflowHarness(TASK_QUEUE);
});

after(async () => {
  await h.close();
});

const tokensOf = (u: { promptTokens: number; completionTokens: number }) => u.promptTokens + u.completionTokens;

test('a single run whose token budget runs out inside an EES round trains on what it has and stops', async () => {
  // 1. unbudgeted: the teacher tokens of the seed round and of the first EES round
  const free = (await h.env.client.workflow.execute('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: 'budget-free',
    args: [fakeRunConfig(gold, h.fake.baseURL, { runId: 'budget-free', seedSize: 20, rounds: 3 })],
  })) as S3Result;
  assert.ok(free.rounds.length >= 3 && free.rounds[1].added > 4, 'the unbudgeted run has EES rounds to cut');
  const seedTokens = tokensOf(free.rounds[0].teacher);
  const round1 = tokensOf(free.rounds[1].teacher);

  // 2. the same run with a budget that runs out half-way through the first EES round
  const budget = seedTokens + Math.floor(round1 / 2);
  const config = {
    ...fakeRunConfig(gold, h.fake.baseURL, { runId: 'budget-cut', seedSize: 20, rounds: 3 }),
    budget: { teacherTokens: budget },
  };
  const handle = await h.env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: 'budget-cut',
    args: [config],
  });
  const cut = (await handle.result()) as S3Result;
  const spent = tokensOf(cut.usage);
  assert.ok(spent <= budget, `spent ${spent} of ${budget}`);
  assert.ok(cut.rounds[1].added > 0 && cut.rounds[1].added < free.rounds[1].added, 'round 1 was cut by the budget');
  assert.deepEqual(
    cut.rounds.map((r) => r.round),
    [0, 1],
    `no round after the budget ran out (rounds added: ${cut.rounds.map((r) => r.added).join(', ')})`,
  );
  assert.match(cut.stopReason ?? '', /teacher token budget spent/);
  assert.equal(cut.dataset.count, cut.rounds[1].trainSize, 'the last student was trained on the final dataset');
  const acts = scheduledActivities(await handle.fetchHistory());
  assert.equal(acts.filter((a) => a === 'extrapolateErrors').length, 1, acts.join(', '));
  assert.equal(acts.filter((a) => a === 'trainAndEvaluate').length, 2, acts.join(', '));
});
