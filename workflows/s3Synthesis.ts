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
 * Review: with `synthesis.review: "each-round"` the run starts with the review gate on, as if
 * `setReview` had been sent before its first step (runs started since `patched('config-review')`).
 *
 * Long runs (workflows/longRun.ts): past a bound on its history (HISTORY_BOUND), the run
 * continues as new at a round boundary, carrying its state (LongRunCarry) as its second
 * argument; queries and Updates go to the newest run of the chain (runs started since
 * `patched('long-run')`).
 *
 * Replay: runs started before the one loop (no 'one-loop' marker in their history) go on
 * with the code they recorded (workflows/legacy/s3SynthesisBeforeOneLoop.ts); runs started
 * before steering (no 'steering' marker) end at once when cancelled, as they did.
 */
import { ApplicationFailure, continueAsNew, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { ArmSchema } from '../config/experiment.js';
import { parseConfig, type S3Config } from '../config/schema.js';
import { Ledger } from '../domain/ledger.js';
import { METHODS } from '../methods/index.js';
import { s3SynthesisBeforeOneLoop } from './legacy/s3SynthesisBeforeOneLoop.js';
import { createSteps, loopActivities, type LoopState } from './loop.js';
import { progressQuery } from './queries.js';
import { finishHandlers, Steering, whenCancelled } from './steering.js';
import { runMethodInChain, type LongRunCarry } from './longRun.js';
import type { S3Progress, S3Result } from './types.js';
import type { TaskRefs } from '../activities/prepare.js';
import type { SetReviewInput, SteeringRecord } from '../domain/steering.js';

export { progressQuery } from './queries.js';

/**
 * @param input the run configuration (config/schema.ts), e.g. from `temporal workflow start --input-file`
 * @param resume the state of the run this one continues (continue-as-new, workflows/longRun.ts);
 *   absent when a run starts. Only `bound` may be given by a caller (a smaller HistoryBound, tests)
 * @returns references to the final synthetic dataset and the report, and the per-round results
 * @throws ApplicationFailure (non-retryable, type InvalidConfig) on an invalid configuration,
 *   before any teacher call
 */
export async function s3Synthesis(input: unknown, resume?: Partial<LongRunCarry>): Promise<S3Result> {
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
  // runs started since: continue as new past the history bound, carrying their state
  const longRun = patched('long-run');
  const from = resume?.ledger ? (resume as LongRunCarry) : undefined;
  const { work } = loopActivities(run);
  const ledger = from ? Ledger.fromState(from.ledger) : new Ledger(null, run.budget.teacherTokens);
  const state: LoopState = from?.state ?? { phase: 'prepare', round: 0 };
  const steer = new Steering({
    kind: 'run',
    config: run,
    method,
    ledger,
    state,
    now: () => Date.now(),
    review: configReview(run),
    from: from?.steering,
  });
  steer.register(work);
  setHandler(progressQuery, () => progressOf(ledger, state, steer));

  // Gold validation (drives EES) and gold test (only scores); checks inputs before any teacher call.
  const task = from ? from.loop.task : await work.prepareTask(run);
  steer.task = task;
  if (!from) ledger.warnings.push(...(task.warnings ?? []));
  const { steps, enter, current, carry } = createSteps({
    config: run,
    task,
    options: ArmSchema.parse({ method: run.method }),
    ledger,
    state,
    usesTeacher: method.usesTeacher,
    searchAttributes: run.searchAttributes,
    steer,
    waitCancel: steering,
    from: from?.loop,
  });
  // a cancellation: report what exists (runs started before steering end as they did); past
  // the history bound: continue as new (runs started with long runs)
  const cancelled = await runMethodInChain(method, steps, ledger, state, steering, {
    enabled: longRun,
    from,
    bound: resume?.bound,
    carry: () => ({ ledger: ledger.state(), loop: carry(), steering: steer.carry(), state }),
    continueAsNew: (next) => continueAsNew<typeof s3Synthesis>(input, next),
  });
  steer.close();

  // Alg. 2 line 11: D_train = seed ∪ all additions; the last round's student was trained on it.
  enter('report');
  // the report is written whole even when a cancellation arrives while it is being written
  const report = await whenCancelled(cancelled || steering, () =>
    writeRunReport(work, current(), ledger, steer.log, cancelled),
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

/** synthesis.review "each-round": the review gate is on from the first step (runs since 'config-review'). */
function configReview(run: S3Config): SetReviewInput | undefined {
  return run.synthesis.review === 'each-round' && patched('config-review')
    ? { mode: 'each-round', timeoutMin: run.synthesis.reviewTimeoutMin }
    : undefined;
}

/** The `progress` query's answer. */
function progressOf(ledger: Ledger, state: LoopState, steer: Steering): S3Progress {
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
}

/**
 * Writes report.json, report.md and synthetic/final.jsonl (activities/report.ts).
 * @param now the configuration and task in force (steering may have changed them); a token cap
 *   set by setBudget is the one reported
 */
function writeRunReport(
  work: ReturnType<typeof loopActivities>['work'],
  now: { config: S3Config; task: TaskRefs },
  ledger: Ledger,
  log: SteeringRecord[],
  cancelled: unknown,
) {
  const cap = ledger.tokenCap;
  return work.writeReport({
    config: cap === now.config.budget.teacherTokens ? now.config : { ...now.config, budget: { teacherTokens: cap } },
    task: now.task,
    train: ledger.trainingSet(),
    rounds: ledger.rounds,
    usage: ledger.usage,
    stopReason: ledger.stopReason,
    startedAt: workflowInfo().startTime.getTime(),
    warnings: ledger.warnings,
    ...(cancelled ? { cancelled: true } : {}),
    ...(log.length ? { steering: log } : {}),
  });
}

function validate(input: unknown): S3Config {
  try {
    return parseConfig(input, 'workflow input');
  } catch (err) {
    throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidConfig');
  }
}
