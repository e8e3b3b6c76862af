/**
 * The bookkeeping of one synthesis loop (a single run or one experiment arm), as a plain
 * object instead of closure state: the training set (artifact references only), the teacher
 * usage, the budget and what is left of it, the trained rounds, and the warnings. The loop
 * (workflows/loop.ts) asks it what is left and tells it what each step produced; it holds no
 * promise and calls nothing, so every rule here is unit-tested (tests/unit/ledger.test.ts).
 *
 * Budget units: the budget's own (synthetic examples or teacher tokens = prompt + completion
 * tokens, every call counted, cached ones too). A single run without a budget has
 * `budget: null`: its sizes come from the configuration (N_seed = synthesis.seedSize, S3
 * Alg. 1 line 4; every misclassified example per round, Alg. 2 line 6), optionally under a
 * teacher-token cap (`tokenCap`, the run config's budget.teacherTokens).
 *
 * Pure module: safe in workflows (no I/O, no Date, no randomness).
 */
import type { Budget } from './experiment.js';
import type { FinetuneFit } from './studentContract.js';
import {
  addUsage,
  emptyUsage,
  type DatasetRef,
  type RoundResult,
  type RoundTraining,
  type SplitMetrics,
  type TeacherUsage,
  type AcquisitionRecord,
} from './types.js';

/** What a teacher step returns, as far as the ledger is concerned. */
export interface TeacherStepResult {
  usage: TeacherUsage;
  warnings?: string[];
  /** the examples it wrote (absent for rationales and ratings: not training data) */
  ref?: DatasetRef;
  /** it stopped because its next call would pass the token limit it was given */
  budgetExhausted?: boolean;
}

/** What a trained student returns, as far as the ledger is concerned. */
export interface TrainedStudent {
  trainSize: number;
  validation: SplitMetrics;
  test: SplitMetrics;
  studentMs: number;
  acquisition?: AcquisitionRecord;
  selection?: SplitMetrics;
  /** the student's fit; only the finetune student's epoch times are read */
  fit?: { finetune?: Pick<FinetuneFit, 'device' | 'epochMs' | 'trainFeatures'> };
}

/**
 * The finetune student's speed from its fit: mean over epochs of ms × 1,000 / inputs.
 * @returns undefined for in-process students, no epochs, or a worker that did not report its inputs
 */
export function roundTraining(fit: TrainedStudent['fit']): RoundTraining | undefined {
  const f = fit?.finetune;
  if (!f || !f.trainFeatures || f.epochMs.length === 0) return undefined;
  const mean = f.epochMs.reduce((a, b) => a + b, 0) / f.epochMs.length;
  return {
    features: f.trainFeatures,
    epochs: f.epochMs.length,
    msPerEpochPer1000: (mean * 1000) / f.trainFeatures,
    device: f.device,
  };
}

/**
 * Everything a Ledger holds, as plain JSON (references and counts only): what a long run
 * carries into its continued run (continue-as-new, workflows/longRun.ts).
 */
export interface LedgerState {
  budget: Budget | null;
  cap?: number;
  synthetic: DatasetRef[];
  gold: DatasetRef[];
  rounds: RoundResult[];
  warnings: string[];
  usage: TeacherUsage;
  tokens: number;
  filledUp: number;
  trainedOnValidation: boolean;
  stopReason: string | null;
  nextSeedIndex: number;
  filling: boolean;
  budgetDone: boolean;
  userStop: string | null;
  pendingUsage: TeacherUsage;
  added: number;
  addedOrigin: RoundResult['origin'];
  dirty: boolean;
  syntheticTrained: number;
}

export class Ledger {
  /** synthetic datasets in the order they were made (seed first) */
  readonly synthetic: DatasetRef[] = [];
  /** human-labeled datasets added by gold methods */
  readonly gold: DatasetRef[] = [];
  /** every trained student (round 0 first) */
  readonly rounds: RoundResult[] = [];
  readonly warnings: string[] = [];
  /** all teacher usage */
  usage: TeacherUsage = emptyUsage();
  /** teacher tokens spent (prompt + completion) */
  tokens = 0;
  /** synthetic examples added by fill-up batches */
  filledUp = 0;
  /** the student was trained on the gold validation set (its validation scores mean nothing) */
  trainedOnValidation = false;
  /** why the loop stopped early (budget, convergence), or null */
  stopReason: string | null = null;
  /** the next index of the seeded sequence of seed prompts (fill-up batches continue it) */
  nextSeedIndex = 0;
  /** while true, additions are recorded with origin "fill" */
  filling = false;
  /** set when a teacher step given all the tokens left stopped because its next call would
   * pass them: the remainder buys no call, so the budget counts as spent */
  private budgetDone = false;
  /** why the user stopped the loop (finishAfterRound, a cancellation), or null: while set,
   * nothing is left to spend (workflows/steering.ts) */
  private userStop: string | null = null;
  /** usage since the last trained student (reported with the next round) */
  private pendingUsage: TeacherUsage = emptyUsage();
  /** examples added since the last trained student, and their origin */
  private added = 0;
  private addedOrigin: RoundResult['origin'] = 'seed';
  /** the training set changed since the last trained student */
  private dirty = false;
  /** synthetic datasets made before the last trained student (the rest are the round's new data) */
  private syntheticTrained = 0;

  /**
   * @param budget an experiment's budget, or null for a single run (sizes from the config)
   * @param cap a single run's teacher-token cap (budget.teacherTokens), if any
   */
  constructor(
    readonly budget: Budget | null,
    private cap?: number,
  ) {}

  /** Everything this ledger holds (plain JSON; `Ledger.fromState` rebuilds an equal ledger). */
  state(): LedgerState {
    return {
      budget: this.budget,
      ...(this.cap !== undefined ? { cap: this.cap } : {}),
      synthetic: this.synthetic,
      gold: this.gold,
      rounds: this.rounds,
      warnings: this.warnings,
      usage: this.usage,
      tokens: this.tokens,
      filledUp: this.filledUp,
      trainedOnValidation: this.trainedOnValidation,
      stopReason: this.stopReason,
      nextSeedIndex: this.nextSeedIndex,
      filling: this.filling,
      budgetDone: this.budgetDone,
      userStop: this.userStop,
      pendingUsage: this.pendingUsage,
      added: this.added,
      addedOrigin: this.addedOrigin,
      dirty: this.dirty,
      syntheticTrained: this.syntheticTrained,
    };
  }

  /**
   * A ledger equal to the one whose `state()` this is (a continued run's, continue-as-new).
   * @param s a LedgerState (after a JSON round trip)
   */
  static fromState(s: LedgerState): Ledger {
    const l = new Ledger(s.budget, s.cap);
    l.synthetic.push(...s.synthetic);
    l.gold.push(...s.gold);
    l.rounds.push(...s.rounds);
    l.warnings.push(...s.warnings);
    l.usage = s.usage;
    l.tokens = s.tokens;
    l.filledUp = s.filledUp;
    l.trainedOnValidation = s.trainedOnValidation;
    l.stopReason = s.stopReason;
    l.nextSeedIndex = s.nextSeedIndex;
    l.filling = s.filling;
    l.budgetDone = s.budgetDone;
    l.userStop = s.userStop;
    l.pendingUsage = s.pendingUsage;
    l.added = s.added;
    l.addedOrigin = s.addedOrigin;
    l.dirty = s.dirty;
    l.syntheticTrained = s.syntheticTrained;
    return l;
  }

  /** a single run's teacher-token cap (budget.teacherTokens), if any; setLimit may change it */
  get tokenCap(): number | undefined {
    return this.cap;
  }

  /**
   * Changes the limit while the loop runs (the setBudget Update): an experiment budget's limit
   * in its units, or a single run's teacher-token cap. A raised limit reopens a budget that
   * the token remainder had closed.
   * @throws RangeError below what is spent (or not a non-negative integer)
   */
  setLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`a budget is a whole number ≥ 0, got ${limit}`);
    if (limit < this.spent()) throw new RangeError(`${limit} is below what is spent (${this.spent()})`);
    if (limit > this.limit()) this.budgetDone = false;
    if (this.budget) this.budget.limit = limit;
    else this.cap = limit;
  }

  /** Stops the loop for the user: nothing is left to spend from now on, and budgetStop gives `reason`. */
  stopNow(reason: string): void {
    this.userStop ??= reason;
  }

  /** why the user stopped the loop, or null */
  get stoppedBy(): string | null {
    return this.userStop;
  }

  /** synthetic examples in the training set */
  have(): number {
    return this.synthetic.reduce((n, r) => n + r.count, 0);
  }

  /** gold examples in the training set */
  goldCount(): number {
    return this.gold.reduce((n, r) => n + r.count, 0);
  }

  /** budget units spent: examples or tokens (a single run: tokens) */
  spent(): number {
    return this.budget?.kind === 'examples' ? this.have() : this.tokens;
  }

  /** the budget's limit in its units (Infinity for a single run without a token cap) */
  limit(): number {
    return this.budget ? this.budget.limit : (this.cap ?? Infinity);
  }

  /** budget units left (≤ 0: spent; Infinity: no budget) */
  left(): number {
    return this.budgetDone || this.userStop ? 0 : this.limit() - this.spent();
  }

  /** whether spending is counted in tokens (a token budget, or a single run's token cap) */
  countsTokens(): boolean {
    return this.budget ? this.budget.kind === 'tokens' : this.cap !== undefined;
  }

  /** the tokens a teacher step may spend now, as its `tokenLimit` input ({} when not counted in tokens) */
  tokensLeft(): { tokenLimit?: number } {
    return this.countsTokens() ? { tokenLimit: Math.max(0, this.left()) } : {};
  }

  /**
   * Records a teacher step: its usage and warnings, and its examples as training data.
   * @param origin what the examples are ("fill" while filling up)
   */
  record(r: TeacherStepResult, origin: RoundResult['origin']): void {
    this.usage = addUsage(this.usage, r.usage);
    this.pendingUsage = addUsage(this.pendingUsage, r.usage);
    this.tokens += r.usage.promptTokens + r.usage.completionTokens;
    this.warnings.push(...(r.warnings ?? []));
    if (r.ref) {
      this.synthetic.push(r.ref);
      this.added += r.ref.count;
      if (r.ref.count) this.dirty = true;
      this.addedOrigin = this.filling ? 'fill' : origin;
    }
  }

  /**
   * After a teacher step that was given `limit` tokens when `wholeLeft` were left: if it
   * stopped for the budget and was allowed everything left, the budget is spent.
   * @param replaySafe false in histories recorded before this rule (workflow `patched()`)
   */
  noteExhausted(r: { budgetExhausted?: boolean }, limit: number | undefined, wholeLeft: number, replaySafe = true) {
    if (r.budgetExhausted && limit !== undefined && limit >= wholeLeft && replaySafe) this.budgetDone = true;
  }

  /** Records human-labeled training data. */
  addGold(ref: DatasetRef, which: { train: number | 'all' } | 'validation'): void {
    this.gold.push(ref);
    this.added += ref.count;
    this.addedOrigin = 'gold';
    this.dirty = true;
    if (which === 'validation') this.trainedOnValidation = true;
  }

  /** whether the training set changed since the last trained student (or none was trained) */
  needsTraining(): boolean {
    return this.dirty || this.rounds.length === 0;
  }

  /** the training set the student is trained on: synthetic, then gold */
  trainingSet(): DatasetRef[] {
    return [...this.synthetic, ...this.gold];
  }

  /**
   * Records a trained student as round `round` (what was added and the teacher usage since
   * the previous one, the round's wall time `wallMs` when given, the finetune student's speed
   * from `ev.fit`) and starts a new round's tally.
   * @returns the round's result (also appended to `rounds`)
   */
  trained(round: number, ev: TrainedStudent, wallMs?: number): RoundResult {
    const training = roundTraining(ev.fit);
    const r: RoundResult = {
      round,
      origin: this.addedOrigin,
      added: this.added,
      trainSize: ev.trainSize,
      validation: ev.validation,
      test: ev.test,
      teacher: this.pendingUsage,
      studentMs: ev.studentMs,
      ...(wallMs !== undefined ? { wallMs } : {}),
      ...(training ? { training } : {}),
      ...(ev.acquisition ? { acquisition: ev.acquisition } : {}),
      ...(ev.selection ? { selection: ev.selection } : {}),
    };
    this.rounds.push(r);
    this.pendingUsage = emptyUsage();
    this.added = 0;
    this.dirty = false;
    this.syntheticTrained = this.synthetic.length;
    return r;
  }

  /** the synthetic datasets made since the last trained student (the round's data, for a review) */
  newSynthetic(): DatasetRef[] {
    return this.synthetic.slice(this.syntheticTrained);
  }

  /**
   * Replaces the round's new synthetic datasets by their reviewed version (rejected examples
   * removed, relabelled ones changed): only it trains the student and counts as made.
   */
  replaceNewSynthetic(reviewed: DatasetRef): void {
    const old = this.synthetic.splice(this.syntheticTrained);
    this.added += reviewed.count - old.reduce((n, r) => n + r.count, 0);
    this.synthetic.push(reviewed);
  }

  /** validation accuracies so far, one per trained round (for convergence) */
  accuracyHistory(): number[] {
    return this.rounds.map((r) => r.validation.accuracy);
  }

  /** The reason the budget (or the user, stopNow) stops the loop now, or null: examples or tokens left ≤ 0. */
  budgetStop(): string | null {
    if (this.userStop) return this.userStop;
    if (this.left() > 0) return null;
    if (!this.budget) return `teacher token budget spent (${this.spent()} of ${this.limit()})`;
    return `${this.budget.kind === 'tokens' ? 'token' : 'examples'} budget spent (${this.spent()} of ${this.budget.limit})`;
  }
}
