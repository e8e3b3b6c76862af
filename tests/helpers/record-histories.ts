/**
 * Records workflow histories the replay test (tests/workflow/replay.test.ts) replays.
 *
 * `experiment` (the default): the experiment workflows: one tiny experiment (`s3Experiment`, one `s3` arm, one seed, one round,
 * a token budget so the arm's `patched('token-budget-remainder')` marker is in its history) run
 * on a throwaway dev server with an in-process worker and the loopback fake teacher, then both
 * histories exported with the Temporal CLI (the JSON `Worker.runReplayHistory` reads):
 *
 *   node --import tsx tests/helpers/record-histories.ts [OUT_DIR] [experiment|long-run]   (default tests/fixtures, experiment)
 *
 * writes OUT_DIR/s3Experiment.history.json and OUT_DIR/synthesisArm.history.json.
 *
 * `long-run`: a single s3Synthesis with `synthesis.review: "each-round"` (the review gate on from
 * the config, 'config-review' marker) and a small history bound, so it continues as new
 * (workflows/longRun.ts, 'long-run' marker) while rounds wait for their reviews, each approved
 * by a `review` Update as it waits; writes OUT_DIR/s3Synthesis.long-run.history.json (its first
 * run, closed by continue-as-new) and OUT_DIR/s3Synthesis.long-run-end.history.json (its last
 * run, started from the carried state, completed).
 *
 * The
 * s3Synthesis history is recorded by `S3_RECORD_HISTORY=1 node --import tsx --test
 * tests/workflow/workflow.test.ts`. Record on the workflow code whose behaviour the fixture should
 * pin (e.g. from `git worktree add` of that commit), never on a change under test.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExperimentConfigInput } from '../../config/experiment.js';
import type { S3Progress } from '../../workflows/types.js';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
import { temporalBin } from '../../scripts/devserver.js';
import type { ExperimentResult } from '../../workflows/s3Experiment.js';
import { fakeRunConfig, writeGoldTask } from './fixtures.js';
import { startWorkflowHarness } from './temporal.js';

const OUT = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..', 'fixtures'));
const WHAT = process.argv[3] ?? 'experiment';
if (WHAT !== 'experiment' && WHAT !== 'long-run') throw new Error(`record what? experiment or long-run, not ${WHAT}`);
const TASK_QUEUE = 's3-record-histories';
const EXPERIMENT_ID = 'recorded-experiment';

const gold = writeGoldTask({ validation: 12, test: 12 });
const trainFile = path.join(gold.dir, 'train.jsonl');
writeFileSync(
  trainFile,
  Array.from({ length: 12 }, (_, i) => {
    const label = i % 2 ? 'negative' : 'positive';
    return JSON.stringify({ id: `tr-${i}`, text: `a ${label} thing number ${i}`, label });
  }).join('\n') + '\n',
);

const { env, fake, close } = await startWorkflowHarness(TASK_QUEUE);

/** Writes the history of one run of `id` (the latest when `runId` is absent) to OUT/<name>.history.json. */
function exportHistory(name: string, id: string, runId?: string): void {
  const args = ['workflow', 'show', '--address', env.address, '-w', id, ...(runId ? ['-r', runId] : [])];
  const json = execFileSync(temporalBin(), [...args, '--output', 'json']).toString();
  const file = path.join(OUT, `${name}.history.json`);
  writeFileSync(file, json);
  const events = (JSON.parse(json) as { events: { eventType: string }[] }).events;
  const markers = events.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED').length;
  console.log(
    `recorded ${name} (${id}${runId ? ` run ${runId}` : ''}): ${events.length} events, ${markers} markers -> ${file}`,
  );
}

async function recordExperiment(): Promise<void> {
  const cfg: ExperimentConfigInput = {
    experimentId: EXPERIMENT_ID,
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, 'cache'),
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test, train: trainFile },
    },
    teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 4 },
    synthesis: { rounds: 1, numRationales: 2 },
    timeouts: { heartbeatSec: 30, activityMin: 10 },
    seeds: [1],
    budget: { tokens: Number(process.env.S3_RECORD_TOKENS ?? 1200) },
    quality: false,
    arms: [{ method: 's3' }],
  };
  const out = (await env.client.workflow.execute('s3Experiment', {
    taskQueue: TASK_QUEUE,
    workflowId: EXPERIMENT_ID,
    args: [cfg],
  })) as ExperimentResult;
  const arm = out.summary.results[0];
  if (arm.status !== 'completed') throw new Error(`the arm did not complete: ${arm.error}`);
  console.log(
    `arm ${arm.workflowId}: ${arm.rounds.length} rounds, ${arm.used.tokens} tokens, stop: ${arm.stopReason ?? '-'}`,
  );
  exportHistory('s3Experiment', EXPERIMENT_ID);
  exportHistory('synthesisArm', arm.workflowId);
}

async function recordLongRun(): Promise<void> {
  const id = 'recorded-long-run';
  const base = fakeRunConfig(gold, fake.baseURL, { runId: id, seedSize: 6, rounds: 4, concurrency: 2 });
  const config = { ...base, synthesis: { ...base.synthesis, numRationales: 2, review: 'each-round' } };
  const handle = await env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: id,
    // a bound small enough to continue as new after a round or two
    args: [config, { bound: { events: 100, bytes: 10_000_000 } }],
  });
  const done = handle.result().then(() => true);
  const reviewed = new Set<number>();
  while (!(await Promise.race([done, sleep(100).then(() => false)]))) {
    const st = (await handle.query<S3Progress>('progress')).steering;
    if (st?.waiting === 'review' && st.review.round !== null && !reviewed.has(st.review.round)) {
      reviewed.add(st.review.round);
      await handle.executeUpdate('review', { args: [{ by: 'record-histories' }] });
    }
  }
  const runs: string[] = [];
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    runs.push(runId);
    const history: { events?: HistoryEvent[] | null } = await env.client.workflow.getHandle(id, runId).fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  if (runs.length < 2) throw new Error('the run did not continue as new');
  console.log(`${id}: ${runs.length} runs, reviews of rounds ${[...reviewed].join(', ')}`);
  exportHistory('s3Synthesis.long-run', id, runs[0]);
  exportHistory('s3Synthesis.long-run-end', id, runs[runs.length - 1]);
}

try {
  if (WHAT === 'experiment') await recordExperiment();
  else await recordLongRun();
} finally {
  await close();
}
