/**
 * The one synthesis loop. A single run (s3Synthesis) and an experiment arm (synthesisArm) both
 * run a method (methods/) through these steps; they differ only in the budget (none or a
 * token cap for a single run, the experiment's for an arm) and in what they do with the
 * result (a report, or an arm result for the experiment's table).
 *
 * `createSteps` implements the steps every method is written in (methods/types.ts ArmSteps)
 * with activities, one small method of `SynthesisLoop` each (rationales, seed, train, judge,
 * extrapolate, select candidates, influence, gold data, fill-up), and keeps the bookkeeping in
 * a Ledger (domain/ledger.ts): the training set (references only), the rounds, the teacher
 * usage, and the budget. What a step hands the next (the rationales, the judge's batch, the
 * latest student, the configuration and task in force) is `LoopCarry`, so a long run's
 * continued run (workflows/longRun.ts) starts where the previous one stopped.
 *
 * Deterministic orchestration only: workflow code.
 */
import { ActivityCancellationType, patched, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { S3Activities } from '../activities/index.js';
import type { ArmConfig } from '../config/experiment.js';
import { deadlinesOf } from '../config/deadlines.js';
import type { S3Config } from '../config/schema.js';
import { Ledger } from '../domain/ledger.js';
import { convergenceReason } from '../domain/metrics.js';
import type { DatasetRef } from '../domain/types.js';
import type { ArmSteps, TrainedRound } from '../methods/index.js';
import type { TaskRefs } from '../activities/prepare.js';
import type { Steering } from './steering.js';
import { studentActivityOptions, teacherActivityOptions, workActivityOptions } from './activityOptions.js';
import { S3_PHASE, S3_ROUND, S3_VAL_ACCURACY } from './types.js';

/** Most fill-up seed batches one arm makes before it reports the budget as unmet. */
export const MAX_FILL_BATCHES = 5;

/** What the loop shows while it runs (each workflow's `progress` query reads it). */
export interface LoopState {
  phase: string;
  round: number;
}

/**
 * The activities the loop calls, with their options (teacher, student, other work).
 * @param opts.waitCancel a cancelled teacher activity is waited for until it has stopped (its
 *   calls aborted at its next heartbeat) before the workflow goes on, so no teacher call runs
 *   after a cancelled run has written its partial report (runs with the 'steering' marker)
 */
export function loopActivities(config: S3Config, opts: { waitCancel?: boolean } = {}) {
  const deadlines = deadlinesOf(config);
  const teacher = proxyActivities<S3Activities>({
    ...teacherActivityOptions(deadlines),
    ...(opts.waitCancel ? { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } : {}),
  });
  const work = proxyActivities<S3Activities>(workActivityOptions(deadlines));
  // student.kind "finetune": trainAndEvaluate runs on the Python training worker's task queue;
  // the teacher and student task queues of worker roles (taskQueues) route, not the commands
  const student = proxyActivities<S3Activities>(
    studentActivityOptions(workActivityOptions(deadlines), config.student, config.taskQueues),
  );
  return { teacher, work, student };
}

/** What one step hands the next (plain JSON: a continued run starts from it). */
export interface LoopCarry {
  /** the rationales (Alg. 1 lines 1-2), once made */
  rationales: DatasetRef | null;
  /** the pick size of the latest round, for the teacher-judge acquisition */
  judgeBatch?: number;
  /** the latest trained student */
  lastEval: TrainResult | null;
  /** the configuration and task in force (steering may have changed the acquisition rule and the validation pool) */
  config: S3Config;
  task: TaskRefs;
}

type TrainResult = Awaited<ReturnType<S3Activities['trainAndEvaluate']>>;
type Acts = ReturnType<typeof loopActivities>;
type SeedInput = Parameters<S3Activities['synthesizeSeed']>[0];
type Icl = { ref: DatasetRef; round: number };

/** The options of one loop (see createSteps). */
export interface LoopOptions {
  config: S3Config;
  task: TaskRefs;
  options: ArmConfig;
  ledger: Ledger;
  state: LoopState;
  usesTeacher: boolean;
  searchAttributes: boolean;
  steer?: Steering;
  /** see loopActivities */
  waitCancel?: boolean;
  /** the state of the run this one continues (continue-as-new); absent: a new loop */
  from?: LoopCarry;
}

/**
 * The steps of one loop over the activities (workflows call createSteps). Each method is one
 * step of S3 Alg. 1-3; every step first waits while the run is paused (steering) and sets the
 * phase progress shows.
 */
class SynthesisLoop {
  private readonly acts: Acts;
  private readonly ledger: Ledger;
  private readonly state: LoopState;
  private carried: LoopCarry;
  /** workflow clock (deterministic on replay) at the previous student's result, or the loop's start */
  private roundStartedAt = Date.now();

  constructor(private readonly c: LoopOptions) {
    this.ledger = c.ledger;
    this.state = c.state;
    this.acts = loopActivities(c.config, { waitCancel: c.waitCancel });
    this.carried = c.from ?? { rationales: null, lastEval: null, config: c.config, task: c.task };
  }

  get config(): S3Config {
    return this.carried.config;
  }

  get task(): TaskRefs {
    return this.carried.task;
  }

  /** What the next step starts from. */
  carry(): LoopCarry {
    return this.carried;
  }

  get lastEval(): TrainResult | null {
    return this.carried.lastEval;
  }

  /** Sets the phase (and round) progress shows, and the search attributes when asked. */
  enter(phase: string, round = this.state.round): void {
    this.state.phase = phase;
    this.state.round = round;
    if (this.c.searchAttributes)
      upsertSearchAttributes([
        { key: S3_PHASE, value: phase },
        { key: S3_ROUND, value: round },
      ]);
  }

  /** between two steps: waits while the run is paused (no command unless paused) */
  private async gate(): Promise<void> {
    if (this.c.steer) await this.c.steer.between();
  }

  /** with the near-duplicate filter, seed batches after the first (fill-up, ProGen rounds) are
   * checked against the training set so far (an activity input; absent otherwise) */
  private seenForNearDuplicates(): { train?: DatasetRef[] } {
    const { ledger } = this;
    return this.config.synthesis.filters?.nearDuplicates && ledger.synthetic.length
      ? { train: [...ledger.synthetic] }
      : {};
  }

  private noteExhausted(r: { budgetExhausted?: boolean }, limit: number | undefined, wholeLeft: number): void {
    this.ledger.noteExhausted(
      r,
      limit,
      wholeLeft,
      r.budgetExhausted && limit !== undefined && limit >= wholeLeft ? patched('token-budget-remainder') : false,
    );
  }

  /** a single run: N_seed examples (S3 Alg. 1 line 4), whatever the share */
  portion(share: number): number {
    const { budget } = this.ledger;
    return budget ? budget.limit * share : this.config.synthesis.seedSize;
  }

  /** Alg. 1 lines 1-2: K rationales per label (not training data). */
  async rationales(): Promise<void> {
    await this.gate();
    this.enter('rationales');
    const r = await this.acts.teacher.synthesizeRationales({ config: this.config, task: this.task });
    this.carried.rationales = r.ref;
    this.ledger.record({ usage: r.usage, warnings: r.warnings }, 'seed');
  }

  /** Alg. 1 lines 3-8: seed data (or a ProGen round's, `icl`) until `limit` budget units are spent. */
  async seed(limit: number, icl?: Icl): Promise<void> {
    if (!this.carried.rationales) await this.rationales(); // plain-prompt methods: an empty list, no teacher call
    const rationales = this.carried.rationales!;
    await this.gate();
    if (this.ledger.stoppedBy) return; // finishAfterRound: no more teacher data
    this.enter(this.ledger.filling ? 'fill-up' : icl ? `progen round ${icl.round}` : 'seed');
    if (this.ledger.budget?.kind !== 'tokens') await this.seedExamples(rationales, limit, icl);
    else await this.seedTokenBatches(rationales, limit, icl);
  }

  /** examples (an experiment) or a single run: `limit` synthetic examples in all, under a
   * single run's token cap if it has one */
  private async seedExamples(rationales: DatasetRef, limit: number, icl?: Icl): Promise<void> {
    const { ledger } = this;
    const count = Math.round(limit) - ledger.have();
    if (count <= 0) return;
    const wholeLeft = ledger.left();
    const cap = ledger.tokensLeft();
    const from = ledger.nextSeedIndex;
    const r = await this.synthesizeSeed({
      rationales,
      ...(icl
        ? { inContext: icl.ref, round: icl.round, from: 0, count, file: `icl-round-${icl.round}` }
        : { from, count, file: from ? `seed-from-${from}` : 'seed' }),
      ...cap,
    });
    if (!icl) ledger.nextSeedIndex += count;
    ledger.record(r, icl ? 'icl' : 'seed');
    if (cap.tokenLimit !== undefined) this.noteExhausted(r, cap.tokenLimit, wholeLeft);
  }

  /** token budget: batches of seedSize prompts until `limit` tokens are spent */
  private async seedTokenBatches(rationales: DatasetRef, limit: number, icl?: Icl): Promise<void> {
    const { ledger } = this;
    for (let batch = 0, from = 0; batch < 20 && ledger.tokens < limit; batch++) {
      const count = this.config.synthesis.seedSize;
      const start = icl ? from : ledger.nextSeedIndex;
      const wholeLeft = ledger.left();
      const tokenLimit = Math.floor(limit) - ledger.tokens;
      const r = await this.synthesizeSeed({
        rationales,
        from: start,
        count,
        tokenLimit,
        ...(icl
          ? { inContext: icl.ref, round: icl.round, file: `icl-round-${icl.round}-from-${start}` }
          : { file: start ? `seed-from-${start}` : 'seed' }),
      });
      if (icl) from += count;
      else ledger.nextSeedIndex += count;
      ledger.record(r, icl ? 'icl' : 'seed');
      this.noteExhausted(r, tokenLimit, wholeLeft);
      if (r.budgetExhausted || r.usage.calls === 0) break;
      await this.gate();
    }
  }

  private synthesizeSeed(input: Omit<SeedInput, 'config' | 'task'>) {
    return this.acts.teacher.synthesizeSeed({
      config: this.config,
      task: this.task,
      ...input,
      ...this.seenForNearDuplicates(),
    });
  }

  /** Alg. 2 lines 3-6: the student on everything so far, scored; its picks for the next round. */
  async train(round: number, opts: { all?: boolean; batch?: number; ranked?: boolean } = {}): Promise<TrainedRound> {
    const { ledger } = this;
    await this.gate();
    await this.steerBeforeTrain(round);
    this.enter('train', round);
    const budget = ledger.budget;
    const limit =
      budget?.kind === 'examples' || opts.batch !== undefined
        ? Math.max(0, Math.min(budget?.kind === 'examples' ? ledger.left() : Infinity, opts.batch ?? Infinity))
        : undefined;
    // the teacher judge rates every candidate and expands the hardest `judgeBatch`
    // (synthesis.maxPerRound applies to it as to every acquisition rule)
    const caps = [limit, this.config.synthesis.maxPerRound].filter((x): x is number => x !== undefined);
    this.carried.judgeBatch = caps.length ? Math.min(...caps) : undefined;
    const ev = await this.acts.student.trainAndEvaluate({
      config: this.config,
      task: this.task,
      train: ledger.trainingSet(),
      round,
      select: { all: opts.all, ...(limit !== undefined ? { limit } : {}), ...(opts.ranked ? { ranked: true } : {}) },
    });
    this.carried.lastEval = ev;
    ledger.trained(round, ev, Date.now() - this.roundStartedAt);
    this.roundStartedAt = Date.now();
    this.c.steer?.afterTrain(round);
    if (this.c.searchAttributes) upsertSearchAttributes([{ key: S3_VAL_ACCURACY, value: ev.validation.accuracy }]);
    return {
      round,
      validationAccuracy: ev.validation.accuracy,
      toExtrapolate: ev.misclassified,
      converged: convergenceReason(
        ledger.accuracyHistory(),
        ev.validation.misclassified,
        this.config.synthesis.epsilon,
      ),
    };
  }

  /** steering before a training: the pending acquisition rule and validation pool apply; with
   * review "each-round" only the reviewed data of the round trains the student */
  private async steerBeforeTrain(round: number): Promise<void> {
    const { steer } = this.c;
    if (!steer) return;
    const now = steer.beforeTrain(round, this.config, this.task);
    this.carried.config = now.config;
    this.carried.task = now.task;
    const reviewed = await steer.reviewBeforeTrain(round, this.ledger.newSynthetic());
    if (reviewed) this.ledger.replaceNewSynthetic(reviewed);
  }

  /** Alg. 2 lines 7-10 (Alg. 3 for pairs): one new example per picked row, within the budget
   * left and, with `opts.tokens`, within this round's share of a token budget */
  async extrapolate(round: number, picked: DatasetRef, opts: { tokens?: number } = {}): Promise<void> {
    const { ledger } = this;
    let rows = picked;
    await this.gate();
    this.enter('extrapolate', round);
    if (rows.count === 0 || ledger.stoppedBy) return;
    // token budgets: this round may spend `opts.tokens` (its share), never more than is left
    const roundStart = ledger.tokens;
    const share = opts.tokens;
    const byShare = share !== undefined && ledger.budget?.kind === 'tokens';
    if (this.config.synthesis.acquisition === 'teacher-judge') {
      const hardest = await this.judge(round, rows, byShare ? share : undefined);
      if (!hardest) return;
      rows = hardest;
    }
    const wholeLeft = ledger.left();
    const limit = byShare
      ? { tokenLimit: Math.max(0, Math.min(ledger.left(), share - (ledger.tokens - roundStart))) }
      : ledger.tokensLeft();
    const r = await this.acts.teacher.extrapolateErrors({
      config: this.config,
      task: this.task,
      round,
      misclassified: rows,
      train: ledger.synthetic,
      ...limit,
    });
    if (this.config.synthesis.candidatesPerPick > 1 && r.ref.count > 0)
      r.ref = await this.selectCandidates(round, r.ref);
    ledger.record(r, 'ees');
    this.noteExhausted(r, limit.tokenLimit, wholeLeft);
  }

  /**
   * The teacher-judge acquisition: the teacher rates every candidate (its calls count against
   * the budget; with a round share, half of it) and the hardest `judgeBatch` are expanded.
   * @returns the rows to expand, or null when none is left to expand or nothing to spend
   */
  private async judge(round: number, rows: DatasetRef, share: number | undefined): Promise<DatasetRef | null> {
    const { ledger } = this;
    const { judgeBatch } = this.carried;
    this.enter('judge');
    const j = await this.acts.teacher.judgeDifficulty({
      config: this.config,
      task: this.task,
      round,
      candidates: rows,
      ...(judgeBatch !== undefined ? { batch: judgeBatch } : {}),
      ...(share !== undefined
        ? { tokenLimit: Math.max(0, Math.min(ledger.left(), Math.floor(share / 2))) }
        : ledger.tokensLeft()),
    });
    ledger.record({ usage: j.usage, warnings: j.warnings }, 'ees');
    const last = ledger.rounds[ledger.rounds.length - 1];
    if (last && j.acquisition) last.acquisition = j.acquisition;
    if (j.ref.count === 0 || ledger.left() <= 0) return null;
    this.enter('extrapolate');
    return j.ref;
  }

  /** generate–evaluate–select: the student that picked keeps one of the m candidates per
   * pick; the discarded ones were paid for and stay counted in the teacher's usage */
  private async selectCandidates(round: number, candidates: DatasetRef): Promise<DatasetRef> {
    this.enter('select candidates');
    const sel = await this.acts.work.selectCandidates({
      config: this.config,
      task: this.task,
      round,
      train: this.ledger.trainingSet(),
      candidates,
    });
    return sel.ref;
  }

  /** ProGen: the topK most helpful synthetic examples by influence on the gold-validation loss. */
  async influence(round: number, topK: number): Promise<DatasetRef> {
    await this.gate();
    this.enter('influence');
    const r = await this.acts.teacher.scoreInfluence({
      config: this.config,
      task: this.task,
      train: this.ledger.synthetic,
      round,
      topK,
    });
    return r.ref;
  }

  /** Human-labeled training data (gold methods). */
  async useGold(which: { train: number | 'all' } | 'validation'): Promise<void> {
    await this.gate();
    this.enter('gold data');
    const ref = await this.acts.teacher.useGoldData({ config: this.config, task: this.task, which });
    this.ledger.addGold(ref, which);
  }

  /** Fill-up to the budget, then the final student if the training set changed since the last one. */
  async finish(): Promise<void> {
    const { ledger } = this;
    const budget = ledger.budget;
    ledger.filling = true;
    if (this.c.usesTeacher && budget) await this.fillUp(budget.limit);
    ledger.filling = false;
    if (this.c.usesTeacher && budget && ledger.left() > 0)
      ledger.warnings.push(
        `budget not met: ${ledger.spent()} of ${budget.limit} ${budget.kind} after ${MAX_FILL_BATCHES} fill-up batches (the teacher's outputs kept being rejected)`,
      );
    if (ledger.needsTraining()) await this.train(ledger.rounds.length);
  }

  /** extra seed batches while the budget is not met (rejections, an early EES stop) */
  private async fillUp(limit: number): Promise<void> {
    const { ledger } = this;
    for (let b = 0; b < MAX_FILL_BATCHES && ledger.left() > 0; b++) {
      this.enter('fill-up');
      const examplesBefore = ledger.have();
      const tokensBefore = ledger.tokens;
      await this.seed(limit);
      ledger.filledUp += ledger.have() - examplesBefore;
      if (ledger.have() === examplesBefore && ledger.tokens === tokensBefore) break;
    }
  }
}

/**
 * Builds the steps of one loop.
 * @param c.config the run configuration (an arm's is derived by config/experiment.ts armConfig)
 * @param c.task the prepared task (prepareTask)
 * @param c.options the arm's options (a single run: the method with default options)
 * @param c.ledger the bookkeeping (its budget decides the sizes)
 * @param c.state the progress the workflow's query shows (phase, round), updated in place
 * @param c.usesTeacher whether the method calls the teacher (fill-up only for those)
 * @param c.searchAttributes upsert S3Phase / S3Round / S3ValAccuracy as the loop goes (a
 *   single run with config.searchAttributes; arms never did, and their histories stay so)
 * @param c.steer the run's steering (workflows/steering.ts): every step waits while it is
 *   paused; a changed acquisition rule or gold validation pool applies from the next training;
 *   finishAfterRound stops the loop after the next trained student
 * @param c.from the loop state of the run this one continues (continue-as-new)
 * @returns the steps (methods/types.ts ArmSteps), `lastEval` (the latest trained student),
 *   `enter` (sets the phase shown by progress), the configuration and task in force
 *   (`current()`: steering may have changed the acquisition rule and the validation pool),
 *   and `carry()` (what a continued run starts from)
 */
export function createSteps(c: LoopOptions) {
  const { ledger } = c;
  const loop = new SynthesisLoop(c);
  const steps: ArmSteps = {
    options: c.options,
    budget: ledger.budget,
    rounds: c.config.synthesis.rounds,
    left: () => ledger.left(),
    portion: (share) => loop.portion(share),
    rationales: () => loop.rationales(),
    seed: (limit, icl) => loop.seed(limit, icl),
    train: (round, opts) => loop.train(round, opts),
    extrapolate: (round, picked, opts) => loop.extrapolate(round, picked, opts),
    influence: (round, topK) => loop.influence(round, topK),
    useGold: (which) => loop.useGold(which),
    finish: () => loop.finish(),
    budgetStop: () => ledger.budgetStop(),
    stop(reason) {
      ledger.stopReason ??= reason;
    },
  };
  return {
    steps,
    lastEval: () => loop.lastEval,
    enter: (phase: string, round?: number) => loop.enter(phase, round),
    current: () => ({ config: loop.config, task: loop.task }),
    carry: () => loop.carry(),
  };
}
