/**
 * A single run: the configured method (default S3: seed synthesis with rationales, Alg. 1,
 * then error-extrapolation-based synthesis rounds, Alg. 2; Alg. 3 for sentence pairs), then
 * the final student on everything, scored on the gold test set, and the report.
 *
 * A single run is an experiment arm without a budget: it runs the same loop
 * (workflows/loop.ts) as synthesisArm, sized by the configuration (N_seed, every
 * misclassified example, maxPerRound) and, with budget.teacherTokens, stopped by a token cap
 * exactly as an arm is stopped by its token budget.
 *
 * Deterministic orchestration only: every side effect (data, teacher, student, files) is an
 * activity, and only references to JSONL artifacts and counts pass through history.
 *
 * Replay: runs started before the one loop (no 'one-loop' marker in their history) go on
 * with the code they recorded (workflows/legacy/s3SynthesisBeforeOneLoop.ts).
 */
import { ApplicationFailure, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { ArmSchema } from '../config/experiment.js';
import { parseConfig, type S3Config } from '../config/schema.js';
import { Ledger } from '../domain/ledger.js';
import { METHODS } from '../methods/index.js';
import { s3SynthesisBeforeOneLoop } from './legacy/s3SynthesisBeforeOneLoop.js';
import { createSteps, loopActivities, type LoopState } from './loop.js';
import { progressQuery } from './queries.js';
import type { S3Progress, S3Result } from './types.js';

export { progressQuery } from './queries.js';

/**
 * @param input the run configuration (config/schema.ts), e.g. from `temporal workflow start --input-file`
 * @returns references to the final synthetic dataset and the report, and the per-round results
 * @throws ApplicationFailure (non-retryable, type InvalidConfig) on an invalid configuration,
 *   before any teacher call
 */
export async function s3Synthesis(input: unknown): Promise<S3Result> {
  const oneLoop = patched('one-loop');
  const config = validate(input);
  if (!oneLoop) return s3SynthesisBeforeOneLoop(config);
  const method = METHODS[config.method];
  // the method's prompt style (e.g. zerogen's plain prompt) applies to a single run too
  const run: S3Config = {
    ...config,
    synthesis: { ...config.synthesis, useRationales: config.synthesis.useRationales && method.rationales },
  };
  const { work } = loopActivities(run);
  const cap = run.budget.teacherTokens;
  const ledger = new Ledger(null, cap);
  const state: LoopState = { phase: 'prepare', round: 0 };
  setHandler(progressQuery, (): S3Progress => ({
    phase: state.phase,
    round: state.round,
    rounds: ledger.rounds,
    usage: ledger.usage,
    stopReason: ledger.stopReason,
    warnings: ledger.warnings,
    ...(cap !== undefined
      ? { budget: { teacherTokens: cap, spent: ledger.tokens, remaining: cap - ledger.tokens } }
      : {}),
  }));

  // Gold validation (drives EES) and gold test (only scores); checks inputs before any teacher call.
  const task = await work.prepareTask(run);
  ledger.warnings.push(...(task.warnings ?? []));
  const { steps, enter } = createSteps({
    config: run,
    task,
    options: ArmSchema.parse({ method: run.method }),
    ledger,
    state,
    usesTeacher: method.usesTeacher,
    searchAttributes: run.searchAttributes,
  });
  await method.run(steps);

  // Alg. 2 line 11: D_train = seed ∪ all additions; the last round's student was trained on it.
  enter('report');
  const report = await work.writeReport({
    config: run,
    task,
    train: ledger.trainingSet(),
    rounds: ledger.rounds,
    usage: ledger.usage,
    stopReason: ledger.stopReason,
    startedAt: workflowInfo().startTime.getTime(),
    warnings: ledger.warnings,
  });
  enter('done');
  return {
    ...report,
    rounds: ledger.rounds,
    usage: ledger.usage,
    stopReason: ledger.stopReason,
    warnings: ledger.warnings,
  };
}

function validate(input: unknown): S3Config {
  try {
    return parseConfig(input, 'workflow input');
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidConfig');
  }
}
