/** S3 Alg. 2 lines 8-10 (Alg. 3 for pairs): error extrapolation, one new example per picked pool item (T_mis). */

import type { S3Config } from '../config/schema.js';
import { labelWord } from '../domain/prompts.js';
import { MisclassifiedRowSchema, SyntheticExampleSchema, type DatasetRef } from '../domain/types.js';
import { taskKindOf } from '../tasks/index.js';
import type { TaskRefs } from './prepare.js';
import type { ActivityDeps } from './deps.js';
import { TeacherSession, planned, synthesizeExamples, type SynthesisResult, type Want } from './teacherSession.js';

/** Input of extrapolateErrors (`tokenLimit` and `file` are absent in old histories). */
export interface ExtrapolateInput {
  config: S3Config;
  task: TaskRefs;
  round: number;
  /** JSONL of MisclassifiedRow: the gold validation examples to extrapolate */
  misclassified: DatasetRef;
  /** the current training data (its texts count as already seen for de-duplication) */
  train: DatasetRef[];
  /** stop once this many prompt + completion tokens were spent (token budgets) */
  tokenLimit?: number;
}

/** Slot offset of candidate j (generate–evaluate–select): slot + j · 1e9, beyond any round's
 * slots (round · 1e6 + pool index), so candidates never share a sample index. */
export const CANDIDATE_SLOT_STRIDE = 1_000_000_000;

/**
 * Alg. 2 lines 8-10 (Alg. 3 for pairs): for each misclassified gold validation example
 * (x, y) the teacher writes one new example similar to x with label y (T_mis); pair tasks
 * keep the context c and synthesize only the target sentence.
 * @param input.misclassified reference to round-(q-1)/misclassified.jsonl
 * @param input.train the current training data (its texts count as already seen for de-duplication)
 * With synthesis.candidatesPerPick = m > 1 the teacher writes m candidates per row (ids
 * `<id>-c<j>`, provenance.acquisition.candidate), all counted in the usage; the workflow then
 * has the student keep one per row (selectCandidates).
 * @returns reference to synthetic/ees-round-<q>.jsonl (origin "ees", round q)
 */
export async function extrapolateErrors(deps: ActivityDeps, input: ExtrapolateInput): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config, round } = input;
    const { item, labelWords, prompts } = config.task;
    const kind = taskKindOf(config.task);
    const picked = await teacher.artifacts.store.getJsonl(input.misclassified, MisclassifiedRowSchema, {
      allowEmpty: true,
    });
    const m = config.synthesis.candidatesPerPick;
    const base: Want[] = picked.map(({ index, example: x, acquisition, score, pool, rationales }) => ({
      ...(acquisition !== undefined && score !== undefined
        ? { acquisition: { name: acquisition, score, poolItem: x.id, pool: pool ?? 'gold-validation' } }
        : {}),
      id: `ees${round}-${x.id}`,
      label: x.label,
      misclassifiedId: x.id,
      slot: round * 1_000_000 + index,
      // T_mis with x; for a synthetic pool item of a kind with rationales, T_query with its rationales
      ...planned(kind.eesPrompt(x, rationales, { prompts, item, label: labelWord(x.label, labelWords) })),
    }));
    // generate–evaluate–select: m candidates per pick (candidate j > 0 in its own slot range),
    // the student keeps one of them later (selectCandidates)
    const wants: Want[] =
      m === 1
        ? base
        : base.flatMap((w) =>
            Array.from({ length: m }, (_, j) => ({
              ...w,
              id: `${w.id}-c${j}`,
              slot: w.slot + j * CANDIDATE_SLOT_STRIDE,
              ...(w.acquisition ? { acquisition: { ...w.acquisition, candidate: { index: j, of: m } } } : {}),
            })),
          );
    const seen: string[] = [];
    for (const ref of input.train)
      for (const r of await teacher.artifacts.store.getJsonl(ref, SyntheticExampleSchema, { allowEmpty: true }))
        seen.push(kind.target(r));
    return synthesizeExamples(teacher, wants, {
      origin: 'ees',
      gold: input.task,
      round,
      file: ['synthetic', `ees-round-${round}`],
      seen,
      tokenLimit: input.tokenLimit,
    });
  });
}
