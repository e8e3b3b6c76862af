/**
 * Records the workflow histories the replay test (tests/workflow/replay.test.ts) replays for the
 * experiment workflows: one tiny experiment (`s3Experiment`, one `s3` arm, one seed, one round,
 * a token budget so the arm's `patched('token-budget-remainder')` marker is in its history) run
 * on a throwaway dev server with an in-process worker and the loopback fake teacher, then both
 * histories exported with the Temporal CLI (the JSON `Worker.runReplayHistory` reads):
 *
 *   node --import tsx tests/helpers/record-histories.ts [OUT_DIR]   (default tests/fixtures)
 *
 * writes OUT_DIR/s3Experiment.history.json and OUT_DIR/synthesisArm.history.json. The
 * s3Synthesis history is recorded by `S3_RECORD_HISTORY=1 node --import tsx --test
 * tests/workflow/workflow.test.ts`. Record on the workflow code whose behaviour the fixture should
 * pin (e.g. from `git worktree add` of that commit), never on a change under test.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ExperimentConfigInput } from '../../config/experiment.js';
import { temporalBin } from '../../scripts/devserver.js';
import type { ExperimentResult } from '../../workflows/s3Experiment.js';
import { writeGoldTask } from './fixtures.js';
import { startWorkflowHarness } from './temporal.js';

const OUT = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..', 'fixtures'));
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
try {
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
  for (const [type, id] of [
    ['s3Experiment', EXPERIMENT_ID],
    ['synthesisArm', arm.workflowId],
  ]) {
    const json = execFileSync(temporalBin(), [
      'workflow',
      'show',
      '--address',
      env.address,
      '-w',
      id,
      '--output',
      'json',
    ]).toString();
    const file = path.join(OUT, `${type}.history.json`);
    writeFileSync(file, json);
    const events = (JSON.parse(json) as { events: { eventType: string }[] }).events;
    const markers = events.filter((e) => e.eventType === 'EVENT_TYPE_MARKER_RECORDED').length;
    console.log(`recorded ${type} (${id}): ${events.length} events, ${markers} markers -> ${file}`);
  }
} finally {
  await close();
}
