/**
 * An experiment: every arm (synthesis method) on every seed under one budget, as child
 * workflows `<experiment>/<arm>/seed-<s>` (synthesisArm, which also runs the data-quality study
 * of the s3 and goldgen arms), at most `parallelism` at a time; then the report (HTML, Markdown, JSONL).
 *
 * A child that fails is recorded as failed with its error and the others go on. Starting the
 * same experiment again reuses every child that finished with the same run configuration
 * (<runDir>/arm-result.json) and, through the per-call cache, every teacher call already paid.
 *
 * Steering (workflows/steering.ts): the Updates pause, resume and finishAfterRound go to every
 * running child (as the `steer` Signal); while paused no new child starts; after
 * finishAfterRound children started later finish after their first round too. Cancelling the
 * experiment cancels its children (each saves what it has), then reports the finished ones.
 */
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { ExperimentActivities } from '../activities/index.js';
import { deadlinesOf } from '../config/deadlines.js';
import { workActivityOptions } from './activityOptions.js';
import { METHODS } from '../methods/index.js';
import {
  armConfig,
  armName,
  budgetOf,
  childWorkflowId,
  parseExperiment,
  type ExperimentConfig,
} from '../config/experiment.js';
import type { ArmSeedResult, ExperimentSummary } from '../domain/experiment.js';
import { emptyUsage } from '../domain/types.js';
import { steerSignal, whenCancelled, type SteerOp } from './steering.js';
import { synthesisArm, type ArmInput } from './synthesisArm.js';
import { innermostMessage } from '../domain/errors.js';

/** One child as the experiment's Query `progress` shows it. */
export interface ChildStatus {
  workflowId: string;
  arm: string;
  seed: number;
  status: 'pending' | 'running' | 'reused' | 'completed' | 'failed' | 'cancelled';
  /** gold-test accuracy of the final student, when finished (extractive QA: exact match) */
  testAccuracy?: number;
  /** extractive QA: gold-test F1 of the final student, when finished */
  testF1?: number;
  error?: string;
}

export interface ExperimentProgress {
  phase: 'children' | 'report' | 'done' | 'cancelled';
  children: ChildStatus[];
  /** steering (absent in old runs): paused (no new child starts), finishAfterRound asked */
  steering?: { paused: boolean; finishAfterRound: boolean; log: { update: SteerOp; at: string; children: number }[] };
}

/** The experiment's Updates: sent on to every running child as the `steer` Signal. */
export const experimentPauseUpdate = defineUpdate<ExperimentProgress, [{ reason?: string }]>('pause');
export const experimentResumeUpdate = defineUpdate<ExperimentProgress, []>('resume');
export const experimentFinishUpdate = defineUpdate<ExperimentProgress, [{ reason?: string }]>('finishAfterRound');

export interface ExperimentResult {
  experimentId: string;
  reportHtml: string;
  reportMd: string;
  resultsJsonl: string;
  /** the summary the report was rendered from (also results.json) */
  summary: ExperimentSummary;
}

export const experimentProgressQuery = defineQuery<ExperimentProgress>('progress');

/**
 * @param input an experiment configuration (config/experiment.ts), e.g. from
 *   `temporal workflow start --type s3Experiment --input-file …`
 * @returns the report paths and the summary
 * @throws ApplicationFailure InvalidConfig (non-retryable) on an invalid configuration, before any child starts
 */
export async function s3Experiment(input: unknown): Promise<ExperimentResult> {
  const cfg = validate(input);
  const budget = budgetOf(cfg);
  const startedAt = workflowInfo().startTime.getTime();
  const children = planChildren(cfg, budget);
  const steering: ExperimentSteering = { paused: false, finishAfterRound: false, log: [] };
  const progress: ExperimentProgress = { phase: 'children', children: children.map((c) => c.status), steering };
  setHandler(experimentProgressQuery, () => progress);
  const handles = new Map<string, ChildWorkflowHandle<typeof synthesisArm>>();
  registerUpdates(progress, steering, children, handles);

  const anyArm = children[0].config;
  const deadlines = deadlinesOf(anyArm);
  const acts = proxyActivities<ExperimentActivities>(workActivityOptions(deadlines));

  const results: ArmSeedResult[] = [];
  // experiments started with steering report their finished children when cancelled
  const cancelledRun = patched('steering');
  const run = { acts, steering, handles, results, cancelledRun };
  // at most `parallelism` children at a time, in config order (arm-major)
  const queue = children.slice();
  const lanes = Array.from({ length: Math.min(cfg.parallelism, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await runChild(next, run);
  });
  await Promise.all(lanes);
  const cancelled = cancelledRun && CancellationScope.current().consideredCancelled;
  const order = (r: ArmSeedResult) => children.findIndex((c) => c.status.workflowId === r.workflowId);
  results.sort((a, b) => order(a) - order(b));

  progress.phase = 'report';
  const summary: ExperimentSummary = {
    experimentId: cfg.experimentId,
    config: cfg,
    budget,
    seeds: cfg.seeds,
    arms: cfg.arms.map((a) => ({ name: armName(a), method: a.method })),
    results,
    // the data-quality study ran in the children (s3 and goldgen arms)
    quality: results.flatMap((r) => (r.quality ? [r.quality] : [])),
    wallMs: Date.now() - startedAt,
  };
  const report = await whenCancelled(cancelled, () => acts.reportExperiment({ experiment: cfg, anyArm, summary }));
  if (cancelled) {
    progress.phase = 'cancelled';
    throw new CancelledFailure('experiment cancelled');
  }
  progress.phase = 'done';
  return {
    experimentId: cfg.experimentId,
    reportHtml: report.html,
    reportMd: report.md,
    resultsJsonl: report.resultsJsonl,
    summary,
  };
}

/** One child of the experiment: its input and the status progress shows. */
type Child = ArmInput & { status: ChildStatus };
type ExperimentSteering = NonNullable<ExperimentProgress['steering']>;

/** Every (arm, seed) child, arm-major, with its run configuration (config/experiment.ts armConfig). */
function planChildren(cfg: ExperimentConfig, budget: ArmInput['budget']): Child[] {
  return cfg.arms.flatMap((arm) =>
    cfg.seeds.map((seed) => {
      const name = armName(arm);
      return {
        experimentId: cfg.experimentId,
        arm,
        seed,
        config: armConfig(cfg, arm, seed),
        budget,
        quality: cfg.quality && METHODS[arm.method].qualityStudy,
        status: {
          workflowId: childWorkflowId(cfg.experimentId, name, seed),
          arm: name,
          seed,
          status: 'pending' as const,
        },
      };
    }),
  );
}

/**
 * The experiment's Updates (pause, resume, finishAfterRound): each is sent on to every running
 * child as the `steer` Signal and recorded; validators reject them once the children are done
 * and when they would change nothing.
 */
function registerUpdates(
  progress: ExperimentProgress,
  steering: ExperimentSteering,
  children: Child[],
  handles: Map<string, ChildWorkflowHandle<typeof synthesisArm>>,
): void {
  const steerChildren = async (op: SteerOp, reason?: string) => {
    const running = children.filter((c) => c.status.status === 'running' && handles.has(c.status.workflowId));
    steering.log.push({ update: op, at: new Date(Date.now()).toISOString(), children: running.length });
    // a child that has just finished no longer takes signals: that is no error here
    await Promise.all(
      running.map((c) =>
        handles
          .get(c.status.workflowId)!
          .signal(steerSignal, { op, reason })
          .catch(() => undefined),
      ),
    );
  };
  const reject = (message: string): never => {
    throw ApplicationFailure.nonRetryable(message, 'InvalidUpdate');
  };
  const open = (what: string) => {
    if (progress.phase !== 'children') reject(`${what}: the experiment is ${progress.phase}`);
  };
  setHandler(
    experimentPauseUpdate,
    async (input) => {
      steering.paused = true;
      await steerChildren('pause', input?.reason);
      return progress;
    },
    {
      validator: (_input?: { reason?: string }) => {
        open('pause');
        if (steering.paused) reject('pause: already paused');
      },
    },
  );
  setHandler(
    experimentResumeUpdate,
    async () => {
      steering.paused = false;
      await steerChildren('resume');
      return progress;
    },
    {
      validator: () => {
        open('resume');
        if (!steering.paused) reject('resume: not paused');
      },
    },
  );
  setHandler(
    experimentFinishUpdate,
    async (input) => {
      steering.finishAfterRound = true;
      steering.paused = false;
      await steerChildren('finishAfterRound', input?.reason);
      return progress;
    },
    {
      validator: (_input?: { reason?: string }) => {
        open('finishAfterRound');
        if (steering.finishAfterRound) reject('finishAfterRound: already asked');
      },
    },
  );
}

/**
 * Runs one child: reuses it when an earlier start finished it with the same input, else starts
 * it (after a pause ends) and records its result; a failed child is recorded as failed with its
 * message, a cancelled one (experiments started with steering) as cancelled.
 */
async function runChild(
  child: Child,
  run: {
    acts: ReturnType<typeof proxyActivities<ExperimentActivities>>;
    steering: ExperimentSteering;
    handles: Map<string, ChildWorkflowHandle<typeof synthesisArm>>;
    results: ArmSeedResult[];
    cancelledRun: boolean;
  },
): Promise<void> {
  const { acts, steering, handles, results } = run;
  const { status, ...childInput } = child;
  if (steering.paused) await condition(() => !steering.paused); // no new child while paused
  const reused = await acts.findFinishedArm({ config: child.config, armInput: childInput });
  if (reused) {
    status.status = 'reused';
    noteTest(status, reused);
    results.push(reused);
    return;
  }
  status.status = 'running';
  try {
    const handle: ChildWorkflowHandle<typeof synthesisArm> = await startChild(synthesisArm, {
      workflowId: status.workflowId,
      args: [childInput],
    });
    handles.set(status.workflowId, handle);
    if (steering.finishAfterRound) await handle.signal(steerSignal, { op: 'finishAfterRound' });
    const r = await handle.result();
    status.status = 'completed';
    noteTest(status, r);
    results.push(r);
  } catch (err) {
    if (run.cancelledRun && (isCancellation(err) || CancellationScope.current().consideredCancelled)) {
      status.status = 'cancelled';
      results.push(failedResult(child, 'cancelled'));
      return;
    }
    const message = innermostMessage(err);
    status.status = 'failed';
    status.error = message;
    results.push(failedResult(child, message));
  }
}

/** Copies a finished child's final test accuracy (QA: EM) and, for QA, F1 into its status. */
function noteTest(status: ChildStatus, r: ArmSeedResult): void {
  status.testAccuracy = r.test?.accuracy;
  if (r.test?.f1 !== undefined) status.testF1 = r.test.f1;
}

function failedResult(child: ArmInput, error: string): ArmSeedResult {
  return {
    experimentId: child.experimentId,
    arm: armName(child.arm),
    method: child.arm.method,
    seed: child.seed,
    workflowId: childWorkflowId(child.experimentId, armName(child.arm), child.seed),
    status: 'failed',
    error,
    runDir: `${child.config.runRoot}/${child.config.runId}`,
    budget: child.budget,
    used: { syntheticExamples: 0, goldExamples: 0, tokens: 0, paidCalls: 0, reusedCalls: 0, filledUp: 0 },
    rounds: [],
    test: null,
    validation: null,
    usage: emptyUsage(),
    dataset: null,
    stopReason: null,
    warnings: [],
    wallMs: 0,
  };
}

function validate(input: unknown): ExperimentConfig {
  try {
    return parseExperiment(input, 'workflow input');
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidConfig');
  }
}
