/**
 * One arm of an experiment on one seed: runs its method (methods/) under the experiment's
 * budget and returns an ArmSeedResult. Started by s3Experiment as child workflow
 * `<experiment>/<arm>/seed-<s>`; also startable on its own.
 *
 * The method runs through the one synthesis loop (workflows/loop.ts, shared with s3Synthesis)
 * under the experiment's budget; this file turns the loop's ledger into the arm's result,
 * merges the training set and runs the data-quality study. Deterministic orchestration only.
 *
 * Steering (workflows/steering.ts): the same Updates as a single run, and the parent's `steer`
 * Signal (and `synthesis.review: "each-round"` starts the review gate, as in a single run). A
 * long arm continues as new past the history bound, as a single run does (workflows/longRun.ts;
 * the parent follows the chain to its result). A cancelled arm stops its teacher, merges the training set it has and saves its
 * result marked cancelled (status "failed", never reused), then ends as cancelled.
 */
import { continueAsNew, defineQuery, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { armName, type ArmConfig } from '../config/experiment.js';
import type { S3Config } from '../config/schema.js';
import type { ArmSeedResult, Budget } from '../domain/experiment.js';
import { Ledger } from '../domain/ledger.js';
import type { RoundResult } from '../domain/types.js';
import { METHODS } from '../methods/index.js';
import type { SteeringState } from '../domain/steering.js';
import { createSteps, loopActivities, type LoopState } from './loop.js';
import { finishHandlers, Steering, whenCancelled } from './steering.js';
import { runMethodInChain, type LongRunCarry } from './longRun.js';

/** Input of one arm run (built by s3Experiment; no secrets: the config names env vars only). */
export interface ArmInput {
  experimentId: string;
  arm: ArmConfig;
  seed: number;
  /** the run configuration of this (arm, seed) (config/experiment.ts armConfig) */
  config: S3Config;
  budget: Budget;
  /** run the data-quality study (S3 Tables 6 and 8) on the final training set (absent: no) */
  quality?: boolean;
}

/** Live state of an arm (Query `progress`). */
export interface ArmProgress {
  phase: string;
  round: number;
  /** synthetic examples in the training set */
  examples: number;
  /** budget units spent */
  spent: number;
  rounds: RoundResult[];
  /** the steering state (absent in old runs) */
  steering?: SteeringState;
}

export const armProgressQuery = defineQuery<ArmProgress>('progress');

/**
 * @param input the arm, its seed, run configuration and budget (built by s3Experiment)
 * @param resume the state of the run this one continues (continue-as-new, workflows/longRun.ts);
 *   absent when an arm starts. Only `bound` may be given by a caller (tests)
 * @returns the arm's ArmSeedResult (status "completed")
 * @throws ApplicationFailure from the activities (InvalidInput etc.); the parent records a
 *   failed child as status "failed" with its message
 */
export async function synthesisArm(input: ArmInput, resume?: Partial<LongRunCarry>): Promise<ArmSeedResult> {
  const { budget, arm } = input;
  const method = METHODS[arm.method];
  // arms started with steering: a cancellation waits for the teacher to stop, then saves
  const steering = patched('steering');
  // arms started since: continue as new past the history bound, carrying their state
  const longRun = patched('long-run');
  const from = resume?.ledger ? (resume as LongRunCarry) : undefined;
  const { work: acts } = loopActivities(input.config);
  const startedAt = workflowInfo().startTime.getTime();
  // a continued arm's ledger keeps the input's budget object (setBudget changes both, as before)
  const ledger = from ? Ledger.fromState({ ...from.ledger, budget }) : new Ledger(budget);
  const state: LoopState = from?.state ?? { phase: 'prepare', round: 0 };
  // synthesis.review "each-round": the review gate is on from the first step
  const review =
    input.config.synthesis.review === 'each-round' && patched('config-review')
      ? { mode: 'each-round' as const, timeoutMin: input.config.synthesis.reviewTimeoutMin }
      : undefined;
  const steer = new Steering({
    kind: 'arm',
    config: input.config,
    method,
    ledger,
    state,
    now: () => Date.now(),
    review,
    from: from?.steering,
  });
  steer.register(acts);
  setHandler(armProgressQuery, () => ({
    phase: state.phase,
    round: state.round,
    examples: ledger.have(),
    spent: ledger.spent(),
    rounds: ledger.rounds,
    steering: steer.snapshot(),
  }));

  const prepared = from ? from.loop.task : await acts.prepareTask(input.config);
  steer.task = prepared;
  if (!from) ledger.warnings.push(...(prepared.warnings ?? []));
  const { steps, lastEval, current, carry } = createSteps({
    config: input.config,
    task: prepared,
    options: arm,
    ledger,
    state,
    usesTeacher: method.usesTeacher,
    searchAttributes: false,
    steer,
    waitCancel: steering,
    from: from?.loop,
  });

  // a cancellation: report what exists (runs started before steering end as they did); past
  // the history bound: continue as new (arms started with long runs)
  const cancelled = await runMethodInChain(method, steps, ledger, state, steering, {
    enabled: longRun,
    from,
    bound: resume?.bound,
    carry: () => ({ ledger: ledger.state(), loop: carry(), steering: steer.carry(), state }),
    continueAsNew: (next) => continueAsNew<typeof synthesisArm>(input, next),
  });
  steer.close();
  // the configuration and gold validation pool in force (steering may have changed them)
  const { config, task } = current();
  state.phase = 'save';
  const { labelAgreement, ...dataset } = await whenCancelled(cancelled, () =>
    acts.mergeTrainingSet({ config, task, train: ledger.trainingSet() }),
  );
  const result = armResult(input, {
    ledger,
    runDir: task.runDir,
    final: lastEval(),
    dataset,
    labelAgreement,
    cancelled,
    startedAt,
  });
  if (cancelled) {
    await whenCancelled(cancelled, () => acts.saveArmResult({ config, result, armInput: input }));
    state.phase = 'cancelled';
    throw cancelled;
  }
  if (input.quality && dataset.count > 0) {
    state.phase = 'quality';
    try {
      result.quality = await acts.studyQuality({
        config,
        task,
        arm: result.arm,
        seed: input.seed,
        dataset,
        outDir: `${task.runDir}/quality`,
      });
    } catch (err) {
      ledger.warnings.push(`data-quality study failed: ${(err as Error).message}`);
    }
  }
  await acts.saveArmResult({ config, result, armInput: input });
  state.phase = 'done';
  await finishHandlers();
  return result;
}

/**
 * The arm's result (ArmSeedResult): what it used, its rounds, the final student's scores (no
 * validation score when it trained on the validation set), the merged dataset, why it stopped.
 * @param c.final the latest trained student (null: none was trained)
 * @param c.cancelled the run was cancelled (its result is saved, status "failed", never reused)
 */
function armResult(
  input: ArmInput,
  c: {
    ledger: Ledger;
    runDir: string;
    final: ReturnType<ReturnType<typeof createSteps>['lastEval']>;
    dataset: ArmSeedResult['dataset'];
    labelAgreement: ArmSeedResult['labelAgreement'];
    cancelled: unknown;
    startedAt: number;
  },
): ArmSeedResult {
  const { ledger, final } = c;
  const last = ledger.rounds[ledger.rounds.length - 1];
  return {
    experimentId: input.experimentId,
    arm: armName(input.arm),
    method: input.arm.method,
    seed: input.seed,
    workflowId: workflowInfo().workflowId,
    // a cancelled arm's result is saved (its data is kept) but never reused as finished
    status: c.cancelled ? 'failed' : 'completed',
    ...(c.cancelled ? { error: `cancelled: ${ledger.stopReason}` } : {}),
    runDir: c.runDir,
    budget: input.budget,
    used: {
      syntheticExamples: ledger.have(),
      goldExamples: ledger.goldCount(),
      tokens: ledger.tokens,
      paidCalls: ledger.usage.calls - ledger.usage.cachedCalls,
      reusedCalls: ledger.usage.cachedCalls,
      filledUp: ledger.filledUp,
    },
    rounds: ledger.rounds,
    test: final ? final.test : null,
    validation: final && !ledger.trainedOnValidation ? final.validation : null,
    usage: ledger.usage,
    dataset: c.dataset,
    ...(c.labelAgreement ? { labelAgreement: c.labelAgreement } : {}),
    stopReason: ledger.stopReason ?? (last ? null : 'no student trained'),
    warnings: ledger.warnings,
    wallMs: Date.now() - c.startedAt,
  };
}
