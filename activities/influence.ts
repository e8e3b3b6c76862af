/**
 * scoreInfluence: the scoring step of the ProGen baseline (Ye et al. 2022, "ProGen: Progressive
 * Zero-shot Dataset Generation via In-context Feedback", §3.2). Fits the configured student on
 * the synthetic data exactly as trainAndEvaluate does, scores every training example by its
 * influence on the student's mean loss on the gold validation set (Koh & Liang 2017; see
 * student/influence.ts), and writes the most helpful examples, balanced across labels, as the
 * in-context examples of the next round's generation prompts.
 */
import type { S3Config } from '../config/schema.js';
import { ExampleSchema, type DatasetRef, type Example } from '../domain/types.js';
import { refUri } from '../store/index.js';
import { influenceOnValidation } from '../student/influence.js';
import { createStudent } from '../student/index.js';
import { taskKindOf } from '../tasks/index.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity, warn } from './context.js';
import type { StoreDeps } from './deps.js';
import { embeddingCacheOf, runArtifacts, studentConfigOf } from './paths.js';

/** A row of round-<q>/influence.jsonl and round-<q>/in-context.jsonl. */
export interface InfluenceRow {
  id: string;
  label: string;
  /** predicted increase of the mean gold-validation loss if this example were left out of
   * training, nats (positive = the example helps; student/influence.ts) */
  helpfulness: number;
  /** the example's input fields as the task kind has them (tasks/: `text`; a pair's `text_pair` too) */
  text: string;
  text_pair?: string;
}

/** What scoreInfluence returns. */
export interface InfluenceScores {
  /** round-<q>/in-context.jsonl: ceil(topK / numLabels) most helpful rows per label, labels in
   * config order, highest helpfulness first within a label (fewer if a label has fewer rows) */
  ref: DatasetRef;
  /** training rows scored (= rows of round-<q>/influence.jsonl) */
  scored: number;
  /** conjugate-gradient iterations of the H⁻¹∇L_val solve */
  cgIterations: number;
  /** wall time of the activity (reading, fitting, scoring, writing), ms */
  ms: number;
}

/**
 * Picks the in-context examples: for each label in `labels` order, its `perLabel` rows of
 * highest helpfulness (ties: earlier row first).
 * @param rows scored rows, in training order
 * @param labels label order of the task
 * @param perLabel rows per label (a label with fewer rows gives all it has)
 */
export function selectInContext(rows: InfluenceRow[], labels: string[], perLabel: number): InfluenceRow[] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[b].helpfulness - rows[a].helpfulness || a - b);
  return labels.flatMap((label) =>
    order
      .filter((i) => rows[i].label === label)
      .slice(0, perLabel)
      .map((i) => rows[i]),
  );
}

/**
 * @param input.config the run configuration (student section, labels, run directory)
 * @param input.task the prepared gold task (validation set scores the influence)
 * @param input.train the synthetic datasets the student is trained on (JSONL of examples,
 *   e.g. SyntheticExample; extra fields are ignored)
 * @param input.round q; names the output folder round-<q>/
 * @param input.topK in-context examples wanted (≥ 1); ceil(topK / numLabels) are taken per label
 * @returns the in-context file's ref, the number of rows scored, CG iterations and wall time;
 *   also writes round-<q>/influence.jsonl (every training row with its helpfulness, training order)
 * @throws ApplicationFailure InvalidInput when the training data or the validation set is empty,
 *   topK is not a positive integer, or a validation label is not one of the task's labels
 */
export async function scoreInfluence(
  input: {
    config: S3Config;
    task: TaskRefs;
    train: DatasetRef[];
    round: number;
    topK: number;
  },
  deps: StoreDeps = {},
): Promise<InfluenceScores> {
  const beat: Record<string, unknown> = { phase: 'read', round: input.round };
  return runActivity(
    input.config,
    () => beat,
    async () => {
      const { config, task, round, topK } = input;
      const t0 = Date.now();
      const labels = config.task.labels;
      const kind = taskKindOf(config.task);
      if (!(Number.isInteger(topK) && topK >= 1)) throw invalidInput(`scoreInfluence: topK must be ≥ 1, got ${topK}`);
      const run = runArtifacts(deps, config);
      const train: Example[] = [];
      for (const ref of input.train)
        train.push(...(await run.store.getJsonl(ref, ExampleSchema, { allowEmpty: true })));
      const validation = await run.store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true });
      if (train.length === 0)
        throw invalidInput(
          `no synthetic examples to score in round ${round}: every teacher output was rejected (see ${task.runDir}/synthetic/*.rejected.jsonl)`,
        );
      if (validation.length === 0) throw invalidInput(`the gold validation set ${refUri(task.validation)} is empty`);
      const valLabels = validation.map((x) => {
        const c = labels.indexOf(x.label);
        if (c < 0)
          throw invalidInput(
            `validation example "${x.id}" has label "${x.label}", not one of ${JSON.stringify(labels)}`,
          );
        return c;
      });

      Object.assign(beat, { phase: 'fit', trainSize: train.length });
      const studentConfig = studentConfigOf(config);
      const student = createStudent(studentConfig, embeddingCacheOf(deps, config));
      await student.fit(train, labels);
      beat.phase = 'features';
      const trainRows = await student.features(train);
      const valRows = await student.features(validation);
      beat.phase = 'influence';
      const res = influenceOnValidation({
        model: student.head(),
        trainRows,
        trainLabels: train.map((x) => labels.indexOf(x.label)), // fit checked every label
        valRows,
        valLabels,
        l2: studentConfig.l2,
      });
      if (!res.converged)
        warn(`scoreInfluence round ${round}: CG stopped at relative residual ${res.cgResidual.toExponential(2)}`, {
          cgIterations: res.cgIterations,
        });

      beat.phase = 'write';
      const rows: InfluenceRow[] = train.map((x, i) => ({
        id: x.id,
        label: x.label,
        helpfulness: res.helpfulness[i],
        ...kind.inputOf(x),
      }));
      await run.store.putJsonl(run.key(`round-${round}`, 'influence.jsonl'), rows);
      const picked = selectInContext(rows, labels, Math.ceil(topK / labels.length));
      const ref = await run.store.putJsonl(run.key(`round-${round}`, 'in-context.jsonl'), picked);
      return { ref, scored: rows.length, cgIterations: res.cgIterations, ms: Date.now() - t0 };
    },
  );
}
