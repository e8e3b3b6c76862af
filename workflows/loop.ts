/**
 * The one synthesis loop. A single run (s3Synthesis) and an experiment arm (synthesisArm) both
 * run a method (methods/) through these steps; they differ only in the budget (none or a
 * token cap for a single run, the experiment's for an arm) and in what they do with the
 * result (a report, or an arm result for the experiment's table).
 *
 * `createSteps` implements the steps every method is written in (methods/types.ts ArmSteps)
 * with activities, and keeps the bookkeeping in a Ledger (domain/ledger.ts): the training set
 * (references only), the rounds, the teacher usage, and the budget.
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
 * @returns the steps (methods/types.ts ArmSteps), `lastEval` (the latest trained student),
 *   `enter` (sets the phase shown by progress), and the configuration and task in force
 *   (`current()`: steering may have changed the acquisition rule and the validation pool)
 */
export function createSteps(c: {
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
}) {
  const { ledger, state } = c;
  let { config, task } = c;
  const acts = loopActivities(config, { waitCancel: c.waitCancel });
  /** between two steps: waits while the run is paused (no command unless paused) */
  const gate = async () => {
    if (c.steer) await c.steer.between();
  };
  const student = acts.student;
  const budget = ledger.budget;
  let rationales: DatasetRef | null = null;
  /** the pick size of the latest round, for the teacher-judge acquisition */
  let judgeBatch: number | undefined;
  let lastEval: Awaited<ReturnType<S3Activities['trainAndEvaluate']>> | null = null;

  const enter = (phase: string, round = state.round) => {
    state.phase = phase;
    state.round = round;
    if (c.searchAttributes)
      upsertSearchAttributes([
        { key: S3_PHASE, value: phase },
        { key: S3_ROUND, value: round },
      ]);
  };
  /** with the near-duplicate filter, seed batches after the first (fill-up, ProGen rounds) are
   * checked against the training set so far (an activity input; absent otherwise) */
  const seenForNearDuplicates = () =>
    config.synthesis.filters?.nearDuplicates && ledger.synthetic.length ? { train: [...ledger.synthetic] } : {};
  const noteExhausted = (r: { budgetExhausted?: boolean }, limit: number | undefined, wholeLeft: number) =>
    ledger.noteExhausted(
      r,
      limit,
      wholeLeft,
      r.budgetExhausted && limit !== undefined && limit >= wholeLeft ? patched('token-budget-remainder') : false,
    );

  const steps: ArmSteps = {
    options: c.options,
    budget,
    rounds: config.synthesis.rounds,
    left: () => ledger.left(),
    portion(share) {
      // a single run: N_seed examples (S3 Alg. 1 line 4), whatever the share
      return budget ? budget.limit * share : config.synthesis.seedSize;
    },
    async rationales() {
      await gate();
      enter('rationales');
      const r = await acts.teacher.synthesizeRationales({ config, task });
      rationales = r.ref;
      ledger.record({ usage: r.usage, warnings: r.warnings }, 'seed'); // not training data
    },
    async seed(limit, icl) {
      if (!rationales) await steps.rationales(); // plain-prompt methods: an empty list, no teacher call
      const ration = rationales!;
      await gate();
      if (ledger.stoppedBy) return; // finishAfterRound: no more teacher data
      enter(ledger.filling ? 'fill-up' : icl ? `progen round ${icl.round}` : 'seed');
      if (budget?.kind !== 'tokens') {
        // examples (an experiment) or a single run: `limit` synthetic examples in all,
        // under a single run's token cap if it has one
        const count = Math.round(limit) - ledger.have();
        if (count <= 0) return;
        const wholeLeft = ledger.left();
        const cap = ledger.tokensLeft();
        const r = await acts.teacher.synthesizeSeed({
          config,
          task,
          rationales: ration,
          ...(icl
            ? { inContext: icl.ref, round: icl.round, from: 0, count, file: `icl-round-${icl.round}` }
            : {
                from: ledger.nextSeedIndex,
                count,
                file: ledger.nextSeedIndex ? `seed-from-${ledger.nextSeedIndex}` : 'seed',
              }),
          ...cap,
          ...seenForNearDuplicates(),
        });
        if (!icl) ledger.nextSeedIndex += count;
        ledger.record(r, icl ? 'icl' : 'seed');
        if (cap.tokenLimit !== undefined) noteExhausted(r, cap.tokenLimit, wholeLeft);
        return;
      }
      // token budget: batches of seedSize prompts until `limit` tokens are spent
      for (let batch = 0, from = 0; batch < 20 && ledger.tokens < limit; batch++) {
        const count = config.synthesis.seedSize;
        const start = icl ? from : ledger.nextSeedIndex;
        const wholeLeft = ledger.left();
        const tokenLimit = Math.floor(limit) - ledger.tokens;
        const r = await acts.teacher.synthesizeSeed({
          config,
          task,
          rationales: ration,
          from: start,
          count,
          tokenLimit,
          ...(icl
            ? { inContext: icl.ref, round: icl.round, file: `icl-round-${icl.round}-from-${start}` }
            : { file: start ? `seed-from-${start}` : 'seed' }),
          ...seenForNearDuplicates(),
        });
        if (icl) from += count;
        else ledger.nextSeedIndex += count;
        ledger.record(r, icl ? 'icl' : 'seed');
        noteExhausted(r, tokenLimit, wholeLeft);
        if (r.budgetExhausted || r.usage.calls === 0) break;
        await gate();
      }
    },
    async train(round, opts = {}) {
      await gate();
      if (c.steer) {
        ({ config, task } = c.steer.beforeTrain(round, config, task));
        // review "each-round": only the reviewed data of the round trains the student
        const reviewed = await c.steer.reviewBeforeTrain(round, ledger.newSynthetic());
        if (reviewed) ledger.replaceNewSynthetic(reviewed);
      }
      enter('train', round);
      const limit =
        budget?.kind === 'examples' || opts.batch !== undefined
          ? Math.max(0, Math.min(budget?.kind === 'examples' ? ledger.left() : Infinity, opts.batch ?? Infinity))
          : undefined;
      // the teacher judge rates every candidate and expands the hardest `judgeBatch`
      // (synthesis.maxPerRound applies to it as to every acquisition rule)
      const caps = [limit, config.synthesis.maxPerRound].filter((x): x is number => x !== undefined);
      judgeBatch = caps.length ? Math.min(...caps) : undefined;
      const ev = await student.trainAndEvaluate({
        config,
        task,
        train: ledger.trainingSet(),
        round,
        select: { all: opts.all, ...(limit !== undefined ? { limit } : {}), ...(opts.ranked ? { ranked: true } : {}) },
      });
      lastEval = ev;
      ledger.trained(round, ev);
      c.steer?.afterTrain(round);
      if (c.searchAttributes) upsertSearchAttributes([{ key: S3_VAL_ACCURACY, value: ev.validation.accuracy }]);
      return {
        round,
        validationAccuracy: ev.validation.accuracy,
        toExtrapolate: ev.misclassified,
        converged: convergenceReason(ledger.accuracyHistory(), ev.validation.misclassified, config.synthesis.epsilon),
      } satisfies TrainedRound;
    },
    async extrapolate(round, picked, opts = {}) {
      let rows = picked;
      await gate();
      enter('extrapolate', round);
      if (rows.count === 0 || ledger.stoppedBy) return;
      // token budgets: this round may spend `opts.tokens` (its share), never more than is left
      const roundStart = ledger.tokens;
      const share = opts.tokens;
      const roundLeft = () =>
        share === undefined || budget?.kind !== 'tokens'
          ? ledger.tokensLeft()
          : { tokenLimit: Math.max(0, Math.min(ledger.left(), share - (ledger.tokens - roundStart))) };
      if (config.synthesis.acquisition === 'teacher-judge') {
        // the teacher rates every candidate; its calls count against the budget
        enter('judge');
        const j = await acts.teacher.judgeDifficulty({
          config,
          task,
          round,
          candidates: rows,
          ...(judgeBatch !== undefined ? { batch: judgeBatch } : {}),
          // with a round share, half of it rates candidates and the rest expands the hardest
          ...(share !== undefined && budget?.kind === 'tokens'
            ? { tokenLimit: Math.max(0, Math.min(ledger.left(), Math.floor(share / 2))) }
            : ledger.tokensLeft()),
        });
        ledger.record({ usage: j.usage, warnings: j.warnings }, 'ees');
        const last = ledger.rounds[ledger.rounds.length - 1];
        if (last && j.acquisition) last.acquisition = j.acquisition;
        rows = j.ref;
        if (rows.count === 0 || ledger.left() <= 0) return;
        enter('extrapolate');
      }
      const wholeLeft = ledger.left();
      const limit = roundLeft();
      const r = await acts.teacher.extrapolateErrors({
        config,
        task,
        round,
        misclassified: rows,
        train: ledger.synthetic,
        ...limit,
      });
      if (config.synthesis.candidatesPerPick > 1 && r.ref.count > 0) {
        // generate–evaluate–select: the student that picked keeps one of the m candidates per
        // pick; the discarded ones were paid for and stay counted in r.usage
        enter('select candidates');
        const sel = await acts.work.selectCandidates({
          config,
          task,
          round,
          train: ledger.trainingSet(),
          candidates: r.ref,
        });
        r.ref = sel.ref;
      }
      ledger.record(r, 'ees');
      noteExhausted(r, limit.tokenLimit, wholeLeft);
    },
    async influence(round, topK) {
      await gate();
      enter('influence');
      const r = await acts.teacher.scoreInfluence({ config, task, train: ledger.synthetic, round, topK });
      return r.ref;
    },
    async useGold(which) {
      await gate();
      enter('gold data');
      const ref = await acts.teacher.useGoldData({ config, task, which });
      ledger.addGold(ref, which);
    },
    async finish() {
      ledger.filling = true;
      if (c.usesTeacher && budget)
        for (let b = 0; b < MAX_FILL_BATCHES && ledger.left() > 0; b++) {
          enter('fill-up');
          const examplesBefore = ledger.have();
          const tokensBefore = ledger.tokens;
          await steps.seed(budget.limit);
          ledger.filledUp += ledger.have() - examplesBefore;
          if (ledger.have() === examplesBefore && ledger.tokens === tokensBefore) break;
        }
      ledger.filling = false;
      if (c.usesTeacher && budget && ledger.left() > 0)
        ledger.warnings.push(
          `budget not met: ${ledger.spent()} of ${budget.limit} ${budget.kind} after ${MAX_FILL_BATCHES} fill-up batches (the teacher's outputs kept being rejected)`,
        );
      if (ledger.needsTraining()) await steps.train(ledger.rounds.length);
    },
    budgetStop: () => ledger.budgetStop(),
    stop(reason) {
      ledger.stopReason ??= reason;
    },
  };
  return { steps, lastEval: () => lastEval, enter, current: () => ({ config, task }) };
}
