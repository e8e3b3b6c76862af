/**
 * The steering API of a running loop (issue 20; workflows/steering.ts holds the state machine
 * behind it): the Updates s3Synthesis and synthesisArm answer, by name and input shape, the
 * `steer` Signal a parent experiment sends its arms, and the checks their validators run that
 * need no loop state beyond what they are given. A validator that throws rejects the Update
 * before anything enters history; the caller gets the message.
 *
 * Names and shapes are the public contract (scripts/steer.ts, the review page, `temporal
 * workflow update execute --name …`): never rename them. Deterministic workflow code.
 */
import { ApplicationFailure, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AcquisitionName } from '../acquisition/types.js';
import { S3ConfigSchema, checkStudent, type S3Config } from '../config/schema.js';
import {
  isAcquisitionName,
  type AddGoldInput,
  type ReviewInput,
  type SetAcquisitionInput,
  type SetBudgetInput,
  type SetReviewInput,
  type SteeringState,
} from '../domain/steering.js';
import type { Method } from '../methods/index.js';

/** Update `pause`: the loop waits before its next step until `resume`. */
export const pauseUpdate = defineUpdate<SteeringState, [{ reason?: string }]>('pause');
/** Update `resume`: ends a pause. */
export const resumeUpdate = defineUpdate<SteeringState, []>('resume');
/** Update `setBudget`: a new limit (never below what is spent). */
export const setBudgetUpdate = defineUpdate<SteeringState, [SetBudgetInput]>('setBudget');
/** Update `setAcquisition`: the acquisition rule from the next round on. */
export const setAcquisitionUpdate = defineUpdate<SteeringState, [SetAcquisitionInput]>('setAcquisition');
/** Update `finishAfterRound`: stop cleanly after the round being made. */
export const finishAfterRoundUpdate = defineUpdate<SteeringState, [{ reason?: string }]>('finishAfterRound');
/** Update `addGold`: human-labeled rows for the gold validation pool, from the next round on. */
export const addGoldUpdate = defineUpdate<SteeringState, [AddGoldInput]>('addGold');
/** Update `setReview`: "each-round" waits for a `review` before each training; "none" does not. */
export const setReviewUpdate = defineUpdate<SteeringState, [SetReviewInput]>('setReview');
/** Update `review`: reject / relabel decisions on the round waiting for review (the rest are approved). */
export const reviewUpdate = defineUpdate<SteeringState, [ReviewInput]>('review');

/** What a parent experiment asks its running arms (Signal `steer`). */
export type SteerOp = 'pause' | 'resume' | 'finishAfterRound';
export const steerSignal = defineSignal<[{ op: SteerOp; reason?: string }]>('steer');

/**
 * Rejects an Update in its validator (the caller gets `message`; nothing enters history).
 * @throws ApplicationFailure (non-retryable, type InvalidUpdate) always
 */
export function reject(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'InvalidUpdate');
}

/**
 * The setAcquisition validator: a known rule, for a method that calls the teacher, that an arm
 * may change (only active arms pick with an acquisition rule), not the one in force or pending,
 * and one the synthesis settings and the student accept (config/schema.ts refinements,
 * checkStudent: e.g. a finetune student computes only some rules).
 * @param current the rule pending, else the rule in force
 * @throws ApplicationFailure (InvalidUpdate) with the reason
 */
export function checkAcquisition(
  input: SetAcquisitionInput | undefined,
  c: { kind: 'run' | 'arm'; method: Method; config: S3Config; current: AcquisitionName },
): void {
  const { kind, method, config } = c;
  const name = (input as { acquisition?: unknown } | undefined)?.acquisition;
  if (!isAcquisitionName(name)) reject(`setAcquisition: unknown acquisition ${JSON.stringify(name)}`);
  if (!method.usesTeacher) reject(`setAcquisition: method ${method.name} does not call the teacher`);
  if (kind === 'arm' && !method.ownAcquisition)
    reject(
      `setAcquisition: a ${method.name} arm runs its method's own rule (only active arms pick with an acquisition rule)`,
    );
  if (name === c.current) reject(`setAcquisition: ${name} is already in force`);
  const synthesis = { ...config.synthesis, acquisition: name };
  const parsed = S3ConfigSchema.shape.synthesis.safeParse(synthesis);
  if (!parsed.success) reject(`setAcquisition: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  try {
    checkStudent({ student: config.student, synthesis, task: config.task }, 'setAcquisition');
  } catch (err) {
    reject((err as Error).message);
  }
}

/**
 * The setReview validator: mode "none" or "each-round", an optional timeoutMin > 0 (minutes),
 * and a change from the review in force.
 * @throws ApplicationFailure (InvalidUpdate) with the reason
 */
export function checkSetReview(
  input: SetReviewInput | undefined,
  current: { mode: SetReviewInput['mode']; timeoutMin: number | undefined },
): void {
  const mode = (input as { mode?: unknown } | undefined)?.mode;
  if (mode !== 'none' && mode !== 'each-round') reject('setReview: mode must be "none" or "each-round"');
  const timeoutMin = (input as { timeoutMin?: unknown }).timeoutMin;
  if (timeoutMin !== undefined && !(typeof timeoutMin === 'number' && timeoutMin > 0))
    reject('setReview: timeoutMin must be a number of minutes > 0');
  if (mode === current.mode && timeoutMin === current.timeoutMin) reject(`setReview: review is already ${mode}`);
}
