/**
 * Shared record shapes of s3-synth. Types are derived from zod schemas so that
 * artifacts read back from disk are validated with the same definition.
 *
 * Pure module: safe to import from workflows (no I/O, no clocks, no randomness).
 */
import { z } from 'zod';

/** A labeled example. Single-text tasks use `text`; sentence-pair tasks (NLI) put the
 * context (premise) in `text` and the synthesized/target sentence in `text_pair`. */
export const ExampleSchema = z.object({
  id: z.string().min(1),
  text: z.string(),
  text_pair: z.string().optional(),
  label: z.string().min(1),
  /** set when the gold text was longer than `task.maxChars` and was cut to it: the original
   * length in characters of `text` (and of `text_pair`), so the cut is never silent */
  truncatedFrom: z.object({ text: z.number().int().optional(), text_pair: z.number().int().optional() }).optional(),
  /** extractive QA (task.kind "qa", tasks/qa.ts): `text` is the context, `text_pair` the
   * question, `label` the first answer; every gold answer with its start in code points
   * (SQuAD's `answers`). Absent for classification tasks. */
  answers: z.object({ text: z.array(z.string()), answer_start: z.array(z.number().int().min(0)) }).optional(),
});
export type Example = z.infer<typeof ExampleSchema>;

/** Sampling parameters sent to the teacher (S3 §3: nucleus sampling, temperature 0.9). */
export const SamplingParamsSchema = z.object({
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1),
  maxTokens: z.number().int().positive(),
});
export type SamplingParams = z.infer<typeof SamplingParamsSchema>;

/** Where a synthetic example came from (written on every synthetic example). */
export const ProvenanceSchema = z.object({
  /** 'seed': seed data (S3 Alg. 1; also fill-up batches); 'ees': error extrapolation (Alg. 2);
   * 'icl': a ProGen round whose prompt showed in-context examples (Ye et al. 2022b) */
  origin: z.enum(['seed', 'ees', 'icl']),
  /** 0 for seed data; q for data added in EES (or ProGen) round q (S3 Alg. 2 D_add^(q)). */
  round: z.number().int().min(0),
  rationales: z.array(z.string()),
  /** id of the gold validation example this one extrapolates (EES only). */
  misclassifiedId: z.string().nullable(),
  templateId: z.string(),
  prompt: z.string(),
  teacherModel: z.string(),
  sampling: SamplingParamsSchema,
  sampleIndex: z.number().int().min(0),
  rawOutput: z.string(),
  /** set when the example shown in the prompt was shortened to fit the teacher's context:
   * why ("context_length": refused by the backend; "prompt_budget": counted over the
   * embedded model's context before the call) and the characters kept / original */
  /** for examples written from a pool item picked by an acquisition function (EES rounds):
   * the function, its score for the item, the item's id and pool */
  acquisition: z
    .object({
      name: z.string(),
      score: z.number(),
      poolItem: z.string(),
      pool: z.string(),
      /** generate–evaluate–select (synthesis.candidatesPerPick > 1): this example was candidate
       * `index` of `of` written for the pool item; on the kept one, its score (the student's,
       * by `decidedBy`: the acquisition function, or "loss" when it found none eligible) */
      candidate: z
        .object({
          index: z.number().int(),
          of: z.number().int(),
          score: z.number().optional(),
          decidedBy: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  /** synthesis.seedDemos: ids of the gold validation examples shown in the prompt (domain/demos.ts) */
  demos: z.array(z.string()).optional(),
  /** the gold-trained reference classifier's verdict (quality/labelAgreement.ts): its label
   * and its probability of the asked label; written on the final dataset (absent before) */
  reference: z.object({ label: z.string(), p: z.number() }).optional(),
  /** a human review changed this example's label (the review Update, workflows/steering.ts):
   * who, when (workflow time, ISO 8601), the teacher's label it replaced, and why */
  review: z.object({ by: z.string(), at: z.string(), from: z.string(), reason: z.string().optional() }).optional(),
  promptTruncated: z
    .object({
      reason: z.enum(['context_length', 'prompt_budget']),
      keptChars: z.number().int(),
      fromChars: z.number().int(),
    })
    .optional(),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** Largest `synthesis.maxAttempts`: attempts of one want occupy sample indices
 * slot·ATTEMPT_STRIDE + 0 … slot·ATTEMPT_STRIDE + ATTEMPT_STRIDE − 1. */
export const ATTEMPT_STRIDE = 100;

/**
 * The teacher sample index of attempt `attempt` (0-based) of the want in `slot`. It depends
 * only on (slot, attempt), never on `synthesis.maxAttempts`, so raising or lowering maxAttempts
 * keeps the per-call cache keys of the attempts already made (a resumed or extended run pays
 * only for new calls).
 * @throws RangeError when attempt is outside [0, ATTEMPT_STRIDE) or slot is negative
 */
export function sampleIndexOf(slot: number, attempt: number): number {
  if (!(attempt >= 0 && attempt < ATTEMPT_STRIDE) || !(slot >= 0))
    throw new RangeError(`sampleIndexOf: slot ${slot} / attempt ${attempt} out of range`);
  return slot * ATTEMPT_STRIDE + attempt;
}

export const SyntheticExampleSchema = ExampleSchema.extend({ provenance: ProvenanceSchema });
export type SyntheticExample = z.infer<typeof SyntheticExampleSchema>;

/** A teacher output that was not kept, with the reason (kept for inspection). */
export const RejectionSchema = z.object({
  id: z.string(),
  label: z.string(),
  reason: z.string(),
  prompt: z.string(),
  rawOutput: z.string(),
  /** what a quality filter found (synthesis.filters), e.g. "near-duplicate of seed-3 (estimated Jaccard 0.81)" */
  detail: z.string().optional(),
});
export type Rejection = z.infer<typeof RejectionSchema>;

/**
 * Reference to a JSONL artifact in the artifact store (store/). This, never the rows, is what
 * travels through workflow history. `uri` names the artifact (`file:///abs/runs/<runId>/…`);
 * `sha256` is the hex digest of its bytes, checked on every read; `count` the number of lines
 * (records). Read it through the store (`store.getJsonl(ref, schema)`), never through `path`.
 *
 * `path` is the local file (absolute) of a local-folder store: kept for references recorded
 * before `uri` existed (they have only `path`; `refUri(ref)` in store/uri.ts accepts both) and
 * for people reading reports. `uri` is optional only because those old references lack it.
 */
export const DatasetRefSchema = z.object({
  path: z.string(),
  uri: z.string().optional(),
  sha256: z.string(),
  count: z.number().int().min(0),
  labelCounts: z.record(z.string(), z.number().int().min(0)),
});
export type DatasetRef = z.infer<typeof DatasetRefSchema>;

/** Classification quality on one gold split. Accuracy and macro-F1 in [0, 1]. */
export interface SplitMetrics {
  count: number;
  accuracy: number;
  macroF1: number;
  misclassified: number;
  /** extractive QA only (tasks/qa.ts): SQuAD v1.1 Exact Match and F1 in [0, 1] (then
   * `accuracy` = exactMatch, `macroF1` = f1 and `misclassified` = the questions with EM 0) */
  exactMatch?: number;
  f1?: number;
}

/** Teacher usage of one activity. Tokens as reported by the provider (or counted by the tokenizer). */
export interface TeacherUsage {
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  rejected: number;
  /** wall time spent waiting for the teacher (batches of concurrent calls), ms */
  teacherMs: number;
  /** the quality filters (synthesis.filters; absent when none ran): per filter, the outputs it
   * looked at and dropped (also counted in `rejected`), and the teacher calls and tokens the
   * self-check spent (also counted above) */
  filters?: Record<string, FilterTally>;
}

/** What one quality filter did (quality/filters/). */
export interface FilterTally {
  checked: number;
  dropped: number;
  /** teacher calls and tokens it spent (the self-check) */
  calls?: number;
  tokens?: number;
}

/** Sums two filter tallies by filter (undefined when neither has one, so usage without filters keeps its shape). */
export function addFilterTallies(
  a: Record<string, FilterTally> | undefined,
  b: Record<string, FilterTally> | undefined,
): Record<string, FilterTally> | undefined {
  if (!a && !b) return undefined;
  const out: Record<string, FilterTally> = {};
  for (const t of [a ?? {}, b ?? {}])
    for (const [name, x] of Object.entries(t)) {
      const o = (out[name] ??= { checked: 0, dropped: 0 });
      o.checked += x.checked;
      o.dropped += x.dropped;
      if (x.calls !== undefined) o.calls = (o.calls ?? 0) + x.calls;
      if (x.tokens !== undefined) o.tokens = (o.tokens ?? 0) + x.tokens;
    }
  return out;
}

export const emptyUsage = (): TeacherUsage => ({
  calls: 0,
  cachedCalls: 0,
  promptTokens: 0,
  completionTokens: 0,
  rejected: 0,
  teacherMs: 0,
});

export function addUsage(a: TeacherUsage, b: TeacherUsage): TeacherUsage {
  return {
    calls: a.calls + b.calls,
    cachedCalls: a.cachedCalls + b.cachedCalls,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    rejected: a.rejected + b.rejected,
    teacherMs: a.teacherMs + b.teacherMs,
    ...(a.filters || b.filters ? { filters: addFilterTallies(a.filters, b.filters) } : {}),
  };
}

/** One trained student: round 0 is the seed round, round q >= 1 the q-th EES round. */
export interface RoundResult {
  round: number;
  /** what was added before this student was trained: seed data, EES additions, a ProGen
   * round ('icl'), fill-up seed batches ('fill'), or human-labeled data ('gold') */
  origin: 'seed' | 'ees' | 'icl' | 'fill' | 'gold';
  /** synthetic examples added in this round (seed data for round 0) */
  added: number;
  /** size of seed ∪ all additions the student was trained on */
  trainSize: number;
  validation: SplitMetrics;
  /** gold test scores: reported, never used for any choice */
  test: SplitMetrics;
  /** teacher usage of the synthesis that produced this round's additions */
  teacher: TeacherUsage;
  /** wall time of training + prediction, ms */
  studentMs: number;
  /** wall time of the whole round on the workflow clock: from the previous student's result (or
   * the start of the loop) to this one's, teacher steps included, ms; absent in old histories */
  wallMs?: number;
  /** the finetune student's training speed (absent for the in-process students) */
  training?: RoundTraining;
  /** the batch the acquisition function picked after this round (absent: S3's rule in old histories) */
  acquisition?: AcquisitionRecord;
  /** with synthesis.validationHoldout: the student on the selection part of gold validation
   * (`validation` is then the held-out dev part) */
  selection?: SplitMetrics;
}

/** Training speed of a finetune student in one round (issue 19: time per epoch per 1,000 QA features). */
export interface RoundTraining {
  /** inputs per epoch: QA windows, or classification examples */
  features: number;
  epochs: number;
  /** mean over the epochs of epoch ms × 1,000 / features (the epoch's scoring on gold validation included) */
  msPerEpochPer1000: number;
  device: string;
}

/** What an acquisition function picked in one round: min / median / max of the picked scores. */
export interface AcquisitionRecord {
  name: string;
  pool: 'gold-validation' | 'synthetic';
  candidates: number;
  picked: { count: number; min: number; median: number; max: number } | null;
  /** picks per class (the gold label, or the label the teacher was asked for); absent in old records */
  byClass?: Record<string, number>;
  /** synthesis.classCap when one applied */
  classCap?: 'balanced' | 'prior';
}

/** Rows of round-q/picked.jsonl written by trainAndEvaluate: the pool items the round's
 * acquisition rule picked for the teacher to expand (S3's rule: misclassified gold validation
 * examples, Alg. 2 line 6; runs recorded before the rename wrote round-q/misclassified.jsonl). */
export const PickedRowSchema = z.object({
  /** index of the example in the gold validation file */
  index: z.number().int(),
  /** cross-entropy of the gold label under the student, nats */
  loss: z.number(),
  predicted: z.string(),
  example: ExampleSchema,
  /** the acquisition function that picked it and its score (absent in old artifacts: S3's rule) */
  acquisition: z.string().optional(),
  score: z.number().optional(),
  /** which pool it came from; for the synthetic pool, the rationales of the picked example
   * (the new one is then asked with T_query and these rationales) */
  pool: z.enum(['gold-validation', 'synthetic']).optional(),
  rationales: z.array(z.string()).optional(),
});
export type PickedRow = z.infer<typeof PickedRowSchema>;
/** @deprecated the old name of {@link PickedRowSchema} (rows hold any acquisition pick) */
export const MisclassifiedRowSchema = PickedRowSchema;
/** @deprecated the old name of {@link PickedRow} */
export type MisclassifiedRow = PickedRow;
