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
 * Steering (workflows/steering.ts): the Updates pause, resume, setBudget, setAcquisition,
 * finishAfterRound and addGold. Cancelling the run stops the teacher (its activity is
 * cancelled and waited for), then writes the report and synthetic/final.jsonl of what exists,
 * marked cancelled, and ends the workflow as cancelled.
 *
 * Replay: runs started before the one loop (no 'one-loop' marker in their history) go on
 * with the code they recorded (workflows/legacy/s3SynthesisBeforeOneLoop.ts); runs started
 * before steering (no 'steering' marker) end at once when cancelled, as they did.
 */
import { ApplicationFailure, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { ArmSchema } from '../config/experiment.js';
import { parseConfig, type S3Config } from '../config/schema.js';
import { Ledger } from '../domain/ledger.js';
import { METHODS } from '../methods/index.js';
import { s3SynthesisBeforeOneLoop } from './legacy/s3SynthesisBeforeOneLoop.js';
import { createSteps, loopActivities, type LoopState } from './loop.js';
import { progressQuery } from './queries.js';
import { finishHandlers, runMethodCancellable, Steering, whenCancelled } from './steering.js';
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
  // runs started with steering: a cancellation waits for the teacher to stop, then reports
  const steering = patched('steering');
  const { work } = loopActivities(run);
  const ledger = new Ledger(null, run.budget.teacherTokens);
  const state: LoopState = { phase: 'prepare', round: 0 };
  const steer = new Steering({ kind: 'run', config: run, method, ledger, state, now: () => Date.now() });
  steer.register(work);
  setHandler(progressQuery, (): S3Progress => {
    const cap = ledger.tokenCap;
    return {
      phase: state.phase,
      round: state.round,
      rounds: ledger.rounds,
      usage: ledger.usage,
      stopReason: ledger.stopReason,
      warnings: ledger.warnings,
      ...(cap !== undefined
        ? { budget: { teacherTokens: cap, spent: ledger.tokens, remaining: cap - ledger.tokens } }
        : {}),
      steering: steer.snapshot(),
      ...(steer.task ? { runDir: steer.task.runDir } : {}),
    };
  });

  // Gold validation (drives EES) and gold test (only scores); checks inputs before any teacher call.
  const task = await work.prepareTask(run);
  steer.task = task;
  ledger.warnings.push(...(task.warnings ?? []));
  const { steps, enter, current } = createSteps({
    config: run,
    task,
    options: ArmSchema.parse({ method: run.method }),
    ledger,
    state,
    usesTeacher: method.usesTeacher,
    searchAttributes: run.searchAttributes,
    steer,
    waitCancel: steering,
  });
  // a cancellation: report what exists (runs started before steering end as they did)
  const cancelled = await runMethodCancellable(method, steps, ledger, state, steering);
  steer.close();

  // Alg. 2 line 11: D_train = seed ∪ all additions; the last round's student was trained on it.
  enter('report');
  const now = current();
  const cap = ledger.tokenCap;
  // the report is written whole even when a cancellation arrives while it is being written
  const report = await whenCancelled(cancelled || steering, () =>
    work.writeReport({
      // a cap set by setBudget is the one reported
      config: cap === now.config.budget.teacherTokens ? now.config : { ...now.config, budget: { teacherTokens: cap } },
      task: now.task,
      train: ledger.trainingSet(),
      rounds: ledger.rounds,
      usage: ledger.usage,
      stopReason: ledger.stopReason,
      startedAt: workflowInfo().startTime.getTime(),
      warnings: ledger.warnings,
      ...(cancelled ? { cancelled: true } : {}),
      ...(steer.log.length ? { steering: steer.log } : {}),
    }),
  );
  enter(cancelled ? 'cancelled' : 'done');
  if (cancelled) throw cancelled;
  await finishHandlers();
  return {
    ...report,
    rounds: ledger.rounds,
    usage: ledger.usage,
    stopReason: ledger.stopReason,
    warnings: ledger.warnings,
    ...(steer.log.length ? { steering: steer.log } : {}),
  };
}

function validate(input: unknown): S3Config {
  try {
    return parseConfig(input, 'workflow input');
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidConfig');
  }
}
