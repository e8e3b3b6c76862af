/**
 * Steering a running synthesis (issue 20), once for both loops (s3Synthesis and synthesisArm
 * run the same steps, workflows/loop.ts): Temporal Updates with validators
 *
 *   pause · resume · setBudget · setAcquisition · finishAfterRound · addGold · setReview · review
 *
 * and the `steer` Signal a parent experiment sends its running arms (pause, resume,
 * finishAfterRound: a workflow cannot send an Update). A validator rejects bad input before it
 * enters history, with the reason; every accepted Update is recorded (`log`) and answers the
 * run's new state (SteeringState), which the `progress` query shows too.
 *
 * When changes take effect:
 * - pause: the loop waits (a durable `condition`, no timer, no activity) at the next boundary
 *   between two steps; the step that runs finishes first. resume ends the wait.
 * - setBudget: at once (the next teacher step is sized by the new limit).
 * - setAcquisition and addGold: at the next training of the student (the round after the one
 *   being made), so a round never mixes two rules or two validation pools.
 * - finishAfterRound: the round being made finishes (its data, its student), then the loop
 *   stops as for a spent budget (no fill-up): the final student, the report, the dataset.
 * - setReview "each-round": before each training, the loop waits (durably) for a `review` of the
 *   data made since the last one (the round's synthesis: seed data for round 0); its
 *   rejections are removed and its relabels applied (applyReview) before the student trains.
 *
 * Replay: registering handlers adds no command, and an Update only changes the commands of
 * the histories it is in, so running workflows replay unchanged. Deterministic workflow code.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  defineSignal,
  isCancellation,
  defineUpdate,
  setHandler,
  type proxyActivities,
} from '@temporalio/workflow';
import type { S3Activities } from '../activities/index.js';
import type { TaskRefs } from '../activities/prepare.js';
import type { AcquisitionName } from '../acquisition/types.js';
import { S3ConfigSchema, checkStudent, type S3Config } from '../config/schema.js';
import type { Ledger } from '../domain/ledger.js';
import {
  addGoldProblem,
  isAcquisitionName,
  reviewProblem,
  setBudgetProblem,
  type AddGoldInput,
  type ReviewInput,
  type SetReviewInput,
  type SetAcquisitionInput,
  type SetBudgetInput,
  type SteeringRecord,
  type SteeringState,
} from '../domain/steering.js';
import type { DatasetRef } from '../domain/types.js';
import type { ArmSteps, Method } from '../methods/index.js';
import type { LoopState } from './loop.js';
import { innermostMessage } from '../domain/errors.js';

export type { SteeringState, SteeringRecord } from '../domain/steering.js';

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

type Activities = ReturnType<typeof proxyActivities<S3Activities>>;

/** Rejects an Update in its validator (the caller gets `message`; nothing enters history). */
function reject(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'InvalidUpdate');
}

/**
 * The steering of one loop: its Update handlers, what they changed and what is pending, and
 * the waits of the loop (`between`) and the changes it applies (`beforeTrain`, `afterTrain`).
 */
export class Steering {
  /** the prepared task (set by the workflow after prepareTask; addGold waits for it) */
  task: TaskRefs | null = null;
  readonly log: SteeringRecord[] = [];
  private paused = false;
  private waiting: SteeringState['waiting'] = null;
  private finishRequested = false;
  private closed = false;
  private acquisition: AcquisitionName;
  private pendingAcquisition: AcquisitionName | null = null;
  /** the merged validation pool waiting for the next round, with the records it carries */
  private pendingGold: { ref: DatasetRef; records: SteeringRecord[] } | null = null;
  private validationCount = 0;
  private goldBatches = 0;
  private readonly addedIds = new Set<string>();
  /** addGold merges run one at a time, each on the previous one's pool */
  private queue: Promise<unknown> = Promise.resolve();
  private reviewMode: SetReviewInput['mode'] = 'none';
  private reviewTimeoutMin: number | undefined;
  /** the round waiting for a review and its data */
  private reviewWait: { round: number; data: DatasetRef[] } | null = null;
  /** the review's outcome: the reviewed data (null: all approved as they are) */
  private reviewDone: { ref: DatasetRef | null } | null = null;
  private reviewBusy = false;

  /**
   * @param c.kind "run" (s3Synthesis) or "arm" (synthesisArm: its method's own acquisition rule stays)
   * @param c.state the loop's phase and round (progress)
   */
  constructor(
    private readonly c: {
      kind: 'run' | 'arm';
      config: S3Config;
      method: Method;
      ledger: Ledger;
      state: LoopState;
      now: () => number;
    },
  ) {
    this.acquisition = c.config.synthesis.acquisition;
  }

  /** The run's steering state (every Update's answer; progress `steering`). */
  snapshot(): SteeringState {
    const { ledger } = this.c;
    const kind = ledger.budget ? ledger.budget.kind : 'tokens';
    const limit = ledger.limit();
    const pending: string[] = [];
    if (this.pendingAcquisition) pending.push(`acquisition ${this.pendingAcquisition} from the next round`);
    if (this.pendingGold)
      pending.push(
        `${this.pendingGold.records.length} gold addition(s) for the validation pool from the next round (${this.pendingGold.ref.count} rows in all)`,
      );
    if (this.finishRequested && !this.closed) pending.push('finish after the round being made');
    if (this.paused && this.waiting !== 'resume') pending.push('pause before the next step');
    // a review just given: the loop goes on with it
    const wait = this.reviewDone ? null : this.reviewWait;
    return {
      paused: this.paused,
      waiting: this.waiting === 'review' && !wait ? null : this.waiting,
      finishAfterRound: this.finishRequested,
      budget: { kind, limit: Number.isFinite(limit) ? limit : null, spent: ledger.spent() },
      acquisition: this.acquisition,
      validation: this.validationCount || (this.task?.validation.count ?? 0),
      review: {
        mode: this.reviewMode,
        ...(this.reviewTimeoutMin !== undefined ? { timeoutMin: this.reviewTimeoutMin } : {}),
        round: wait?.round ?? null,
        examples: (wait?.data ?? []).reduce((n, r) => n + r.count, 0),
        data: (wait?.data ?? []).map((r) => r.path ?? r.uri ?? ''),
      },
      pending,
      log: this.log,
      closed: this.closed,
    };
  }

  private record(update: SteeringRecord['update'], detail: string): SteeringRecord {
    const { state } = this.c;
    const r: SteeringRecord = {
      update,
      at: new Date(this.c.now()).toISOString(),
      phase: state.phase,
      round: state.round,
      detail,
    };
    this.log.push(r);
    return r;
  }

  private open(what: string): void {
    if (this.closed) reject(`${what}: the run has finished its rounds (it is reporting or done)`);
  }

  /**
   * Registers the Updates and the parent's Signal. Call before the first await of the workflow
   * (an Update that arrives earlier would find no handler).
   * @param acts the activities (addGold's merge runs as an activity)
   */
  register(acts: Activities): void {
    setHandler(pauseUpdate, (input) => this.pause(input?.reason), {
      validator: (_input?: { reason?: string }) => {
        this.open('pause');
        if (this.paused) reject('pause: the run is already paused');
      },
    });
    setHandler(resumeUpdate, () => this.resume(), {
      validator: () => {
        this.open('resume');
        if (!this.paused) reject('resume: the run is not paused');
      },
    });
    setHandler(
      setBudgetUpdate,
      (input) => {
        const { ledger } = this.c;
        const before = ledger.limit();
        const value = (input.teacherTokens ?? input.examples)!;
        ledger.setLimit(value);
        const unit = ledger.budget?.kind === 'examples' ? 'examples' : 'teacher tokens';
        this.record(
          'setBudget',
          `${unit}: ${Number.isFinite(before) ? before : 'no limit'} → ${value} (${ledger.spent()} spent)`,
        );
        return this.snapshot();
      },
      {
        validator: (input) => {
          this.open('setBudget');
          const { ledger } = this.c;
          const problem = setBudgetProblem(input, { kind: ledger.budget?.kind ?? null, spent: ledger.spent() });
          if (problem) reject(`setBudget: ${problem}`);
        },
      },
    );
    setHandler(
      setAcquisitionUpdate,
      (input) => {
        this.pendingAcquisition = input.acquisition === this.acquisition ? null : input.acquisition;
        this.record('setAcquisition', `${this.acquisition} → ${input.acquisition} from the next round`);
        return this.snapshot();
      },
      { validator: (input) => this.checkAcquisition(input) },
    );
    setHandler(
      finishAfterRoundUpdate,
      (input) => {
        this.finishRequested = true;
        const resumed = this.paused;
        this.paused = false;
        this.record(
          'finishAfterRound',
          `stop after the round being made${resumed ? ' (and resume the pause)' : ''}${input?.reason ? `: ${input.reason}` : ''}`,
        );
        return this.snapshot();
      },
      {
        validator: (_input?: { reason?: string }) => {
          this.open('finishAfterRound');
          if (this.finishRequested) reject('finishAfterRound: already asked');
        },
      },
    );
    setHandler(addGoldUpdate, (input) => this.addGold(acts, input), {
      validator: (input) => {
        this.open('addGold');
        const { task } = this.c.config;
        const problem = addGoldProblem(input, { labels: task.labels, kind: task.kind }, this.addedIds);
        if (problem) reject(`addGold: ${problem}`);
      },
    });
    setHandler(
      setReviewUpdate,
      (input) => {
        this.reviewMode = input.mode;
        this.reviewTimeoutMin = input.mode === 'each-round' ? input.timeoutMin : undefined;
        const timeout = this.reviewTimeoutMin ? ` (approved after ${this.reviewTimeoutMin} min without one)` : '';
        this.record('setReview', `review ${input.mode === 'none' ? 'off' : `each round before training${timeout}`}`);
        return this.snapshot();
      },
      {
        validator: (input) => {
          this.open('setReview');
          const mode = (input as { mode?: unknown } | undefined)?.mode;
          if (mode !== 'none' && mode !== 'each-round') reject('setReview: mode must be "none" or "each-round"');
          const timeoutMin = (input as { timeoutMin?: unknown }).timeoutMin;
          if (timeoutMin !== undefined && !(typeof timeoutMin === 'number' && timeoutMin > 0))
            reject('setReview: timeoutMin must be a number of minutes > 0');
          if (mode === this.reviewMode && timeoutMin === this.reviewTimeoutMin)
            reject(`setReview: review is already ${mode}`);
        },
      },
    );
    setHandler(reviewUpdate, (input) => this.review(acts, input), {
      validator: (input) => {
        this.open('review');
        if (this.reviewBusy) reject('review: this round’s review is being applied');
        const problem = reviewProblem(input, this.reviewWait?.round ?? null, this.c.config.task.labels);
        if (problem) reject(`review: ${problem}`);
      },
    });
    setHandler(steerSignal, ({ op, reason }) => {
      // from the parent experiment: the same changes, ignored where they do not apply
      if (this.closed) return;
      if (op === 'pause' && !this.paused) this.pause(reason ?? 'experiment paused');
      else if (op === 'resume' && this.paused) this.resume();
      else if (op === 'finishAfterRound' && !this.finishRequested) {
        this.finishRequested = true;
        this.paused = false;
        this.record('finishAfterRound', `stop after the round being made: ${reason ?? 'asked by the experiment'}`);
      }
    });
  }

  private pause(reason?: string): SteeringState {
    this.paused = true;
    this.record('pause', `pause before the next step${reason ? `: ${reason}` : ''}`);
    return this.snapshot();
  }

  private resume(): SteeringState {
    this.paused = false;
    this.record('resume', 'resume');
    return this.snapshot();
  }

  private checkAcquisition(input: SetAcquisitionInput): void {
    this.open('setAcquisition');
    const { kind, method, config } = this.c;
    const name = (input as { acquisition?: unknown } | undefined)?.acquisition;
    if (!isAcquisitionName(name)) reject(`setAcquisition: unknown acquisition ${JSON.stringify(name)}`);
    if (!method.usesTeacher) reject(`setAcquisition: method ${method.name} does not call the teacher`);
    if (kind === 'arm' && !method.ownAcquisition)
      reject(
        `setAcquisition: a ${method.name} arm runs its method's own rule (only active arms pick with an acquisition rule)`,
      );
    if (name === (this.pendingAcquisition ?? this.acquisition)) reject(`setAcquisition: ${name} is already in force`);
    const synthesis = { ...config.synthesis, acquisition: name };
    const parsed = S3ConfigSchema.shape.synthesis.safeParse(synthesis);
    if (!parsed.success) reject(`setAcquisition: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    try {
      checkStudent({ student: config.student, synthesis, task: config.task }, 'setAcquisition');
    } catch (err) {
      reject((err as Error).message);
    }
  }

  private async addGold(acts: Activities, input: AddGoldInput): Promise<SteeringState> {
    await condition(() => this.task !== null);
    const run = async () => {
      this.open('addGold');
      const task = this.task!;
      const current = this.pendingGold?.ref ?? task.validation;
      const batch = ++this.goldBatches;
      let merged: Awaited<ReturnType<Activities['mergeGoldValidation']>>;
      try {
        merged = await acts.mergeGoldValidation({ config: this.c.config, task, current, add: input, batch });
      } catch (err) {
        // the caller gets the activity's reason (bad file, duplicate, test row); the run goes on
        throw ApplicationFailure.nonRetryable(innermostMessage(err), 'InvalidUpdate');
      }
      for (const id of merged.ids) this.addedIds.add(id);
      const source = input.file ? `file ${input.file}` : 'inline rows';
      const r = this.record(
        'addGold',
        `${merged.added} gold row(s) (${source}${input.note ? `; ${input.note}` : ''}) for the validation pool: ${merged.ref.count} rows`,
      );
      this.pendingGold = { ref: merged.ref, records: [...(this.pendingGold?.records ?? []), r] };
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    await next;
    return this.snapshot();
  }

  private async review(acts: Activities, input: ReviewInput | undefined): Promise<SteeringState> {
    const wait = this.reviewWait!;
    const decisions = input?.decisions ?? [];
    const by = input?.by ?? 'reviewer';
    this.reviewBusy = true;
    try {
      let ref: DatasetRef | null = null;
      let detail = `all ${wait.data.reduce((n, r) => n + r.count, 0)} example(s) approved`;
      if (decisions.length) {
        const at = new Date(this.c.now()).toISOString();
        const r = await acts
          .applyReview({ config: this.c.config, data: wait.data, review: { decisions, by }, round: wait.round, at })
          .catch((err: unknown) => {
            throw ApplicationFailure.nonRetryable(innermostMessage(err), 'InvalidUpdate');
          });
        ref = r.ref;
        detail = `${r.rejected} rejected, ${r.relabelled} relabelled, ${r.kept} kept`;
      }
      this.record('review', `round ${wait.round} reviewed by ${by}: ${detail}`).appliedAt = wait.round;
      this.reviewDone = { ref };
    } finally {
      this.reviewBusy = false;
    }
    return this.snapshot();
  }

  /**
   * Before the student of round `round` is trained, with review "each-round": waits (durably)
   * for the review of `data`, the synthetic data made since the last training.
   * @returns the reviewed data to train on instead, or null (no review, or all approved)
   */
  async reviewBeforeTrain(round: number, data: DatasetRef[]): Promise<DatasetRef | null> {
    if (this.reviewMode !== 'each-round' || !data.some((r) => r.count > 0)) return null;
    const { state } = this.c;
    const phase = state.phase;
    this.reviewWait = { round, data };
    this.waiting = 'review';
    state.phase = 'review';
    try {
      const limit = this.reviewTimeoutMin;
      if (limit === undefined) await condition(() => this.reviewDone !== null);
      else if (!(await condition(() => this.reviewDone !== null, limit * 60_000))) {
        // nobody reviewed in time: approved as they are (unless a review is being applied now)
        if (!this.reviewBusy) {
          this.record('review', `round ${round}: no review within ${limit} min, all approved`).appliedAt = round;
          return null;
        }
        await condition(() => this.reviewDone !== null);
      }
      return this.reviewDone!.ref;
    } finally {
      this.reviewWait = null;
      this.reviewDone = null;
      this.waiting = null;
      state.phase = phase;
    }
  }

  /** Between two steps of the loop: waits while paused (durably; a cancellation ends the wait). */
  async between(): Promise<void> {
    if (!this.paused) return;
    const { state } = this.c;
    const phase = state.phase;
    state.phase = 'paused';
    this.waiting = 'resume';
    try {
      await condition(() => !this.paused);
    } finally {
      this.waiting = null;
      state.phase = phase;
    }
  }

  /**
   * Before the student of round `round` is trained: the pending acquisition rule and gold
   * validation pool take effect.
   * @returns the configuration and task to train (and go on) with
   */
  beforeTrain(round: number, config: S3Config, task: TaskRefs): { config: S3Config; task: TaskRefs } {
    if (this.pendingAcquisition) {
      config = { ...config, synthesis: { ...config.synthesis, acquisition: this.pendingAcquisition } };
      this.acquisition = this.pendingAcquisition;
      this.pendingAcquisition = null;
      for (const r of this.log) if (r.update === 'setAcquisition' && r.appliedAt === undefined) r.appliedAt = round;
    }
    if (this.pendingGold) {
      task = { ...task, validation: this.pendingGold.ref };
      for (const r of this.pendingGold.records) r.appliedAt = round;
      this.pendingGold = null;
    }
    this.task = task;
    this.validationCount = task.validation.count;
    return { config, task };
  }

  /** After the student of round `round` was trained: a finishAfterRound stops the loop here. */
  afterTrain(round: number): void {
    if (!this.finishRequested || this.c.ledger.stoppedBy) return;
    this.c.ledger.stopNow(`finished after round ${round} (finishAfterRound)`);
    for (const r of this.log) if (r.update === 'finishAfterRound' && r.appliedAt === undefined) r.appliedAt = round;
  }

  /** The loop is over: Updates are rejected from now on. */
  close(): void {
    this.closed = true;
    this.paused = false;
  }
}

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
 * @throws whatever the method threw that is not such a cancellation
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
