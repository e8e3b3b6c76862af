/**
 * Long runs (issue 20 item 5; workflows/longRun.ts) and the configured review gate (issue 20
 * item 3; synthesis.review). Real dev server, loopback fake teacher (a test double),
 * in-process worker.
 *
 * - 200 EES rounds on a tiny task (4 gold validation rows, two of them the same text with two
 *   labels, so one is always misclassified and EES never converges): every run of the
 *   continue-as-new chain stays under HISTORY_BOUND (events and bytes, read from the server's
 *   history), the chain has as many continue-as-new steps as the histories need, Updates and
 *   the progress query work across the boundaries, and the final dataset (sha256) and rounds
 *   equal those of the same run with a bound it never reaches (no continue-as-new).
 * - synthesis.review "each-round": the loop waits for a review in round 0 with no Update sent,
 *   and the review mode is carried across continue-as-new (a small bound given by the test).
 * - an experiment arm (synthesisArm) continues as new too (a small bound) and ends with the
 *   result of the same arm in one history.
 *
 * The replay test's histories of such a chain are recorded by
 * `node --import tsx tests/helpers/record-histories.ts tests/fixtures long-run`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { temporal as T } from '@temporalio/proto';
import { armConfig, budgetOf, parseExperiment } from '../../config/experiment.js';
import type { S3ConfigInput } from '../../config/schema.js';
import type { ArmSeedResult } from '../../domain/experiment.js';
import type { ArmInput } from '../../workflows/synthesisArm.js';
import type { SteeringState } from '../../domain/steering.js';
import { HISTORY_BOUND, type HistoryBound } from '../../workflows/longRun.js';
import type { S3Progress, S3Result } from '../../workflows/types.js';
import { fakeRunConfig } from '../helpers/fixtures.js';
import { startWorkflowHarness } from '../helpers/temporal.js';

const { temporal } = proto;
const TASK_QUEUE = 's3-long-run-test';
let h: Awaited<ReturnType<typeof startWorkflowHarness>>;

/** a tiny task: one validation text with both labels, so EES always has one error to extrapolate */
function tinyTask(): { dir: string; validation: string; test: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-long-run-'));
  const rows = (xs: [string, string, string][]) =>
    xs.map(([id, text, label]) => JSON.stringify({ id, text, label })).join('\n') + '\n';
  const validation = path.join(dir, 'validation.jsonl');
  const test = path.join(dir, 'test.jsonl');
  writeFileSync(
    validation,
    rows([
      ['v-1', 'a positive day', 'positive'],
      ['v-2', 'a negative day', 'negative'],
      ['v-3', 'an ambiguous zqx', 'positive'],
      ['v-4', 'an ambiguous zqx', 'negative'],
    ]),
  );
  writeFileSync(
    test,
    rows([
      ['t-1', 'the positive item', 'positive'],
      ['t-2', 'the negative item', 'negative'],
    ]),
  );
  return { dir, validation, test };
}
const gold = tinyTask();

function config(runId: string, rounds: number, over: Partial<S3ConfigInput['synthesis']> = {}): S3ConfigInput {
  // its own teacher cache: every call reaches the fake (the two 200-round runs pay the same calls)
  const cacheDir = path.join(gold.dir, `cache-${runId}`);
  const c = fakeRunConfig(gold, h.fake.baseURL, { runId, seedSize: 4, rounds, concurrency: 2, cacheDir });
  return { ...c, synthesis: { ...c.synthesis, numRationales: 1, ...over } };
}

before(async () => {
  h = await startWorkflowHarness(TASK_QUEUE);
});

after(() => h.close());

interface RunHistory {
  runId: string;
  events: number;
  bytes: number;
  closed: string;
  history: T.api.history.v1.IHistory;
}

/** Every run of the workflow's continue-as-new chain, first to last, as the server holds them. */
async function chain(workflowId: string, firstRunId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const history: T.api.history.v1.IHistory = await h.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: T.api.history.v1.IHistoryEvent[] = history.events ?? [];
    const last: T.api.history.v1.IHistoryEvent | undefined = events[events.length - 1];
    runs.push({
      runId,
      events: events.length,
      bytes: temporal.api.history.v1.History.encode(history).finish().length,
      closed: temporal.api.enums.v1.EventType[last?.eventType ?? 0] ?? '?',
      history,
    });
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const datasetFile = (r: S3Result) => r.dataset.path ?? new URL(r.dataset.uri!).pathname;
const progress = (w: WorkflowHandle) => w.query<S3Progress>('progress');
const update = (w: WorkflowHandle, name: string, ...args: unknown[]) =>
  (args.length ? w.executeUpdate(name, { args: args as [unknown] }) : w.executeUpdate(name)) as Promise<SteeringState>;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('200 rounds: every run of the continue-as-new chain stays under the history bound; Updates and queries work across it; the result equals the run without continue-as-new', async () => {
  const ROUNDS = 200;
  const t0 = Date.now();
  const w = await h.env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: 'long-run-200',
    args: [config('long-run-200', ROUNDS)],
  });
  // an Update before the first boundary: its record is carried into the continued runs
  await update(w, 'pause', { reason: 'before the first boundary' });
  await until('the loop to wait paused', async () => (await progress(w)).steering?.waiting === 'resume');
  await update(w, 'resume');
  // after the first continue-as-new: the query and the Updates reach the newest run
  const firstRun = w.firstExecutionRunId;
  const later = await until('the first continue-as-new', async () => {
    const d = await w.describe();
    return d.runId !== firstRun ? d : undefined;
  });
  const p = await progress(w);
  assert.ok(p.round > 0 && p.rounds.length > 0, `the continued run goes on from round ${p.round}`);
  assert.deepEqual(
    p.steering?.log.map((r) => r.update),
    ['pause', 'resume'],
    'the steering log of the first run is carried',
  );
  const paused = await update(w, 'pause', { reason: 'in a continued run' });
  assert.equal(paused.paused, true);
  await until('the continued run to wait paused', async () => (await progress(w)).steering?.waiting === 'resume');
  await update(w, 'resume');
  const result = (await w.result()) as S3Result;
  const wallS = (Date.now() - t0) / 1000;

  const runs = await chain(w.workflowId, firstRun);
  const bound = HISTORY_BOUND;
  const total = runs.reduce((n, r) => n + r.events, 0);
  console.log(
    `200 rounds in ${wallS.toFixed(1)} s: ${runs.length} runs (${runs.length - 1} continue-as-new steps; bound ${bound.events} events / ${bound.bytes} bytes), ${total} events in all; per run: ${runs.map((r) => `${r.events} ev / ${r.bytes} B`).join(', ')}`,
  );
  assert.ok(
    runs.some((r) => r.runId === later.runId),
    'the run the query reached is in the chain',
  );
  for (const r of runs) {
    assert.ok(r.events < bound.events, `run ${r.runId}: ${r.events} events < ${bound.events}`);
    assert.ok(r.bytes < bound.bytes, `run ${r.runId}: ${r.bytes} bytes < ${bound.bytes}`);
  }
  assert.ok(
    runs.slice(0, -1).every((r) => r.closed === 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW'),
    runs.map((r) => r.closed).join(', '),
  );
  assert.equal(runs[runs.length - 1].closed, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  // as many steps as the histories need: one history could not have held them all, and each
  // run but the last continued only once past 80% of the bound
  assert.ok(runs.length >= Math.ceil(total / bound.events), `${runs.length} runs hold ${total} events`);
  for (const r of runs.slice(0, -1))
    assert.ok(
      r.events >= 0.8 * bound.events || r.bytes >= 0.8 * bound.bytes,
      `run ${r.runId} continued at ${r.events} events / ${r.bytes} bytes, not before 80% of the bound`,
    );
  assert.equal(result.rounds.length, ROUNDS + 1, 'round 0 and 200 EES rounds');
  assert.deepEqual(
    result.rounds.map((r) => r.round),
    Array.from({ length: ROUNDS + 1 }, (_, i) => i),
  );
  assert.deepEqual(
    result.steering?.map((r) => r.update),
    ['pause', 'resume', 'pause', 'resume'],
  );

  // the same run that never continues as new: one history, the same data and rounds
  const one = await h.env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: 'long-run-200-one-history',
    args: [config('long-run-200-one-history', ROUNDS), { bound: 'none' }],
  });
  const same = (await one.result()) as S3Result;
  // (its history is larger than a gRPC message: the server's description counts it)
  const d = await one.describe();
  assert.equal(d.runId, one.firstExecutionRunId, 'no continue-as-new with bound "none"');
  console.log(`the same run in one history: ${d.historyLength} events, ${d.historySize} bytes`);
  assert.ok(d.historyLength > bound.events || (d.historySize ?? 0) > bound.bytes, 'one history passes the bound');
  assert.equal(sha256(datasetFile(result)), sha256(datasetFile(same)), 'the same final.jsonl');
  assert.equal(result.dataset.count, same.dataset.count);
  // everything but the times measured
  const usage = ({ teacherMs: _ms, ...u }: S3Result['usage']) => u;
  const strip = (r: S3Result) =>
    r.rounds.map(({ studentMs: _s, wallMs: _w, teacher, ...rest }) => ({ ...rest, teacher: usage(teacher) }));
  assert.deepEqual(strip(result), strip(same), 'the same rounds (added, train size, accuracies, teacher usage)');
  assert.deepEqual(usage(result.usage), usage(same.usage));
});

test('synthesis.review "each-round": the loop waits for a review in round 0 with no Update sent, and keeps waiting each round across continue-as-new', async () => {
  const id = 'long-run-review';
  const w = await h.env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: id,
    // a bound small enough to continue as new every few rounds
    args: [config(id, 6, { review: 'each-round' }), { bound: { events: 120, bytes: 1e9 } satisfies HistoryBound }],
  });
  const first = await until('round 0 to wait for its review', async () => {
    const p = await progress(w);
    return p.steering?.waiting === 'review' ? p : undefined;
  });
  assert.equal(first.steering!.review.mode, 'each-round');
  assert.equal(first.steering!.review.round, 0);
  assert.ok(first.steering!.review.examples > 0);
  assert.deepEqual(first.steering!.log, [], 'no Update was sent');
  assert.equal(first.rounds.length, 0, 'no student trained before the review');
  // approve every round as it waits; the runs after a continue-as-new wait too
  const closed = w.result().then(() => true);
  const reviewed = new Map<number, string>();
  for (let done = false; !done;) {
    done = await Promise.race([closed, sleep(100).then(() => false)]);
    if (done) break;
    const p = await progress(w);
    const st = p.steering;
    if (st?.waiting === 'review' && st.review.round !== null && !reviewed.has(st.review.round)) {
      reviewed.set(st.review.round, (await w.describe()).runId);
      await update(w, 'review', { by: 'long-run test' });
    }
  }
  const result = (await w.result()) as S3Result;
  const runs = await chain(id, w.firstExecutionRunId);
  console.log(`review chain: ${runs.length} runs, ${runs.map((r) => r.events).join(' + ')} events`);
  assert.ok(runs.length >= 2, 'the run continued as new at least once');
  const reviewRuns = new Set(reviewed.values());
  assert.ok(reviewRuns.size >= 2, 'rounds waited for a review in more than one run of the chain');
  assert.equal(result.rounds.length, 7);
  const reviews = result.steering!.filter((r) => r.update === 'review');
  assert.equal(reviews.length, reviewed.size, 'every review is in the carried log');
  assert.deepEqual(
    reviews.map((r) => r.appliedAt),
    [...reviewed.keys()],
  );
});

/** An s3 arm of a one-arm experiment on the tiny task, under an examples budget. */
function armInput(experimentId: string): ArmInput {
  const cfg = parseExperiment({
    experimentId,
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, `cache-${experimentId}`),
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test },
    },
    teacher: { provider: 'openai', baseURL: h.fake.baseURL, model: 'fake-teacher', concurrency: 2 },
    synthesis: { rounds: 40, numRationales: 1, seedSize: 4 },
    timeouts: { heartbeatSec: 30, activityMin: 10 },
    seeds: [1],
    budget: { examples: 24 },
    quality: false,
    arms: [{ method: 's3' }],
  });
  const arm = cfg.arms[0];
  return { experimentId, arm, seed: 1, config: armConfig(cfg, arm, 1), budget: budgetOf(cfg) };
}

test('an experiment arm continues as new too, and ends with the result of the same arm in one history', async () => {
  // one after the other: concurrent runs may share teacher calls in flight (cached calls differ)
  const chained = await h.env.client.workflow.start('synthesisArm', {
    taskQueue: TASK_QUEUE,
    workflowId: 'long-run-arm',
    args: [armInput('long-run-arm'), { bound: { events: 150, bytes: 1e9 } satisfies HistoryBound }],
  });
  const a = (await chained.result()) as ArmSeedResult;
  const one = await h.env.client.workflow.start('synthesisArm', {
    taskQueue: TASK_QUEUE,
    workflowId: 'long-run-arm-one',
    args: [armInput('long-run-arm-one'), { bound: 'none' }],
  });
  const b = (await one.result()) as ArmSeedResult;
  const runs = await chain(chained.workflowId, chained.firstExecutionRunId);
  console.log(
    `arm chain: ${runs.length} runs, ${runs.map((r) => r.events).join(' + ')} events; ${a.rounds.length} rounds`,
  );
  assert.ok(runs.length >= 2, 'the arm continued as new');
  assert.ok(runs.every((r) => r.events < 150));
  assert.equal((await chain(one.workflowId, one.firstExecutionRunId)).length, 1);
  assert.equal(a.status, 'completed');
  assert.ok(a.rounds.length > 3, `${a.rounds.length} rounds`);
  const same = (r: ArmSeedResult) => ({
    rounds: r.rounds.map(({ studentMs: _s, wallMs: _w, teacher: { teacherMs: _t, ...t }, ...rest }) => ({
      ...rest,
      teacher: t,
    })),
    used: r.used,
    examples: r.dataset?.count,
    sha: r.dataset && sha256(r.dataset.path ?? new URL(r.dataset.uri!).pathname),
    stopReason: r.stopReason,
    test: r.test,
  });
  assert.deepEqual(same(a), same(b));
});
