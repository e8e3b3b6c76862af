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
 * The Update definitions and their stateless checks are in steeringUpdates.ts, cancellation
 * with partial results in cancellation.ts (both re-exported here). A configured review
 * (`synthesis.review: "each-round"`) starts the run as a `setReview` before its first step
 * would; a long run carries this state into its continued run (`carry()`, workflows/longRun.ts).
 *
 * Replay: registering handlers adds no command, and an Update only changes the commands of
 * the histories it is in, so running workflows replay unchanged. Deterministic workflow code.
 */
import { ApplicationFailure, condition, setHandler, type proxyActivities } from '@temporalio/workflow';
import type { S3Activities } from '../activities/index.js';
import type { TaskRefs } from '../activities/prepare.js';
import type { AcquisitionName } from '../acquisition/types.js';
import type { S3Config } from '../config/schema.js';
import type { Ledger } from '../domain/ledger.js';
import {
  addGoldProblem,
  setBudgetProblem,
  type AddGoldInput,
  type ReviewInput,
  type SetBudgetInput,
  type SetReviewInput,
  type SteeringRecord,
  type SteeringState,
} from '../domain/steering.js';
import type { DatasetRef } from '../domain/types.js';
import type { Method } from '../methods/index.js';
import type { LoopState } from './loop.js';
import { ReviewGate } from './reviewGate.js';
import { innermostMessage } from '../domain/errors.js';
import {
  addGoldUpdate,
  checkAcquisition,
  checkSetReview,
  finishAfterRoundUpdate,
  pauseUpdate,
  reject,
  resumeUpdate,
  reviewUpdate,
  setAcquisitionUpdate,
  setBudgetUpdate,
  setReviewUpdate,
  steerSignal,
} from './steeringUpdates.js';

export type { SteeringState, SteeringRecord } from '../domain/steering.js';
// the Update definitions and the cancellation helpers, where the workflows have always imported them
export * from './steeringUpdates.js';
export { asCancellation, finishHandlers, runMethodCancellable, whenCancelled } from './cancellation.js';

type Activities = ReturnType<typeof proxyActivities<S3Activities>>;

/**
 * The steering state a continued run starts from (continue-as-new, workflows/longRun.ts):
 * plain JSON, references only. Pending gold additions point at their records by index in `log`.
 */
export interface SteeringCarry {
  log: SteeringRecord[];
  paused: boolean;
  finishRequested: boolean;
  acquisition: AcquisitionName;
  pendingAcquisition: AcquisitionName | null;
  pendingGold: { ref: DatasetRef; records: number[] } | null;
  validationCount: number;
  goldBatches: number;
  addedIds: string[];
  review: { mode: SetReviewInput['mode']; timeoutMin?: number };
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
  private readonly gate = new ReviewGate();

  /**
   * @param c.kind "run" (s3Synthesis) or "arm" (synthesisArm: its method's own acquisition rule stays)
   * @param c.state the loop's phase and round (progress)
   * @param c.review the review in force from the start (synthesis.review "each-round"; absent: none)
   * @param c.from the state of the run this one continues (continue-as-new; absent: a new run)
   */
  constructor(
    private readonly c: {
      kind: 'run' | 'arm';
      config: S3Config;
      method: Method;
      ledger: Ledger;
      state: LoopState;
      now: () => number;
      review?: SetReviewInput;
      from?: SteeringCarry;
    },
  ) {
    this.acquisition = c.config.synthesis.acquisition;
    if (c.review?.mode === 'each-round') this.gate.set(c.review);
    const f = c.from;
    if (!f) return;
    this.log.push(...f.log);
    this.paused = f.paused;
    this.finishRequested = f.finishRequested;
    this.acquisition = f.acquisition;
    this.pendingAcquisition = f.pendingAcquisition;
    this.pendingGold = f.pendingGold && {
      ref: f.pendingGold.ref,
      records: f.pendingGold.records.map((i) => this.log[i]),
    };
    this.validationCount = f.validationCount;
    this.goldBatches = f.goldBatches;
    for (const id of f.addedIds) this.addedIds.add(id);
    this.gate.set(f.review);
  }

  /**
   * The state a continued run needs (between two rounds: no review waits, no Update runs;
   * the caller drains the handlers first).
   */
  carry(): SteeringCarry {
    return {
      log: this.log,
      paused: this.paused,
      finishRequested: this.finishRequested,
      acquisition: this.acquisition,
      pendingAcquisition: this.pendingAcquisition,
      pendingGold: this.pendingGold && {
        ref: this.pendingGold.ref,
        records: this.pendingGold.records.map((r) => this.log.indexOf(r)),
      },
      validationCount: this.validationCount,
      goldBatches: this.goldBatches,
      addedIds: [...this.addedIds],
      review: {
        mode: this.gate.mode,
        ...(this.gate.timeoutMin !== undefined ? { timeoutMin: this.gate.timeoutMin } : {}),
      },
    };
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
    const wait = this.gate.pending();
    return {
      paused: this.paused,
      waiting: this.waiting === 'review' && !wait ? null : this.waiting,
      finishAfterRound: this.finishRequested,
      budget: { kind, limit: Number.isFinite(limit) ? limit : null, spent: ledger.spent() },
      acquisition: this.acquisition,
      validation: this.validationCount || (this.task?.validation.count ?? 0),
      review: this.gate.state(),
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
   * @param acts the activities (addGold's merge and a review's changes run as activities)
   */
  register(acts: Activities): void {
    this.registerFlow();
    this.registerChanges(acts);
  }

  /** pause, resume, finishAfterRound, and the parent's `steer` Signal */
  private registerFlow(): void {
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
    setHandler(finishAfterRoundUpdate, (input) => this.finishAfterRound(input?.reason), {
      validator: (_input?: { reason?: string }) => {
        this.open('finishAfterRound');
        if (this.finishRequested) reject('finishAfterRound: already asked');
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

  /** setBudget, setAcquisition, addGold, setReview, review */
  private registerChanges(acts: Activities): void {
    setHandler(setBudgetUpdate, (input) => this.setBudget(input), {
      validator: (input) => {
        this.open('setBudget');
        const { ledger } = this.c;
        const problem = setBudgetProblem(input, { kind: ledger.budget?.kind ?? null, spent: ledger.spent() });
        if (problem) reject(`setBudget: ${problem}`);
      },
    });
    setHandler(
      setAcquisitionUpdate,
      (input) => {
        this.pendingAcquisition = input.acquisition === this.acquisition ? null : input.acquisition;
        this.record('setAcquisition', `${this.acquisition} → ${input.acquisition} from the next round`);
        return this.snapshot();
      },
      {
        validator: (input) => {
          this.open('setAcquisition');
          const { kind, method, config } = this.c;
          checkAcquisition(input, { kind, method, config, current: this.pendingAcquisition ?? this.acquisition });
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
        this.record('setReview', this.gate.set(input));
        return this.snapshot();
      },
      {
        validator: (input) => {
          this.open('setReview');
          checkSetReview(input, { mode: this.gate.mode, timeoutMin: this.gate.timeoutMin });
        },
      },
    );
    setHandler(reviewUpdate, (input) => this.review(acts, input), {
      validator: (input) => {
        this.open('review');
        this.gate.check(input, this.c.config.task.labels);
      },
    });
  }

  private setBudget(input: SetBudgetInput): SteeringState {
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
  }

  private finishAfterRound(reason?: string): SteeringState {
    this.finishRequested = true;
    const resumed = this.paused;
    this.paused = false;
    this.record(
      'finishAfterRound',
      `stop after the round being made${resumed ? ' (and resume the pause)' : ''}${reason ? `: ${reason}` : ''}`,
    );
    return this.snapshot();
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
    await this.gate.apply(acts, input, this.c, (detail, round) => {
      this.record('review', detail).appliedAt = round;
    });
    return this.snapshot();
  }

  /**
   * Before the student of round `round` is trained, with review "each-round": waits (durably)
   * for the review of `data`, the synthetic data made since the last training (reviewGate.ts).
   * @returns the reviewed data to train on instead, or null (no review, or all approved)
   */
  async reviewBeforeTrain(round: number, data: DatasetRef[]): Promise<DatasetRef | null> {
    if (!this.gate.wanted(data)) return null;
    const { state } = this.c;
    const phase = state.phase;
    this.waiting = 'review';
    state.phase = 'review';
    try {
      return await this.gate.waitFor(round, data, (detail) => {
        this.record('review', detail).appliedAt = round;
      });
    } finally {
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
