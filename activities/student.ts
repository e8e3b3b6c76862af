/**
 * trainAndEvaluate: S3 Alg. 2 lines 3-6 — re-initialise the student, train it on
 * seed ∪ all additions, predict on the gold validation set (whose errors EES extrapolates)
 * and on the gold test set (only reported).
 */
import type { S3Config } from '../config/schema.js';
import { ACQUISITIONS, pickBatch, scoreSummary, type AcquisitionName } from '../acquisition/index.js';
import { crossEntropy } from '../acquisition/types.js';
import { denseFeatures } from '../acquisition/dense.js';
import { splitHoldout } from '../acquisition/holdout.js';
import { classQuotas, countByClass, interleaveByClass, takeWithinQuotas } from '../acquisition/classCap.js';
import { argmax, selectAll } from '../domain/metrics.js';
import { Rng } from '../domain/rng.js';
import {
  ExampleSchema,
  type DatasetRef,
  type Example,
  type AcquisitionRecord,
  type PickedRow,
  type SplitMetrics,
} from '../domain/types.js';
import type { ArtifactStore } from '../store/index.js';
import { createStudent, type FitStats, type Student } from '../student/index.js';
import { taskKindOf, type TaskKind } from '../tasks/index.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity } from './context.js';
import type { StoreDeps } from './deps.js';
import { embeddingCacheOf, runArtifacts, studentConfigOf } from './paths.js';

export interface Evaluation {
  round: number;
  trainSize: number;
  fit: FitStats;
  validation: SplitMetrics;
  test: SplitMetrics;
  /** D_mis^(q) (or another rule's picks): round-<q>/picked.jsonl (capped by synthesis.maxPerRound: a seeded uniform sample) */
  misclassified: DatasetRef;
  /** wall time of training + prediction, ms */
  studentMs: number;
  /** with synthesis.validationHoldout > 0: scores on the selection part (validation is the dev part) */
  selection?: SplitMetrics;
  /** what the acquisition function picked (absent for GoldGen's pass over every example) */
  acquisition?: AcquisitionRecord;
}

/**
 * @param input.train the synthetic datasets to train on (seed ∪ additions), JSONL of examples
 * @param input.round q (0 = seed round); names the output folder round-<q>/
 * @param deps the artifact store (createActivities binds the worker's; default: local folders)
 * @throws ApplicationFailure InvalidInput when the training data is empty
 */
export async function trainAndEvaluate(
  input: {
    config: S3Config;
    task: TaskRefs;
    train: DatasetRef[];
    round: number;
    /** which gold validation examples to hand to extrapolation (absent in old histories:
     * the misclassified ones, capped by synthesis.maxPerRound). `all`: every example (GoldGen);
     * `limit`: a further cap (the budget left): a seeded uniform sample of the misclassified
     * (acquisition/misclassified.ts), and of every example with `all`; `ranked`: the acquisition function ranks every eligible
     * pool item (no cap), for a teacher that expands them best first within a token share */
    select?: { all?: boolean; limit?: number; ranked?: boolean };
  },
  deps: StoreDeps = {},
): Promise<Evaluation> {
  const beat: Record<string, unknown> = { phase: 'read', round: input.round };
  return runActivity(
    input.config,
    () => beat,
    async () => {
      const { config, task, round } = input;
      const t0 = Date.now();
      const labels = config.task.labels;
      const kind = taskKindOf(config.task);
      const run = runArtifacts(deps, config);
      const validation = await run.store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true });
      const test = await run.store.getJsonl(task.test, ExampleSchema, { allowEmpty: true });
      const { student, train, fit } = await fitStudent(run.store, config, task, input.train, round, beat, deps);
      beat.phase = 'predict';
      const pv = await student.predictProba(validation);
      const pt = await student.predictProba(test);
      const predicted = (p: number[][]) => p.map((row) => labels[argmax(row)]);
      const goldIdx = validation.map((x) => labels.indexOf(x.label));

      // dev part (synthesis.validationHoldout): never a candidate, scores convergence and reporting
      const { selection, dev } = splitHoldout(validation.length, config.synthesis.validationHoldout, config.seed);
      const predV = predicted(pv);
      const caps = [config.synthesis.maxPerRound, input.select?.limit].filter((c): c is number => c !== undefined);
      const cap = caps.length ? Math.min(...caps) : undefined;
      beat.phase = 'select';
      const { rows, acquisition } = input.select?.all
        ? goldgenRows(pv, goldIdx, cap, validation, predV, new Rng(config.seed, `goldgen-${round}`))
        : await pickRows({
            config,
            kind,
            round,
            student,
            train,
            validation,
            selection,
            pv,
            goldIdx,
            predV,
            labels,
            cap,
            ranked: input.select?.ranked === true,
          });
      const misclassified = await run.store.putJsonl(run.key(`round-${round}`, 'picked.jsonl'), rows, {
        labelOf: (r) => r.example.label,
      });
      const score = (idx: number[]) =>
        kind.score(
          idx.map((i) => validation[i]),
          idx.map((i) => predV[i]),
          labels,
        );
      return {
        round,
        trainSize: train.length,
        fit,
        validation: score(dev.length ? dev : selection),
        ...(dev.length ? { selection: score(selection) } : {}),
        ...(acquisition ? { acquisition } : {}),
        test: kind.score(test, predicted(pt), labels),
        misclassified,
        studentMs: Date.now() - t0,
      };
    },
  );
}

/**
 * Reads the training set and fits a fresh student on it (S3 Alg. 2 line 3: re-initialised
 * every round). The same inputs and config give the same student (students are seeded and
 * deterministic), so selectCandidates re-fits exactly the student trainAndEvaluate scored.
 * @param store the artifact store the references are read from
 * @param trainRefs JSONL of examples (synthetic rows keep their provenance: passthrough)
 * @param beat heartbeat details, updated with the phase and the training-set size
 * @param deps opens the shared embedding cache when there is one (activities/paths.ts embeddingCacheOf)
 * @throws ApplicationFailure InvalidInput when the training set is empty
 */
export async function fitStudent(
  store: ArtifactStore,
  config: S3Config,
  task: TaskRefs,
  trainRefs: DatasetRef[],
  round: number,
  beat: Record<string, unknown>,
  deps: StoreDeps = {},
): Promise<{ student: Student; train: Example[]; fit: FitStats }> {
  const train: Example[] = [];
  // passthrough: synthetic rows keep their provenance (the synthetic pool reads its rationales)
  for (const ref of trainRefs)
    train.push(...(await store.getJsonl(ref, ExampleSchema.passthrough(), { allowEmpty: true })));
  if (train.length === 0)
    throw invalidInput(
      `no synthetic examples to train on in round ${round}: every teacher output was rejected (see ${task.runDir}/synthetic/*.rejected.jsonl)`,
    );
  Object.assign(beat, { phase: 'fit', trainSize: train.length });
  const student = createStudent(studentConfigOf(config), embeddingCacheOf(deps, config));
  const fit = await student.fit(train, config.task.labels);
  return { student, train, fit };
}

/**
 * The student's features h(x) an acquisition function needs (acquisition/dense.ts: encoder
 * embeddings as they are, TF-IDF rows randomly projected to the head's dimension, seeded):
 * `features` for the items, and for coreset `trainFeatures` for the training set; both
 * undefined when the function needs none (or there are no items).
 */
export async function acquisitionFeatures(
  name: AcquisitionName,
  student: Student,
  items: Example[],
  train: Example[],
  seed: number,
): Promise<{ features?: number[][]; trainFeatures?: number[][] }> {
  if (!ACQUISITIONS[name].needsFeatures || items.length === 0) return {};
  const dim = student.head().dim;
  return {
    features: denseFeatures(await student.features(items), dim, seed),
    ...(name === 'coreset' ? { trainFeatures: denseFeatures(await student.features(train), dim, seed) } : {}),
  };
}

/** GoldGen (S3 §3.2): every gold validation example, a seeded uniform sample within the cap. */
function goldgenRows(
  pv: number[][],
  goldIdx: number[],
  cap: number | undefined,
  validation: Example[],
  predV: string[],
  rng: Rng,
): { rows: PickedRow[]; acquisition?: AcquisitionRecord } {
  const rows = selectAll(pv, goldIdx, cap, rng).map((m) => ({
    index: m.index,
    loss: m.loss,
    predicted: predV[m.index],
    example: validation[m.index],
  }));
  return { rows };
}

/**
 * The pool items the acquisition function (synthesis.acquisition) picks for the teacher to
 * expand (S3 Alg. 2 line 6 for "misclassified"; Kessler et al. 2025 for the others).
 * - pool "gold-validation": the selection part of gold validation, labeled by humans;
 * - pool "synthetic": the synthetic training examples, labeled by the label the teacher was
 *   asked for (their rationales go with them, so the new example is asked with T_query).
 * teacher-judge: every candidate is returned unpicked (judgeDifficulty asks the teacher).
 * Batch size: `cap` (synthesis.maxPerRound and the budget left); without a cap,
 * "misclassified" takes every misclassified item and the other functions as many items as
 * are misclassified in the pool (as many as S3 would extrapolate); `ranked`: every eligible
 * item (the teacher then expands them best first until its token share is spent).
 * @returns rows with the function's score, in pick order (best first, so that a token budget
 *   is spent on the best picks first) — in pool order for "misclassified" (S3 unchanged) —
 *   and a summary of the picked scores
 */
async function pickRows(a: {
  config: S3Config;
  kind: TaskKind;
  round: number;
  student: Student;
  train: Example[];
  validation: Example[];
  selection: number[];
  pv: number[][];
  goldIdx: number[];
  predV: string[];
  labels: string[];
  cap: number | undefined;
  ranked: boolean;
}): Promise<{ rows: PickedRow[]; acquisition: AcquisitionRecord }> {
  const { config, labels } = a;
  const name = config.synthesis.acquisition;
  const pool = config.synthesis.pool;
  type Candidate = { example: Example; probs: number[]; label: number; rationales?: string[]; index: number };
  let candidates: Candidate[];
  if (pool === 'gold-validation')
    candidates = a.selection.map((i) => ({ example: a.validation[i], probs: a.pv[i], label: a.goldIdx[i], index: i }));
  else {
    const synthetic = a.train.filter((x) => 'provenance' in x) as (Example & {
      provenance?: { rationales?: string[] };
    })[];
    const probs = synthetic.length ? await a.student.predictProba(synthetic) : [];
    candidates = synthetic.map((x, i) => ({
      // the example without its provenance: id, the task kind's input fields, label
      example: { id: x.id, ...a.kind.inputOf(x), label: x.label },
      probs: probs[i],
      label: labels.indexOf(x.label),
      rationales: x.provenance?.rationales ?? [],
      index: i,
    }));
  }
  const wrong = candidates.filter((c) => a.kind.isMisclassified(labels[argmax(c.probs)], c.example)).length;
  if (name === 'teacher-judge') {
    // every candidate goes to the judgeDifficulty activity, which asks the teacher and picks
    const all: PickedRow[] = candidates.map((c) => ({
      index: c.index,
      loss: crossEntropy(c.probs, c.label),
      predicted: labels[argmax(c.probs)],
      example: c.example,
      pool,
      ...(pool === 'synthetic' ? { rationales: c.rationales ?? [] } : {}),
    }));
    return { rows: all, acquisition: { name, pool, candidates: candidates.length, picked: null } };
  }
  const batch = a.ranked
    ? candidates.length
    : Math.min(candidates.length, a.cap ?? (name === 'misclassified' ? candidates.length : wrong));
  const { features, trainFeatures } = await acquisitionFeatures(
    name,
    a.student,
    candidates.map((c) => c.example),
    a.train,
    config.seed,
  );
  // synthesis.classCap: the rule ranks every eligible item, then each class takes at most its quota
  const classCap = config.synthesis.classCap;
  const ranked = pickBatch(name, {
    ids: candidates.map((c) => c.example.id),
    probs: candidates.map((c) => c.probs),
    labels: candidates.map((c) => c.label),
    batch: classCap === 'none' ? batch : candidates.length,
    seed: config.seed * 1000 + a.round,
    features,
    trainFeatures,
  });
  const classOf = (p: { index: number }) => candidates[p.index].label;
  const prior = classPrior(a.goldIdx, labels.length);
  const picks =
    classCap === 'none'
      ? ranked
      : a.ranked
        ? // token budgets: any prefix the teacher gets to keeps each class near its share
          interleaveByClass(classCap, ranked, classOf, prior)
        : takeWithinQuotas(ranked, classOf, batch, classQuotas(classCap, batch, prior));
  // the teacher is asked in row order: best first (token budgets expand a prefix); S3's rule
  // hands its picks over in pool order unless ranked (then its seeded uniform order)
  const ordered =
    name === 'misclassified' && !a.ranked
      ? [...picks].sort((x, y) => candidates[x.index].index - candidates[y.index].index)
      : picks;
  const rows: PickedRow[] = ordered.map((p) => {
    const c = candidates[p.index];
    return {
      index: c.index,
      loss: crossEntropy(c.probs, c.label),
      predicted: labels[argmax(c.probs)],
      example: c.example,
      acquisition: name,
      score: p.score,
      pool,
      ...(pool === 'synthetic' ? { rationales: c.rationales ?? [] } : {}),
    };
  });
  return {
    rows,
    acquisition: {
      name,
      pool,
      candidates: candidates.length,
      picked: scoreSummary(picks),
      byClass: countByClass(
        picks.map((p) => candidates[p.index].label),
        labels,
      ),
      ...(classCap !== 'none' ? { classCap } : {}),
    },
  };
}

/** Class shares of the gold validation labels (the prior a "prior" class cap follows). */
function classPrior(goldIdx: readonly number[], K: number): number[] {
  const counts = new Array<number>(K).fill(0);
  for (const k of goldIdx) if (k >= 0 && k < K) counts[k]++;
  return counts;
}
