/**
 * Steering a running synthesis (issue 20; workflows/steering.ts): every Update's effect and its
 * validator's rejection (pause, resume, setBudget, setAcquisition, finishAfterRound, addGold),
 * and cancellation with partial results (the teacher stops; report.json / report.md /
 * synthetic/final.jsonl are written, marked cancelled). Real dev server, loopback fake teacher
 * (a test double that counts every request it gets), in-process worker.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ExperimentConfigInput } from '../../config/experiment.js';
import type { ArmSeedResult } from '../../domain/experiment.js';
import type { SteeringState } from '../../domain/steering.js';
import { temporalBin } from '../../scripts/devserver.js';
import type { ExperimentProgress } from '../../workflows/s3Experiment.js';
import type { ArmProgress } from '../../workflows/synthesisArm.js';
import type { S3Progress, S3Result } from '../../workflows/types.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { scheduledActivities, startWorkflowHarness } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-steering-test';
let env: TestWorkflowEnvironment;
let close: () => Promise<void>;
let fake: Awaited<ReturnType<typeof startFakeTeacher>>;
/** the fake reads its delay per request: the cancellation test slows it down */
const fakeOptions = { delayMs: 40 };
const gold = writeGoldTask({ validation: 40, test: 40 });

before(async () => {
  // slow enough that a test can act while a step runs
  ({ env, fake, close } = await startWorkflowHarness(TASK_QUEUE, fakeOptions));
});

after(() => close());

/** A run config with its own teacher cache (so every call reaches the counting fake). */
function config(runId: string, over: { seedSize?: number; rounds?: number; heartbeatSec?: number } = {}) {
  return fakeRunConfig(gold, fake.baseURL, {
    runId,
    seedSize: over.seedSize ?? 20,
    rounds: over.rounds ?? 3,
    concurrency: 2,
    heartbeatSec: over.heartbeatSec ?? 30,
    cacheDir: path.join(gold.dir, `cache-${runId}`),
  });
}

function start(runId: string, over?: Parameters<typeof config>[1]): Promise<WorkflowHandle> {
  return env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: runId,
    args: [config(runId, over)],
  });
}

const update = (h: WorkflowHandle, name: string, ...args: unknown[]) =>
  (args.length ? h.executeUpdate(name, { args: args as [unknown] }) : h.executeUpdate(name)) as Promise<SteeringState>;

/** Asserts that the Update is rejected with a reason matching `reason`. */
async function rejected(h: WorkflowHandle, name: string, args: unknown[], reason: RegExp): Promise<void> {
  await assert.rejects(update(h, name, ...args), (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `${name}: ${String(err)}`);
    assert.match(String((err.cause as Error | undefined)?.message), reason);
    return true;
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * With S3_RECORD_HISTORY=1: writes the closed workflow's history to
 * tests/fixtures/<type>.<variant>.history.json for tests/workflow/replay.test.ts.
 */
function recordHistory(workflowId: string, variant: string, type = 's3Synthesis'): void {
  if (!process.env.S3_RECORD_HISTORY) return;
  const out = path.join(import.meta.dirname, '..', 'fixtures', `${type}.${variant}.history.json`);
  const args = ['workflow', 'show', '--address', env.address, '-w', workflowId, '--output', 'json'];
  writeFileSync(out, execFileSync(temporalBin(), args));
  console.log(`recorded history to ${out}`);
}

const progress = (h: WorkflowHandle) => h.query<S3Progress>('progress');
const waitPaused = (h: WorkflowHandle) =>
  until('the loop to wait for resume', async () => (await progress(h)).steering?.waiting === 'resume' && true);

test('pause holds the loop between steps (no teacher call while paused) until resume; validators reject a second pause and a resume when not paused', async () => {
  const h = await start('steer-pause');
  const paused = await update(h, 'pause', { reason: 'lunch' });
  assert.equal(paused.paused, true);
  await rejected(h, 'pause', [{}], /already paused/);
  await waitPaused(h);
  const p = await progress(h);
  assert.equal(p.phase, 'paused');
  const before = fake.requests;
  await sleep(1500);
  assert.equal(fake.requests, before, 'no teacher request while paused');
  assert.equal(fake.inFlight, 0);
  const resumed = await update(h, 'resume');
  assert.equal(resumed.paused, false);
  await rejected(h, 'resume', [], /not paused/);
  const result = (await h.result()) as S3Result;
  assert.ok(fake.requests > before, 'the run went on after resume');
  assert.deepEqual(
    result.steering?.map((r) => r.update),
    ['pause', 'resume'],
  );
  assert.match(result.steering![0].detail, /lunch/);
  await assert.rejects(update(h, 'pause', {}), /completed/); // a closed run takes no Update
});

test('finishAfterRound stops after the round being made: final student, report and dataset, fewer rounds; a second one is rejected', async () => {
  const h = await start('steer-finish');
  await update(h, 'pause');
  await waitPaused(h); // before the seed data: the round being made is round 0
  const s = await update(h, 'finishAfterRound', { reason: 'plateau' });
  assert.equal(s.finishAfterRound, true);
  assert.equal(s.paused, false, 'finishAfterRound resumes a paused run');
  await rejected(h, 'finishAfterRound', [{}], /already asked/);
  const result = (await h.result()) as S3Result;
  assert.deepEqual(
    result.rounds.map((r) => r.round),
    [0],
    'only round 0 (3 rounds configured)',
  );
  assert.match(result.stopReason ?? '', /finished after round 0 \(finishAfterRound\)/);
  const acts = scheduledActivities(await h.fetchHistory());
  assert.ok(!acts.includes('extrapolateErrors'), acts.join(', '));
  const report = JSON.parse(readFileSync(result.reportJson, 'utf8')) as {
    rounds: unknown[];
    steering: { update: string; appliedAt?: number }[];
  };
  assert.equal(report.rounds.length, 1);
  assert.deepEqual(
    report.steering.map((r) => [r.update, r.appliedAt]),
    [
      ['pause', undefined],
      ['finishAfterRound', 0],
    ],
  );
  assert.equal(result.dataset.count, result.rounds[0].trainSize, 'the dataset is what the final student trained on');
  assert.ok(existsSync(result.dataset.path!));
});

test('setBudget caps a single run’s teacher tokens; validators reject examples, a negative value and a cap below what is spent', async () => {
  const base = fake.requests;
  const h = await start('steer-budget');
  await rejected(h, 'setBudget', [{ examples: 10 }], /teacher-token cap/);
  await rejected(h, 'setBudget', [{ teacherTokens: -1 }], /whole number/);
  await rejected(h, 'setBudget', [{ teacherTokens: 10, examples: 10 }], /exactly one/);
  await until('the first teacher call', async () => fake.requests > base || undefined);
  await update(h, 'pause');
  await waitPaused(h);
  const spent = (await progress(h)).steering!.budget.spent;
  assert.ok(spent > 0, 'something was spent before the pause');
  await rejected(h, 'setBudget', [{ teacherTokens: spent - 1 }], /below what is already spent/);
  const cap = spent + 400; // a few seed calls more
  const s = await update(h, 'setBudget', { teacherTokens: cap });
  assert.deepEqual(s.budget, { kind: 'tokens', limit: cap, spent });
  await update(h, 'resume');
  const result = (await h.result()) as S3Result;
  const used = result.usage.promptTokens + result.usage.completionTokens;
  assert.ok(used <= cap, `spent ${used} of ${cap}`);
  assert.match(result.stopReason ?? '', /teacher token budget spent/);
  const report = JSON.parse(readFileSync(result.reportJson, 'utf8')) as { steering: { update: string }[] };
  assert.ok(report.steering.some((r) => r.update === 'setBudget'));
});

test('setAcquisition applies from the next training on; validators reject an unknown rule and the rule in force', async () => {
  const h = await start('steer-acq', { rounds: 2 });
  await rejected(h, 'setAcquisition', [{ acquisition: 'telepathy' }], /unknown acquisition/);
  await rejected(h, 'setAcquisition', [{ acquisition: 'misclassified' }], /already in force/);
  await until('round 0', async () => ((await progress(h)).rounds.length >= 1 ? true : undefined));
  const s = await update(h, 'setAcquisition', { acquisition: 'loss' });
  assert.equal(s.acquisition, 'misclassified', 'not in force before the next round');
  assert.ok(
    s.pending.some((p) => /acquisition loss/.test(p)),
    s.pending.join('; '),
  );
  const result = (await h.result()) as S3Result;
  const rec = result.steering!.find((r) => r.update === 'setAcquisition')!;
  assert.ok(rec.appliedAt !== undefined && rec.appliedAt >= 1, `applied at ${rec.appliedAt}`);
  const names = result.rounds.map((r) => r.acquisition?.name);
  assert.equal(names[0], 'misclassified');
  for (const r of result.rounds.slice(rec.appliedAt)) assert.equal(r.acquisition?.name, 'loss', names.join(', '));
});

test('addGold adds checked rows to the gold validation pool from the next round on; bad rows are rejected', async () => {
  const h = await start('steer-gold');
  const rows = Array.from({ length: 6 }, (_, i) => ({
    id: `added-${i}`,
    text: `an added ${i % 2 ? 'negative' : 'positive'} example number ${i}`,
    label: i % 2 ? 'negative' : 'positive',
  }));
  // validators: nothing enters history
  await rejected(h, 'addGold', [{}], /exactly one of rows or file/);
  await rejected(h, 'addGold', [{ rows: [{ ...rows[0], label: 'meh' }] }], /not one of positive, negative/);
  await rejected(h, 'addGold', [{ rows: [rows[0], rows[0]] }], /duplicate id/);
  // the activity's checks: an id of the validation split, a text of the test split
  await rejected(h, 'addGold', [{ rows: [{ ...rows[0], id: 'val-0' }] }], /already in the gold validation split/);
  const testRow = readFileSync(gold.test, 'utf8').split('\n')[0];
  const { text, label } = JSON.parse(testRow) as { text: string; label: string };
  await rejected(h, 'addGold', [{ rows: [{ id: 'leak', text, label }] }], /gold test example/);
  // a gold file is checked as gold data is at load (file and line in the reason)
  const badFile = path.join(gold.dir, 'more-gold-bad.jsonl');
  writeFileSync(badFile, JSON.stringify({ id: 'f-1', text: 'a fine text', label: 'maybe' }) + '\n');
  await rejected(h, 'addGold', [{ file: badFile }], /more-gold-bad\.jsonl.*line 1/);

  await until('round 0', async () => ((await progress(h)).rounds.length >= 1 ? true : undefined));
  const s = await update(h, 'addGold', { rows, note: 'the worst errors, relabelled' });
  assert.ok(
    s.pending.some((p) => /gold addition/.test(p)),
    s.pending.join('; '),
  );
  await rejected(h, 'addGold', [{ rows: [rows[1]] }], /already added/);
  const result = (await h.result()) as S3Result;
  const rec = result.steering!.find((r) => r.update === 'addGold')!;
  const q = rec.appliedAt!;
  assert.ok(q >= 1, `applied at round ${q}`);
  const counts = result.rounds.map((r) => r.validation.count);
  assert.equal(counts[q - 1], 40, counts.join(', '));
  assert.equal(counts[q], 46, counts.join(', '));
  const report = JSON.parse(readFileSync(result.reportJson, 'utf8')) as {
    gold: { validation: { count: number }; test: { count: number } };
  };
  assert.equal(report.gold.validation.count, 46, 'the report names the merged pool');
  assert.equal(report.gold.test.count, 40, 'never added to test');
  recordHistory('steer-gold', 'steering');
});

test('cancelling a run stops the teacher, writes the report and dataset of what exists marked cancelled, and no teacher call follows', async (t) => {
  fakeOptions.delayMs = 300; // an EES round of many calls: the cancellation lands inside it
  const h = await start('steer-cancel', { heartbeatSec: 2 });
  await until('an EES round under way', async () => {
    const p = await progress(h);
    return p.rounds.length >= 1 && p.phase === 'extrapolate' && fake.inFlight > 0;
  });
  const atCancel = fake.requests;
  const t0 = Date.now();
  await h.cancel();
  await assert.rejects(h.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    return true;
  });
  const atClose = fake.requests;
  t.diagnostic(`cancel → closed in ${Date.now() - t0} ms; ${atClose - atCancel} teacher request(s) after the cancel`);
  assert.equal((await h.describe()).status.name, 'CANCELLED');
  await sleep(2500);
  assert.equal(fake.requests, atClose, 'no teacher request after the cancelled run closed');
  assert.equal(fake.inFlight, 0);
  assert.ok(atClose - atCancel <= 12, `the teacher stopped promptly (${atClose - atCancel} requests after cancel)`);

  const runDir = path.join(gold.dir, 'runs', 'steer-cancel');
  const report = JSON.parse(readFileSync(path.join(runDir, 'report.json'), 'utf8')) as {
    cancelled?: boolean;
    stopReason: string;
    rounds: { trainSize: number }[];
    dataset: { count: number };
  };
  assert.equal(report.cancelled, true);
  assert.match(report.stopReason, /^cancelled during round 1/);
  assert.equal(report.rounds.length, 1, 'round 0 was trained before the cancellation, round 1 never');
  // the seed data, and the examples of round 1 the teacher had finished when it was stopped
  assert.ok(report.dataset.count >= report.rounds[0].trainSize, 'final.jsonl holds the data that existed');
  const lines = readFileSync(path.join(runDir, 'synthetic', 'final.jsonl'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(lines.length, report.dataset.count);
  assert.match(readFileSync(path.join(runDir, 'report.md'), 'utf8'), /Cancelled: this report/);
  recordHistory('steer-cancel', 'cancelled');
});

test('cancelling a paused run ends the wait and still writes the partial report', async () => {
  fakeOptions.delayMs = 40;
  const h = await start('steer-cancel-paused');
  await until('round 0', async () => ((await progress(h)).rounds.length >= 1 ? true : undefined));
  await update(h, 'pause');
  await waitPaused(h);
  await h.cancel();
  await assert.rejects(h.result(), (err: unknown) => err instanceof WorkflowFailedError);
  const report = JSON.parse(
    readFileSync(path.join(gold.dir, 'runs', 'steer-cancel-paused', 'report.json'), 'utf8'),
  ) as {
    cancelled?: boolean;
    rounds: unknown[];
    steering: { update: string }[];
  };
  assert.equal(report.cancelled, true);
  assert.ok(report.rounds.length >= 1);
  assert.deepEqual(
    report.steering.map((r) => r.update),
    ['pause'],
  );
});

test('an experiment sends pause and resume to its running arm, and a cancelled experiment reports its finished children', async () => {
  fakeOptions.delayMs = 300;
  const experimentId = 'steer-exp';
  const cfg: ExperimentConfigInput = {
    experimentId,
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, 'cache-exp'),
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test },
    },
    teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 2 },
    synthesis: { rounds: 3, numRationales: 4 },
    timeouts: { heartbeatSec: 2, activityMin: 10 },
    seeds: [1],
    budget: { examples: 80 },
    quality: false,
    parallelism: 1,
    arms: [{ method: 'gold-validation' }, { method: 's3' }],
  };
  const exp = await env.client.workflow.start('s3Experiment', {
    taskQueue: TASK_QUEUE,
    workflowId: experimentId,
    args: [cfg],
  });
  const armId = `${experimentId}/s3/seed-1`;
  await until('the s3 arm to make data', async () => {
    const p = await exp.query<ExperimentProgress>('progress');
    if (p.children[1]?.status !== 'running') return undefined;
    const arm = await env.client.workflow
      .getHandle(armId)
      .query<ArmProgress>('progress')
      .catch(() => undefined);
    return arm && arm.phase !== 'prepare' && fake.inFlight > 0;
  });
  const arm = env.client.workflow.getHandle(armId);
  const paused = await exp.executeUpdate('pause', { args: [{ reason: 'overnight' }] });
  assert.equal((paused as ExperimentProgress).steering?.paused, true);
  await until(
    'the arm to pause',
    async () => (await arm.query<ArmProgress>('progress')).steering?.waiting === 'resume',
  );
  await exp.executeUpdate('resume');
  await until('the arm to go on', async () => (await arm.query<ArmProgress>('progress')).steering?.paused === false);
  await exp.cancel();
  await assert.rejects(exp.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    return true;
  });
  assert.equal((await arm.describe()).status.name, 'CANCELLED');
  const lines = readFileSync(path.join(gold.dir, 'runs', experimentId, 'results.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const results = lines.map((l) => JSON.parse(l) as ArmSeedResult);
  assert.deepEqual(
    results.map((r) => [r.arm, r.status]),
    [
      ['gold-validation', 'completed'],
      ['s3', 'failed'],
    ],
  );
  assert.equal(results[0].test !== null, true, 'the finished child is reported with its scores');
  assert.match(results[1].error ?? '', /cancelled/);
  // the cancelled arm saved what it had
  const saved = JSON.parse(
    readFileSync(path.join(gold.dir, 'runs', experimentId, 's3', 'seed-1', 'arm-result.json'), 'utf8'),
  ) as { result: ArmSeedResult };
  assert.match(saved.result.stopReason ?? '', /^cancelled during round/);
  assert.equal(saved.result.status, 'failed', 'never reused as a finished arm');
  recordHistory(experimentId, 'cancelled', 's3Experiment');
  recordHistory(armId, 'cancelled', 'synthesisArm');
});

test('review each round: the loop waits for a review before training; rejected examples never train the student, a relabel is a human label in provenance', async () => {
  fakeOptions.delayMs = 40;
  const h = await start('steer-review', { rounds: 1 });
  await rejected(h, 'review', [{}], /no round is waiting for review/);
  await rejected(h, 'setReview', [{ mode: 'sometimes' }], /mode must be/);
  await rejected(h, 'setReview', [{ mode: 'none' }], /already none/);
  const s = await update(h, 'setReview', { mode: 'each-round' });
  assert.equal(s.review.mode, 'each-round');
  const waiting = await until('round 0 to wait for its review', async () => {
    const st = (await progress(h)).steering;
    return st?.waiting === 'review' ? st : undefined;
  });
  assert.equal(waiting.review.round, 0);
  assert.equal((await progress(h)).rounds.length, 0, 'no student trained before the review');
  const rows = waiting.review.data.flatMap((f) =>
    readFileSync(f, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; label: string }),
  );
  assert.equal(rows.length, waiting.review.examples);
  const [a, b, c] = rows;
  const other = c.label === 'positive' ? 'negative' : 'positive';
  await rejected(h, 'review', [{ decisions: [{ id: a.id, action: 'delete' }] }], /action must be/);
  await rejected(
    h,
    'review',
    [{ decisions: [{ id: a.id, action: 'relabel', label: 'meh' }] }],
    /relabel needs a label/,
  );
  await rejected(
    h,
    'review',
    [
      {
        decisions: [
          { id: a.id, action: 'reject' },
          { id: a.id, action: 'reject' },
        ],
      },
    ],
    /twice/,
  );
  await rejected(h, 'review', [{ decisions: [{ id: 'nope', action: 'reject' }] }], /not an example of round 0/);
  await update(h, 'review', {
    by: 'tester',
    decisions: [
      { id: a.id, action: 'reject', reason: 'the label contradicts the text' },
      { id: b.id, action: 'reject' },
      { id: c.id, action: 'relabel', label: other },
    ],
  });
  // round 1 (when EES made data): approve all
  const closed = h.result().then(() => true);
  for (let done = false; !done;) {
    done = await Promise.race([closed, sleep(100).then(() => false)]);
    const st = done ? undefined : (await progress(h)).steering;
    if (st?.waiting === 'review' && st.review.round === 1) await update(h, 'review', {});
  }
  const result = (await h.result()) as S3Result;
  assert.equal(result.rounds[0].trainSize, rows.length - 2, 'the rejected examples did not train round 0');
  const final = readFileSync(result.dataset.path!, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; label: string; provenance: { review?: { by: string; from: string } } });
  const ids = new Set(final.map((r) => r.id));
  assert.ok(!ids.has(a.id) && !ids.has(b.id), 'rejected examples are not in the dataset');
  const relabelled = final.find((r) => r.id === c.id)!;
  assert.equal(relabelled.label, other);
  assert.deepEqual(
    relabelled.provenance.review && [relabelled.provenance.review.by, relabelled.provenance.review.from],
    ['tester', c.label],
  );
  const reviews = result.steering!.filter((r) => r.update === 'review');
  assert.match(reviews[0].detail, /round 0 reviewed by tester: 2 rejected, 1 relabelled/);
});

test('review each round with a timeout: a round nobody reviews is approved as it is after timeoutMin (a durable timer)', async () => {
  const h = await start('steer-review-timeout', { rounds: 1 });
  await rejected(h, 'setReview', [{ mode: 'each-round', timeoutMin: -1 }], /timeoutMin must be/);
  const s = await update(h, 'setReview', { mode: 'each-round', timeoutMin: 0.02 });
  assert.equal(s.review.timeoutMin, 0.02);
  const result = (await h.result()) as S3Result;
  const timedOut = result.steering!.filter((r) => r.update === 'review');
  assert.ok(timedOut.length >= 1, 'round 0 waited');
  assert.match(timedOut[0].detail, /round 0: no review within 0.02 min, all approved/);
  const acts = scheduledActivities(await h.fetchHistory());
  assert.ok(!acts.includes('applyReview'), acts.join(', '));
  assert.ok(
    (await h.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes),
    'the wait is a durable timer in the history',
  );
});

test('an experiment sends finishAfterRound to its running arm: the arm finishes after its round, the experiment reports as usual', async () => {
  fakeOptions.delayMs = 100;
  const experimentId = 'steer-exp-finish';
  const cfg: ExperimentConfigInput = {
    experimentId,
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, 'cache-exp-finish'),
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test },
    },
    teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 2 },
    synthesis: { rounds: 3, numRationales: 4 },
    timeouts: { heartbeatSec: 30, activityMin: 10 },
    seeds: [1],
    budget: { examples: 80 },
    quality: false,
    arms: [{ method: 's3' }],
  };
  const exp = await env.client.workflow.start('s3Experiment', {
    taskQueue: TASK_QUEUE,
    workflowId: experimentId,
    args: [cfg],
  });
  const arm = env.client.workflow.getHandle(`${experimentId}/s3/seed-1`);
  await until('the arm to make its seed data', async () => {
    const p = await arm.query<ArmProgress>('progress').catch(() => undefined);
    return p && p.phase !== 'prepare' && p.rounds.length === 0;
  });
  await rejected(exp, 'resume', [], /not paused/);
  const s = (await exp.executeUpdate('finishAfterRound', { args: [{ reason: 'enough' }] })) as ExperimentProgress;
  assert.equal(s.steering?.finishAfterRound, true);
  assert.equal(s.steering?.log[0].children, 1, 'sent to the running arm');
  await rejected(exp, 'finishAfterRound', [{}], /already asked/);
  const out = (await exp.result()) as { summary: { results: ArmSeedResult[] } };
  const r = out.summary.results[0];
  assert.equal(r.status, 'completed');
  // asked while round 0 was being made (round 1 at the latest, if its seed data just finished)
  const last = r.rounds[r.rounds.length - 1].round;
  assert.ok(r.rounds.length <= 2, `rounds ${r.rounds.map((x) => x.round).join(', ')} of 0-3`);
  assert.match(r.stopReason ?? '', new RegExp(`finished after round ${last} \\(finishAfterRound\\)`));
});
