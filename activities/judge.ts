/** The teacher-judge acquisition (acquisition/teacherJudge.ts): the teacher rates each candidate's difficulty and the hardest are expanded. */

import type { S3Config } from '../config/schema.js';
import { scoreSummary } from '../acquisition/summary.js';
import { parseRating, pickTeacherJudge } from '../acquisition/teacherJudge.js';
import { labelWord, renderPrompt } from '../domain/prompts.js';
import { Rng } from '../domain/rng.js';
import { emptyUsage, sampleIndexOf, MisclassifiedRowSchema, type DatasetRef } from '../domain/types.js';
import { isRefusal } from '../teacher/index.js';
import { taskKindOf } from '../tasks/index.js';
import type { TaskRefs } from './prepare.js';
import type { ActivityDeps } from './deps.js';
import { TeacherSession, tokenBudget, type SynthesisResult } from './teacherSession.js';

/** Input of judgeDifficulty. */
export interface JudgeInput {
  config: S3Config;
  task: TaskRefs;
  round: number;
  /** every pool candidate (JSONL of MisclassifiedRow, from trainAndEvaluate with teacher-judge) */
  candidates: DatasetRef;
  /** B: how many to pick (default: as many as the student misclassifies among the candidates) */
  batch?: number;
  /** stop asking once this many prompt + completion tokens were spent (token budgets) */
  tokenLimit?: number;
}

/**
 * The teacher-judge acquisition (Kessler et al. 2025's LLM-specific kind of selector): the
 * teacher rates each candidate's difficulty 1 (easy) … 5 (hard) with T_judge, and the B
 * hardest are picked (acquisition/teacherJudge.ts; unparsable answers are skipped and counted).
 * Its calls count against the budget like any other: with a token limit the candidates are
 * asked in a seeded random order until it is reached, and only the ones rated by then can be
 * picked.
 * @returns reference to round-<q>/judged.jsonl (the picked rows, hardest first, score =
 *   rating) and the usage;
 *   every rating is in round-<q>/judge-ratings.jsonl
 */
export async function judgeDifficulty(deps: ActivityDeps, input: JudgeInput): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config, round } = input;
    const { item, labelWords, prompts } = config.task;
    const kind = taskKindOf(config.task);
    const judge = kind.template('judge', prompts);
    const run = teacher.artifacts;
    const pool = await run.store.getJsonl(input.candidates, MisclassifiedRowSchema, { allowEmpty: true });
    // under a token limit only the candidates rated before it is reached can be picked: rate
    // them in a seeded random order, not always the first items of the pool
    const rows = input.tokenLimit === undefined ? pool : new Rng(config.seed, `judge-order-${round}`).shuffle(pool);
    const calls = rows.map((r) => {
      const label = labelWord(r.example.label, labelWords);
      const vars = kind.showExample(r.example, { item, label });
      return { prompt: renderPrompt(judge, vars), sampleIndex: sampleIndexOf(round * 1_000_000 + r.index, 0) };
    });
    const usage = emptyUsage();
    const ratings: (number | null)[] = rows.map(() => null);
    const budget = tokenBudget(input.tokenLimit);
    const counted = await teacher.askWithin(calls, usage, { phase: 'judge', round }, budget);
    counted.forEach((r, i) => (ratings[i] = isRefusal(r) ? null : parseRating(r.text)));
    // asked (within the token limit) but answered without a 1-5 rating
    const unrated = counted.filter((_, i) => ratings[i] === null).length;
    const unasked = rows.length - counted.length;
    const wrong = rows.filter((r) => kind.isMisclassified(r.predicted, r.example)).length;
    const picks = pickTeacherJudge({
      ids: rows.map((r) => r.example.id),
      probs: rows.map(() => [1]),
      labels: rows.map(() => null),
      batch: Math.min(input.batch ?? wrong, rows.length),
      seed: config.seed,
      judgeScores: ratings,
    });
    await run.store.putJsonl(
      run.key(`round-${round}`, 'judge-ratings.jsonl'),
      rows.map((r, i) => ({ id: r.example.id, label: r.example.label, rating: ratings[i] })),
    );
    // hardest first: a token-limited extrapolation expands them in this order
    const picked = picks.map((p) => ({ ...rows[p.index], acquisition: 'teacher-judge', score: p.score }));
    const warnings = [
      ...(unrated
        ? [
            `teacher-judge round ${round}: ${unrated} of ${counted.length} rated candidates got no 1-5 rating (not picked)`,
          ]
        : []),
      ...(unasked
        ? [
            `teacher-judge round ${round}: ${counted.length} of ${rows.length} candidates rated within the round's token share`,
          ]
        : []),
    ];
    return {
      ref: await run.store.putJsonl(run.key(`round-${round}`, 'judged.jsonl'), picked, {
        labelOf: (r) => r.example.label,
      }),
      rejectedRef: await run.store.putJsonl(run.key(`round-${round}`, 'judge.rejected.jsonl'), []),
      usage,
      warnings,
      ...(budget.limit !== undefined ? { budgetExhausted: budget.exhausted } : {}),
      acquisition: {
        name: 'teacher-judge',
        pool: rows[0]?.pool ?? 'gold-validation',
        candidates: rows.length,
        picked: scoreSummary(picks),
      },
    };
  });
}
