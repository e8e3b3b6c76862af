/**
 * trainAndEvaluate: S3 Alg. 2 lines 3-6 — re-initialise the student, train it on
 * seed ∪ all additions, predict on the gold validation set (whose errors EES extrapolates)
 * and on the gold test set (only reported).
 */
import path from 'node:path';
import type { S3Config } from '../config/schema.js';
import { readJsonl, writeJsonl } from '../data/jsonl.js';
import { argmax, scoreSplit, selectAll, selectMisclassified } from '../domain/metrics.js';
import { Rng } from '../domain/rng.js';
import {
  ExampleSchema,
  type DatasetRef,
  type Example,
  type MisclassifiedRow,
  type SplitMetrics,
} from '../domain/types.js';
import { createStudent, type FitStats } from '../student/index.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity } from './context.js';
import { cacheDirOf, studentConfigOf } from './paths.js';

export interface Evaluation {
  round: number;
  trainSize: number;
  fit: FitStats;
  validation: SplitMetrics;
  test: SplitMetrics;
  /** D_mis^(q): round-<q>/misclassified.jsonl (capped by synthesis.maxPerRound, highest loss first) */
  misclassified: DatasetRef;
  /** wall time of training + prediction, ms */
  studentMs: number;
}

/**
 * @param input.train the synthetic datasets to train on (seed ∪ additions), JSONL of examples
 * @param input.round q (0 = seed round); names the output folder round-<q>/
 * @throws ApplicationFailure InvalidInput when the training data is empty
 */
export async function trainAndEvaluate(input: {
  config: S3Config;
  task: TaskRefs;
  train: DatasetRef[];
  round: number;
  /** which gold validation examples to hand to extrapolation (absent in old histories:
   * the misclassified ones, capped by synthesis.maxPerRound). `all`: every example (GoldGen);
   * `limit`: a further cap (the budget left): highest loss first among the misclassified, a
   * seeded uniform sample with `all` */
  select?: { all?: boolean; limit?: number };
}): Promise<Evaluation> {
  const beat: Record<string, unknown> = { phase: 'read', round: input.round };
  return runActivity(
    input.config,
    () => beat,
    async () => {
      const { config, task, round } = input;
      const t0 = Date.now();
      const labels = config.task.labels;
      const train: Example[] = [];
      for (const ref of input.train) train.push(...(await readJsonl(ref.path, ExampleSchema, { allowEmpty: true })));
      const validation = await readJsonl(task.validation.path, ExampleSchema, { allowEmpty: true });
      const test = await readJsonl(task.test.path, ExampleSchema, { allowEmpty: true });

      if (train.length === 0)
        throw invalidInput(
          `no synthetic examples to train on in round ${round}: every teacher output was rejected (see ${task.runDir}/synthetic/*.rejected.jsonl)`,
        );
      Object.assign(beat, { phase: 'fit', trainSize: train.length });
      const student = createStudent(studentConfigOf(config), {
        cacheDir: path.join(cacheDirOf(config), 'embeddings'),
      });
      const fit = await student.fit(train, labels);
      beat.phase = 'predict';
      const pv = await student.predictProba(validation);
      const pt = await student.predictProba(test);
      const predicted = (p: number[][]) => p.map((row) => labels[argmax(row)]);
      const goldIdx = validation.map((x) => labels.indexOf(x.label));

      const caps = [config.synthesis.maxPerRound, input.select?.limit].filter((c): c is number => c !== undefined);
      const cap = caps.length ? Math.min(...caps) : undefined;
      const picked = input.select?.all
        ? selectAll(pv, goldIdx, cap, new Rng(config.seed, `goldgen-${round}`))
        : selectMisclassified(pv, goldIdx, cap);
      const predV = predicted(pv);
      const rows: MisclassifiedRow[] = picked.map((m) => ({
        index: m.index,
        loss: m.loss,
        predicted: predV[m.index],
        example: validation[m.index],
      }));
      const misclassified = await writeJsonl(path.join(task.runDir, `round-${round}`, 'misclassified.jsonl'), rows, {
        labelOf: (r) => r.example.label,
      });
      return {
        round,
        trainSize: train.length,
        fit,
        validation: scoreSplit(
          validation.map((x) => x.label),
          predV,
          labels,
        ),
        test: scoreSplit(
          test.map((x) => x.label),
          predicted(pt),
          labels,
        ),
        misclassified,
        studentMs: Date.now() - t0,
      };
    },
  );
}
