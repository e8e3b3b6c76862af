/**
 * One arm of an experiment on one seed: runs its method (methods/) under the experiment's
 * budget and returns an ArmSeedResult. Started by s3Experiment as child workflow
 * `<experiment>/<arm>/seed-<s>`; also startable on its own.
 *
 * This file implements the steps every method is written in (methods/types.ts ArmSteps) with
 * activities, and keeps the bookkeeping: the training set (references only), the rounds, the
 * teacher usage, and the budget. Deterministic orchestration only.
 */
import { defineQuery, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ExperimentActivities } from '../activities/index.js';
import { armName, type ArmConfig } from '../config/experiment.js';
import { deadlinesOf } from '../config/deadlines.js';
import { studentActivityOptions, teacherActivityOptions } from './activityOptions.js';
import type { S3Config } from '../config/schema.js';
import type { ArmSeedResult, Budget } from '../domain/experiment.js';
import { convergenceReason } from '../domain/metrics.js';
import { addUsage, emptyUsage, type DatasetRef, type RoundResult, type TeacherUsage } from '../domain/types.js';
import { METHODS, type ArmSteps, type TrainedRound } from '../methods/index.js';

/** Input of one arm run (built by s3Experiment; no secrets: the config names env vars only). */
export interface ArmInput {
  experimentId: string;
  arm: ArmConfig;
  seed: number;
  /** the run configuration of this (arm, seed) (config/experiment.ts armConfig) */
  config: S3Config;
  budget: Budget;
  /** run the data-quality study (S3 Tables 6 and 8) on the final training set (absent: no) */
  quality?: boolean;
}

/** Live state of an arm (Query `progress`). */
export interface ArmProgress {
  phase: string;
  round: number;
  /** synthetic examples in the training set */
  examples: number;
  /** budget units spent */
  spent: number;
  rounds: RoundResult[];
}

export const armProgressQuery = defineQuery<ArmProgress>('progress');

/** Most fill-up seed batches one arm makes before it reports the budget as unmet. */
const MAX_FILL_BATCHES = 5;

/**
 * @returns the arm's ArmSeedResult (status "completed")
 * @throws ApplicationFailure from the activities (InvalidInput etc.); the parent records a
 *   failed child as status "failed" with its message
 */
export async function synthesisArm(input: ArmInput): Promise<ArmSeedResult> {
  const { config, budget, arm } = input;
  const method = METHODS[arm.method];
  const deadlines = deadlinesOf(config);
  const acts = proxyActivities<ExperimentActivities>(teacherActivityOptions(deadlines));
  // student.kind "finetune": trainAndEvaluate runs on the Python training worker's task queue
  const student = proxyActivities<ExperimentActivities>(
    studentActivityOptions(teacherActivityOptions(deadlines), config.student),
  );
  const startedAt = workflowInfo().startTime.getTime();

  const synthetic: DatasetRef[] = [];
  const gold: DatasetRef[] = [];
  let usage: TeacherUsage = emptyUsage();
  let pendingUsage: TeacherUsage = emptyUsage();
  let tokens = 0;
  let nextSeedIndex = 0;
  let filledUp = 0;
  let dirty = false;
  let addedOrigin: RoundResult['origin'] = 'seed';
  let added = 0;
  let trainedOnValidation = false;
  let filling = false;
  /** the pick size of the latest round, for the teacher-judge acquisition */
  let judgeBatch: number | undefined;
  let stopReason: string | null = null;
  let lastEval: Awaited<ReturnType<ExperimentActivities['trainAndEvaluate']>> | null = null;
  const warnings: string[] = [];
  const progress: ArmProgress = { phase: 'prepare', round: 0, examples: 0, spent: 0, rounds: [] };
  setHandler(armProgressQuery, () => progress);

  const have = () => synthetic.reduce((n, r) => n + r.count, 0);
  const spent = () => (budget.kind === 'examples' ? have() : tokens);
  /** set when a teacher activity given all the tokens left stopped because its next call would
   * pass them: the remainder buys no call, so the budget counts as spent */
  let budgetDone = false;
  const left = () => (budgetDone ? 0 : budget.limit - spent());
  /** after a teacher activity that was given `limit` tokens when `wholeLeft` were left */
  const noteExhausted = (r: { budgetExhausted?: boolean }, limit: number | undefined, wholeLeft: number) => {
    if (r.budgetExhausted && limit !== undefined && limit >= wholeLeft && patched('token-budget-remainder'))
      budgetDone = true;
  };
  /** the tokens left, as a teacher activity's `tokenLimit` (token budgets only) */
  const tokensLeft = () => (budget.kind === 'tokens' ? { tokenLimit: Math.max(0, left()) } : {});
  const record = (r: { usage: TeacherUsage; warnings?: string[]; ref?: DatasetRef }, origin: RoundResult['origin']) => {
    usage = addUsage(usage, r.usage);
    pendingUsage = addUsage(pendingUsage, r.usage);
    tokens += r.usage.promptTokens + r.usage.completionTokens;
    warnings.push(...(r.warnings ?? []));
    if (r.ref) {
      synthetic.push(r.ref);
      added += r.ref.count;
      if (r.ref.count) dirty = true;
      addedOrigin = filling ? 'fill' : origin;
    }
    progress.examples = have();
    progress.spent = spent();
  };

  const task = await acts.prepareTask(config);
  warnings.push(...(task.warnings ?? []));
  let rationales: DatasetRef | null = null;

  const steps: ArmSteps = {
    options: arm,
    budget,
    rounds: config.synthesis.rounds,
    left,
    async rationales() {
      progress.phase = 'rationales';
      const r = await acts.synthesizeRationales({ config, task });
      rationales = r.ref;
      record({ usage: r.usage, warnings: r.warnings }, 'seed'); // not training data
    },
    async seed(limit, icl) {
      if (!rationales) await steps.rationales(); // plain-prompt methods: an empty list, no teacher call
      const ration = rationales!;
      progress.phase = filling ? 'fill-up' : icl ? `progen round ${icl.round}` : 'seed';
      if (budget.kind === 'examples') {
        const count = Math.round(limit) - have();
        if (count <= 0) return;
        const r = await acts.synthesizeSeed({
          config,
          task,
          rationales: ration,
          ...(icl
            ? { inContext: icl.ref, round: icl.round, from: 0, count, file: `icl-round-${icl.round}` }
            : { from: nextSeedIndex, count, file: nextSeedIndex ? `seed-from-${nextSeedIndex}` : 'seed' }),
        });
        if (!icl) nextSeedIndex += count;
        record(r, icl ? 'icl' : 'seed');
        return;
      }
      // token budget: batches of seedSize prompts until `limit` tokens are spent
      for (let batch = 0, from = 0; batch < 20 && tokens < limit; batch++) {
        const count = config.synthesis.seedSize;
        const start = icl ? from : nextSeedIndex;
        const wholeLeft = left();
        const tokenLimit = Math.floor(limit) - tokens;
        const r = await acts.synthesizeSeed({
          config,
          task,
          rationales: ration,
          from: start,
          count,
          tokenLimit,
          ...(icl
            ? { inContext: icl.ref, round: icl.round, file: `icl-round-${icl.round}-from-${start}` }
            : { file: start ? `seed-from-${start}` : 'seed' }),
        });
        if (icl) from += count;
        else nextSeedIndex += count;
        record(r, icl ? 'icl' : 'seed');
        noteExhausted(r, tokenLimit, wholeLeft);
        if (r.budgetExhausted || r.usage.calls === 0) break;
      }
    },
    async train(round, opts = {}) {
      progress.phase = 'train';
      progress.round = round;
      const limit =
        budget.kind === 'examples' || opts.batch !== undefined
          ? Math.max(0, Math.min(budget.kind === 'examples' ? left() : Infinity, opts.batch ?? Infinity))
          : undefined;
      judgeBatch = limit;
      const ev = await student.trainAndEvaluate({
        config,
        task,
        train: [...synthetic, ...gold],
        round,
        select: { all: opts.all, ...(limit !== undefined ? { limit } : {}), ...(opts.ranked ? { ranked: true } : {}) },
      });
      lastEval = ev;
      progress.rounds.push({
        round,
        origin: addedOrigin,
        added,
        trainSize: ev.trainSize,
        validation: ev.validation,
        test: ev.test,
        teacher: pendingUsage,
        studentMs: ev.studentMs,
        ...(ev.acquisition ? { acquisition: ev.acquisition } : {}),
        ...(ev.selection ? { selection: ev.selection } : {}),
      });
      pendingUsage = emptyUsage();
      added = 0;
      dirty = false;
      const history = progress.rounds.map((r) => r.validation.accuracy);
      return {
        round,
        validationAccuracy: ev.validation.accuracy,
        toExtrapolate: ev.misclassified,
        converged: convergenceReason(history, ev.validation.misclassified, config.synthesis.epsilon),
      } satisfies TrainedRound;
    },
    async extrapolate(round, picked, opts = {}) {
      let rows = picked;
      progress.phase = 'extrapolate';
      progress.round = round;
      if (rows.count === 0) return;
      // token budgets: this round may spend `opts.tokens` (its share), never more than is left
      const roundStart = tokens;
      const share = opts.tokens;
      const roundLeft = () =>
        share === undefined || budget.kind !== 'tokens'
          ? tokensLeft()
          : { tokenLimit: Math.max(0, Math.min(left(), share - (tokens - roundStart))) };
      if (config.synthesis.acquisition === 'teacher-judge') {
        // the teacher rates every candidate; its calls count against the budget
        progress.phase = 'judge';
        const j = await acts.judgeDifficulty({
          config,
          task,
          round,
          candidates: rows,
          ...(judgeBatch !== undefined ? { batch: judgeBatch } : {}),
          // with a round share, half of it rates candidates and the rest expands the hardest
          ...(share !== undefined && budget.kind === 'tokens'
            ? { tokenLimit: Math.max(0, Math.min(left(), Math.floor(share / 2))) }
            : tokensLeft()),
        });
        record({ usage: j.usage, warnings: j.warnings }, 'ees');
        const last = progress.rounds[progress.rounds.length - 1];
        if (last && j.acquisition) last.acquisition = j.acquisition;
        rows = j.ref;
        if (rows.count === 0 || left() <= 0) return;
        progress.phase = 'extrapolate';
      }
      const wholeLeft = left();
      const limit = roundLeft();
      const r = await acts.extrapolateErrors({
        config,
        task,
        round,
        misclassified: rows,
        train: synthetic,
        ...limit,
      });
      if (config.synthesis.candidatesPerPick > 1 && r.ref.count > 0) {
        // generate–evaluate–select: the student that picked keeps one of the m candidates per
        // pick; the discarded ones were paid for and stay counted in r.usage
        progress.phase = 'select candidates';
        const sel = await acts.selectCandidates({
          config,
          task,
          round,
          train: [...synthetic, ...gold],
          candidates: r.ref,
        });
        r.ref = sel.ref;
      }
      record(r, 'ees');
      noteExhausted(r, 'tokenLimit' in limit ? limit.tokenLimit : undefined, wholeLeft);
      if (r.budgetExhausted && left() <= 0) stopReason = 'token budget spent';
    },
    async influence(round, topK) {
      progress.phase = 'influence';
      const r = await acts.scoreInfluence({ config, task, train: synthetic, round, topK });
      return r.ref;
    },
    async useGold(which) {
      progress.phase = 'gold data';
      const ref = await acts.useGoldData({ config, task, which });
      gold.push(ref);
      added += ref.count;
      addedOrigin = 'gold';
      dirty = true;
      if (which === 'validation') trainedOnValidation = true;
    },
    async finish() {
      filling = true;
      if (method.usesTeacher)
        for (let b = 0; b < MAX_FILL_BATCHES && left() > 0; b++) {
          progress.phase = 'fill-up';
          const examplesBefore = have();
          const tokensBefore = tokens;
          await steps.seed(budget.limit);
          filledUp += have() - examplesBefore;
          if (have() === examplesBefore && tokens === tokensBefore) break;
        }
      filling = false;
      if (method.usesTeacher && left() > 0)
        warnings.push(
          `budget not met: ${spent()} of ${budget.limit} ${budget.kind} after ${MAX_FILL_BATCHES} fill-up batches (the teacher's outputs kept being rejected)`,
        );
      if (dirty || !lastEval) await steps.train(progress.rounds.length);
    },
  };

  await method.run(steps);
  progress.phase = 'save';
  const last = progress.rounds[progress.rounds.length - 1];
  const final = lastEval as Awaited<ReturnType<ExperimentActivities['trainAndEvaluate']>> | null;
  const dataset = await acts.mergeTrainingSet({ config, task, train: [...synthetic, ...gold] });
  const result: ArmSeedResult = {
    experimentId: input.experimentId,
    arm: armName(arm),
    method: arm.method,
    seed: input.seed,
    workflowId: workflowInfo().workflowId,
    status: 'completed',
    runDir: task.runDir,
    budget,
    used: {
      syntheticExamples: have(),
      goldExamples: gold.reduce((n, r) => n + r.count, 0),
      tokens,
      paidCalls: usage.calls - usage.cachedCalls,
      reusedCalls: usage.cachedCalls,
      filledUp,
    },
    rounds: progress.rounds,
    test: final ? final.test : null,
    validation: final && !trainedOnValidation ? final.validation : null,
    usage,
    dataset,
    stopReason: stopReason ?? (last ? null : 'no student trained'),
    warnings,
    wallMs: Date.now() - startedAt,
  };
  if (input.quality && dataset.count > 0) {
    progress.phase = 'quality';
    try {
      result.quality = await acts.studyQuality({
        config,
        task,
        arm: result.arm,
        seed: input.seed,
        dataset,
        outDir: `${task.runDir}/quality`,
      });
    } catch (err) {
      warnings.push(`data-quality study failed: ${(err as Error).message}`);
    }
  }
  await acts.saveArmResult({ config, result, armInput: input });
  progress.phase = 'done';
  return result;
}
