/**
 * Cancellation with partial results, and the end of a run's Update handlers (issue 20; used by
 * s3Synthesis, synthesisArm and s3Experiment): a cancelled run stops its teacher, then still
 * reports what exists in a non-cancellable scope and ends as cancelled. Deterministic workflow code.
 */
import {
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
} from '@temporalio/workflow';
import type { ArmSteps } from '../methods/index.js';

/**
 * Whether the loop ended for a cancellation of the workflow, as the error to end it with.
 * A cancelled teacher activity waited for (loopActivities waitCancel) may end as failed
 * rather than cancelled; the workflow's own cancellation decides.
 * @param enabled false for runs started before steering (they end at once, as they did)
 * @returns a cancellation to rethrow after the partial report, or null (`err` is a failure)
 */
export function asCancellation(err: unknown, enabled: boolean): unknown {
  if (!enabled) return null;
  if (!isCancellation(err) && !CancellationScope.current().consideredCancelled) return null;
  return isCancellation(err) ? err : new CancelledFailure('run cancelled');
}

/** Runs `fn` so that a cancellation cannot stop it when the run was `cancelled` (the partial report). */
export function whenCancelled<T>(cancelled: unknown, fn: () => Promise<T>): Promise<T> {
  return cancelled ? CancellationScope.nonCancellable(fn) : fn();
}

/** Waits until every Update handler has finished (no command when none is running). */
export async function finishHandlers(): Promise<void> {
  if (!allHandlersFinished()) await condition(allHandlersFinished);
}

/**
 * Runs a method (methods/) through the loop's steps. With steering on, a cancellation of the
 * run is caught and recorded as the stop reason, so the caller still reports what exists.
 * @param enabled whether steering is on (runs started before it end as they did: rethrown)
 * @returns the cancellation caught, or null when the method ran to its end
 * @throws whatever the method threw that is not such a cancellation (e.g. a long run's
 *   ContinueAsNewRequest, workflows/longRun.ts)
 */
export async function runMethodCancellable(
  method: { run(steps: ArmSteps): Promise<void> },
  steps: ArmSteps,
  ledger: { stopReason: string | null },
  state: { round: number; phase: string },
  enabled: boolean,
): Promise<unknown> {
  try {
    await method.run(steps);
    return null;
  } catch (err) {
    const cancelled = asCancellation(err, enabled);
    if (!cancelled) throw err;
    ledger.stopReason = `cancelled during round ${state.round} (${state.phase})`;
    return cancelled;
  }
}
