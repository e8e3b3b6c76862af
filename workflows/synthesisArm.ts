/**
 * One arm of an experiment on one seed: runs its method (methods/) under the experiment's
 * budget and returns an ArmSeedResult. Started by s3Experiment as child workflow
 * `<experiment>/<arm>/seed-<s>`; also startable on its own.
 *
 * The method runs through the one synthesis loop (workflows/loop.ts, shared with s3Synthesis)
 * under the experiment's budget; this file turns the loop's ledger into the arm's result,
 * merges the training set and runs the data-quality study. Deterministic orchestration only.
 */
import { defineQuery, setHandler, workflowInfo } from '@temporalio/workflow';
import { armName, type ArmConfig } from '../config/experiment.js';
import type { S3Config } from '../config/schema.js';
import type { ArmSeedResult, Budget } from '../domain/experiment.js';
import { Ledger } from '../domain/ledger.js';
import type { RoundResult } from '../domain/types.js';
import { METHODS } from '../methods/index.js';
import { createSteps, loopActivities, type LoopState } from './loop.js';

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
}

export const armProgressQuery = defineQuery<ArmProgress>('progress');

/**
 * @returns the arm's ArmSeedResult (status "completed")
 * @throws ApplicationFailure from the activities (InvalidInput etc.); the parent records a
 *   failed child as status "failed" with its message
 */
export async function synthesisArm(input: ArmInput): Promise<ArmSeedResult> {
  const { config, budget, arm } = input;
  const method = METHODS[arm.method];
  const { work: acts } = loopActivities(config);
  const startedAt = workflowInfo().startTime.getTime();
  const ledger = new Ledger(budget);
  const state: LoopState = { phase: 'prepare', round: 0 };
  setHandler(armProgressQuery, () => ({
    phase: state.phase,
    round: state.round,
    examples: ledger.have(),
    spent: ledger.spent(),
    rounds: ledger.rounds,
  }));

  const task = await acts.prepareTask(config);
  ledger.warnings.push(...(task.warnings ?? []));
  const { steps, lastEval } = createSteps({
    config,
    task,
    options: arm,
    ledger,
    state,
    usesTeacher: method.usesTeacher,
    searchAttributes: false,
  });

  await method.run(steps);
  state.phase = 'save';
  const last = ledger.rounds[ledger.rounds.length - 1];
  const final = lastEval();
  const { labelAgreement, ...dataset } = await acts.mergeTrainingSet({ config, task, train: ledger.trainingSet() });
  const result: ArmSeedResult = {
    experimentId: input.experimentId,
    arm: armName(arm),
    method: arm.method,
    seed: input.seed,
    workflowId: workflowInfo().workflowId,
    status: 'completed',
    runDir: task.runDir,
    budget,
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
    dataset,
    ...(labelAgreement ? { labelAgreement } : {}),
    stopReason: ledger.stopReason ?? (last ? null : 'no student trained'),
    warnings: ledger.warnings,
    wallMs: Date.now() - startedAt,
  };
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
  return result;
}
