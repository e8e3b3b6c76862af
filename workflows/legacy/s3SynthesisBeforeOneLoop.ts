/**
 * s3Synthesis as it was before the one loop (workflows/loop.ts): kept only so that runs
 * started before it replay and resume with the commands they recorded. s3Synthesis calls it
 * when `patched('one-loop')` is false (a history without that marker). Do not change it;
 * delete it once no such run can be open any more (see docs/architecture.md).
 *
 * S3 Alg. 1 (rationales, seed data), Alg. 2 (EES rounds), then the report.
 */
import { proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { S3Activities } from '../../activities/index.js';
import { deadlinesOf } from '../../config/deadlines.js';
import { workActivityOptions, studentActivityOptions, teacherActivityOptions } from '../activityOptions.js';
import type { S3Config } from '../../config/schema.js';
import { convergenceReason } from '../../domain/metrics.js';
import { addUsage, emptyUsage, type DatasetRef } from '../../domain/types.js';
import { progressQuery } from '../queries.js';
import { S3_PHASE, S3_ROUND, S3_VAL_ACCURACY, type RoundResult, type S3Progress, type S3Result } from '../types.js';

/**
 * @param config the validated run configuration
 * @returns as s3Synthesis
 */
export async function s3SynthesisBeforeOneLoop(config: S3Config): Promise<S3Result> {
  // Deadlines follow the teacher backend (config/deadlines.ts); teacher activities heartbeat on a timer.
  const deadlines = deadlinesOf(config);
  // Every activity heartbeats on a timer, so a killed worker is noticed within heartbeatSec, not at startToClose.
  const { prepareTask, selectCandidates, writeReport } = proxyActivities<S3Activities>(workActivityOptions(deadlines));
  // student.kind "finetune": trainAndEvaluate runs on the Python training worker's task queue
  const { trainAndEvaluate } = proxyActivities<S3Activities>(
    studentActivityOptions(workActivityOptions(deadlines), config.student),
  );
  const { synthesizeRationales, synthesizeSeed, extrapolateErrors, judgeDifficulty } = proxyActivities<S3Activities>(
    teacherActivityOptions(deadlines),
  );

  const progress: S3Progress = {
    phase: 'prepare',
    round: 0,
    rounds: [],
    usage: emptyUsage(),
    stopReason: null,
    warnings: [],
  };
  setHandler(progressQuery, () => progress);
  const enter = (phase: S3Progress['phase'], round = progress.round) => {
    progress.phase = phase;
    progress.round = round;
    if (config.searchAttributes)
      upsertSearchAttributes([
        { key: S3_PHASE, value: phase },
        { key: S3_ROUND, value: round },
      ]);
  };

  // Gold validation (drives EES) and gold test (only scores); checks inputs before any teacher call.
  const task = await prepareTask(config);

  // Alg. 1 lines 1-2: K rationales per label.
  enter('rationales');
  const rationales = await synthesizeRationales({ config, task });
  // Alg. 1 lines 3-8 (Alg. 3 / §2.4 for pairs): the seed data.
  enter('seed');
  // budget.teacherTokens: every teacher activity gets what is left, and stops before passing it
  const budget = config.budget.teacherTokens;
  const spent = () => progress.usage.promptTokens + progress.usage.completionTokens;
  const left = () => (budget === undefined ? {} : { tokenLimit: Math.max(0, budget - spent()) });
  const account = () => {
    if (budget !== undefined) progress.budget = { teacherTokens: budget, spent: spent(), remaining: budget - spent() };
  };
  progress.usage = rationales.usage;
  account();
  const seed = await synthesizeSeed({ config, task, rationales: rationales.ref, ...left() });
  progress.warnings.push(...(rationales.warnings ?? []), ...(seed.warnings ?? []));
  let roundUsage = addUsage(rationales.usage, seed.usage);
  progress.usage = roundUsage;
  account();

  const train: DatasetRef[] = [seed.ref];
  let added = seed.ref.count;
  for (let q = 0; ; q++) {
    // Alg. 2 lines 3-6: re-initialise and train the student on seed ∪ additions, predict on gold validation.
    enter('train', q);
    const ev = await trainAndEvaluate({ config, task, train, round: q });
    progress.rounds.push({
      round: q,
      origin: q === 0 ? 'seed' : 'ees',
      added,
      trainSize: ev.trainSize,
      validation: ev.validation,
      test: ev.test,
      teacher: roundUsage,
      studentMs: ev.studentMs,
      ...(ev.acquisition ? { acquisition: ev.acquisition } : {}),
      ...(ev.selection ? { selection: ev.selection } : {}),
    } satisfies RoundResult);
    if (config.searchAttributes) upsertSearchAttributes([{ key: S3_VAL_ACCURACY, value: ev.validation.accuracy }]);

    if (q >= config.synthesis.rounds) break;
    if (budget !== undefined && spent() >= budget) {
      progress.stopReason = `teacher token budget spent (${spent()} of ${budget})`;
      break;
    }
    const history = progress.rounds.map((r) => r.validation.accuracy);
    progress.stopReason = convergenceReason(history, ev.validation.misclassified, config.synthesis.epsilon);
    if (progress.stopReason) break;

    // Alg. 2 lines 7-10 (Alg. 3 for pairs): one new example per misclassified gold validation example.
    enter('extrapolate', q + 1);
    let toExpand = ev.misclassified;
    if (config.synthesis.acquisition === 'teacher-judge') {
      // the teacher rates every candidate 1-5 and the hardest synthesis.maxPerRound are expanded
      const j = await judgeDifficulty({
        config,
        task,
        round: q + 1,
        candidates: ev.misclassified,
        ...(config.synthesis.maxPerRound ? { batch: config.synthesis.maxPerRound } : {}),
        ...left(),
      });
      progress.warnings.push(...(j.warnings ?? []));
      const last = progress.rounds[progress.rounds.length - 1];
      if (j.acquisition) last.acquisition = j.acquisition;
      progress.usage = addUsage(progress.usage, j.usage);
      account();
      roundUsage = j.usage;
      toExpand = j.ref;
    }
    const extra = await extrapolateErrors({ config, task, round: q + 1, misclassified: toExpand, train, ...left() });
    // generate–evaluate–select: the student that picked keeps one of the m candidates per pick
    // (absent from histories recorded before candidatesPerPick existed: their default is 1)
    if (config.synthesis.candidatesPerPick > 1 && extra.ref.count > 0)
      extra.ref = (await selectCandidates({ config, task, round: q + 1, train, candidates: extra.ref })).ref;
    train.push(extra.ref);
    progress.warnings.push(...(extra.warnings ?? []));
    added = extra.ref.count;
    roundUsage = config.synthesis.acquisition === 'teacher-judge' ? addUsage(roundUsage, extra.usage) : extra.usage;
    progress.usage = addUsage(progress.usage, extra.usage);
    account();
  }

  // Alg. 2 line 11: D_train = seed ∪ all additions; the last round's student was trained on it.
  enter('report');
  const report = await writeReport({
    config,
    task,
    train,
    rounds: progress.rounds,
    usage: progress.usage,
    stopReason: progress.stopReason,
    startedAt: workflowInfo().startTime.getTime(),
    warnings: progress.warnings,
  });
  enter('done');
  return {
    ...report,
    rounds: progress.rounds,
    usage: progress.usage,
    stopReason: progress.stopReason,
    warnings: progress.warnings,
  };
}
