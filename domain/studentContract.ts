/**
 * The JSON contract of the trainAndEvaluate activity, in one place, for every worker that runs
 * it: the TypeScript worker (activities/student.ts) and the Python training worker of the
 * 'finetune' student (workers/finetune, task queue `student.finetune.taskQueue`).
 *
 * - Input ({@link TrainInputSchema}): the run configuration, the task's gold data references,
 *   the synthetic training sets (seed ∪ additions, S3 Alg. 2 line 3), the round q and the
 *   selection (which gold validation examples go to extrapolation, Alg. 2 line 6).
 * - Output ({@link EvaluationSchema}): validation and test scores, a reference to
 *   round-<q>/picked.jsonl whose rows are {@link MisclassifiedRowSchema} (per-example
 *   loss in nats, the predicted label, the acquisition function and its score), fit statistics
 *   and the student's wall time in ms.
 *
 * The Python side reads the same definitions as JSON Schema: `npm run s3 -- contract` writes
 * workers/finetune/contract/{train-input,evaluation,misclassified-row}.schema.json, a test fails
 * when the checked-in files differ, and the Python tests validate the worker's payloads against
 * them; both sides also check the shared fixture payloads in tests/fixtures/student-contract/.
 *
 * Pure module: no I/O.
 */
import { z } from 'zod';
import { S3ConfigSchema } from '../config/schema.js';
import { QaRowSchema } from './squad.js';
import { DatasetRefSchema, MisclassifiedRowSchema } from './types.js';

export { MisclassifiedRowSchema, QaRowSchema };

/** Classification quality on one gold split (domain/types.ts SplitMetrics). Accuracy and macro-F1 in [0, 1]. */
export const SplitMetricsSchema = z.object({
  count: z.number().int().min(0),
  accuracy: z.number().min(0).max(1),
  macroF1: z.number().min(0).max(1),
  misclassified: z.number().int().min(0),
  /** extractive QA only: SQuAD EM and F1 (then accuracy = EM, macroF1 = F1, misclassified = EM-0 questions) */
  exactMatch: z.number().min(0).max(1).optional(),
  f1: z.number().min(0).max(1).optional(),
});

/** What the finetune student's training did (absent for the linear students). Times in ms. */
export const FinetuneFitSchema = z.object({
  /** "cpu" or "cuda" */
  device: z.string(),
  /** autocast dtype on CUDA ("bf16" / "fp16"), null on CPU */
  mixedPrecision: z.string().nullable(),
  preset: z.string(),
  /** the base model folder */
  model: z.string(),
  /** epochs trained */
  epochs: z.number().int().min(0),
  /** the kept epoch (1-based): best gold-validation accuracy */
  bestEpoch: z.number().int().min(0),
  /** gold validation accuracy per epoch (QA: EM) */
  validationAccuracyPerEpoch: z.array(z.number()),
  /** extractive QA only: gold validation F1 per epoch */
  validationF1PerEpoch: z.array(z.number()).optional(),
  epochMs: z.array(z.number()),
  /** the inputs one epoch trains on after tokenization: extractive QA, the windows (run_qa's
   * "features", several per long context); classification, the examples (one truncated window
   * each). Divides epochMs into ms per 1,000 inputs. Absent from results of older workers. */
  trainFeatures: z.number().int().min(0).optional(),
  /** optimizer steps already done by an earlier attempt whose checkpoint this one resumed (0: fresh) */
  resumedFromStep: z.number().int().min(0),
  /** the ONNX export folder (transformers.js layout), or null when student.finetune.export is off */
  exported: z.string().nullable(),
});

export type FinetuneFit = z.infer<typeof FinetuneFitSchema>;

/** student/index.ts FitStats: loss in nats (final training objective), ms wall time. */
export const FitStatsSchema = z.object({
  trainSize: z.number().int().min(0),
  features: z.number().int().min(0),
  iterations: z.number().int().min(0),
  loss: z.number(),
  ms: z.number().min(0),
  finetune: FinetuneFitSchema.optional(),
});

/** domain/types.ts AcquisitionRecord. */
export const AcquisitionRecordSchema = z.object({
  name: z.string(),
  pool: z.enum(['gold-validation', 'synthetic']),
  candidates: z.number().int().min(0),
  picked: z.object({ count: z.number().int(), min: z.number(), median: z.number(), max: z.number() }).nullable(),
  byClass: z.record(z.string(), z.number().int().min(0)).optional(),
  classCap: z.enum(['balanced', 'prior']).optional(),
});

/** activities/prepare.ts TaskRefs: the task's gold data as artifact references. */
export const TaskRefsSchema = z.object({
  runDir: z.string(),
  /** the run folder's URI in the artifact store, ending in "/" (absent in old histories: runDir) */
  runUri: z.string().optional(),
  validation: DatasetRefSchema,
  test: DatasetRefSchema,
  contexts: DatasetRefSchema.nullable(),
  train: DatasetRefSchema.nullable().optional(),
  teacherCheck: z.string().optional(),
  inputLimits: z
    .object({ truncatedRows: z.number().int(), truncatedContexts: z.number().int(), replacedLines: z.number().int() })
    .optional(),
  warnings: z.array(z.string()).optional(),
});

/** The input of trainAndEvaluate (activities/student.ts). */
export const TrainInputSchema = z.object({
  config: S3ConfigSchema,
  task: TaskRefsSchema,
  train: z.array(DatasetRefSchema),
  /** q: 0 = seed round; names the output folder round-<q>/ */
  round: z.number().int().min(0),
  select: z
    .object({ all: z.boolean().optional(), limit: z.number().int().min(0).optional(), ranked: z.boolean().optional() })
    .optional(),
});
export type TrainInput = z.infer<typeof TrainInputSchema>;

/** The output of trainAndEvaluate (activities/student.ts Evaluation). */
export const EvaluationSchema = z.object({
  round: z.number().int().min(0),
  trainSize: z.number().int().min(0),
  fit: FitStatsSchema,
  validation: SplitMetricsSchema,
  test: SplitMetricsSchema,
  misclassified: DatasetRefSchema,
  studentMs: z.number().min(0),
  selection: SplitMetricsSchema.optional(),
  acquisition: AcquisitionRecordSchema.optional(),
});

/**
 * Extractive QA (S3's AdversarialQA task; the `qa` task kind builds on these): the quality of the
 * span student on one split, SQuAD v1.1 EM and F1 (domain/squad.ts scoreQa) as fractions in [0, 1].
 */
export const QaMetricsSchema = z.object({
  count: z.number().int().min(0),
  exactMatch: z.number().min(0).max(1),
  f1: z.number().min(0).max(1),
  /** questions with EM = 0: the "misclassified" gold questions EES extrapolates for QA */
  wrong: z.number().int().min(0),
});
export type QaMetrics = z.infer<typeof QaMetricsSchema>;

/**
 * What the span student (workers/finetune s3_finetune/qa.py predict_qa) says about one question.
 * Offsets count code points of the context (Python string indices, as answer_start does).
 */
export const QaPredictionRowSchema = z.object({
  /** position of the question in its split */
  index: z.number().int().min(0),
  id: z.string(),
  /** the best span's text ("" when no window has a valid span) */
  predicted: z.string(),
  /** its start offset in the context, null when `predicted` is "" */
  start: z.number().int().min(0).nullable(),
  /** SQuAD v1.1 EM (0 or 1) and F1 of `predicted` against the gold answers */
  exactMatch: z.number().int().min(0).max(1),
  f1: z.number().min(0).max(1),
  /** −ln p(start) − ln p(end) of the gold span (nats; the window where it is most likely): the `loss` acquisition */
  loss: z.number().min(0),
  /** p(start) · p(end) of the predicted span in its window: 1 − confidence is least-confidence */
  confidence: z.number().min(0).max(1),
});
export type QaPredictionRow = z.infer<typeof QaPredictionRowSchema>;

/** The JSON Schemas the Python worker validates against, by file name (draft 2020-12). */
export function contractJsonSchemas(): Record<string, unknown> {
  const opts = { io: 'output', unrepresentable: 'any' } as const;
  return {
    'train-input.schema.json': z.toJSONSchema(TrainInputSchema, opts),
    'evaluation.schema.json': z.toJSONSchema(EvaluationSchema, opts),
    'misclassified-row.schema.json': z.toJSONSchema(MisclassifiedRowSchema, opts),
    'qa-row.schema.json': z.toJSONSchema(QaRowSchema, opts),
    'qa-metrics.schema.json': z.toJSONSchema(QaMetricsSchema, opts),
    'qa-prediction-row.schema.json': z.toJSONSchema(QaPredictionRowSchema, opts),
  };
}
