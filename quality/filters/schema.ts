/**
 * Configuration of the quality filters (issue 18 item 2): `synthesis.filters` of a run, and an
 * experiment arm's `filters` (the same keys, each optional, over the experiment's). Every filter
 * is off by default, so a run without the section is unchanged.
 *
 * Pure module (zod only): config/schema.ts and the workflows import it.
 */
import { z } from 'zod';

/** The filters, in the order they run on a teacher output (cheapest first; the paid
 * self-check last, so the teacher is never asked about an output another filter drops). */
export const FILTER_NAMES = ['metaTalk', 'nearDuplicates', 'reference', 'selfCheck'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** `synthesis.filters` (optional; absent: no filter): every filter off unless turned on. */
export const FiltersSchema = z.strictObject({
  /** drop outputs (and rationales) that talk about the request instead of being an example of
   * it: announcements ("Here's a normal (not spam) email:"), assistant talk ("I'm an AI …",
   * "I'm here to help"), chat apologies, prompt echoes ("5 reasons that may lead to …"); the
   * pattern rules are in quality/filters/metaTalk.ts */
  metaTalk: z.boolean().default(false),
  /** drop an output whose word 3-gram set is a near-duplicate (estimated Jaccard ≥
   * `nearDuplicateJaccard`; MinHash + LSH with the bloom-filters library) of an example of the
   * training set the activity is given (EES rounds: all of it) or of an output kept before it */
  nearDuplicates: z.boolean().default(false),
  /** estimated Jaccard similarity of word 3-grams at or above which an output is a near-duplicate */
  nearDuplicateJaccard: z.number().gt(0).max(1).default(0.7),
  /** drop an output to which a gold-trained reference classifier (TF-IDF + logistic regression,
   * or the run's encoder-logreg student when that is more accurate on held-out gold data;
   * quality/labelAgreement.ts fitReference) gives a probability of the asked label below
   * `referenceMinProb` */
  reference: z.boolean().default(false),
  /** p(asked label) under the reference below which an output is dropped */
  referenceMinProb: z.number().gt(0).max(1).default(0.5),
  /** what the reference is trained on: "validation" (the gold validation set every S3 arm
   * already holds; no extra human labels) or "train" (the gold train split when the task has
   * one, else validation: the label-agreement reference's data, so that arm's reported
   * agreement is then partly by construction) */
  referenceTrainOn: z.enum(['validation', 'train']).default('validation'),
  /** the teacher classifies each output zero-shot with the task's labels (a T_judge-like
   * question, quality/filters/selfCheck.ts); an output whose answer names another label than
   * the one asked for is dropped. Its calls go through the activity's teacher session (cache
   * included) and count against a token budget and in the usage */
  selfCheck: z.boolean().default(false),
  /** an answer of the self-check that names no label: "keep" the output or "drop" it */
  selfCheckUnclear: z.enum(['keep', 'drop']).default('keep'),
  /** the self-check question; placeholders {item}, {labels} (the label words, quoted, joined
   * with "or"), {example}, and {context} for pair tasks */
  selfCheckPrompt: z.string().min(1).optional(),
});
export type FiltersConfig = z.infer<typeof FiltersSchema>;

/** An experiment arm's `filters`: the keys of synthesis.filters, each optional (unset: the experiment's). */
export const ArmFiltersSchema = z.strictObject({
  /** see synthesis.filters.metaTalk */
  metaTalk: z.boolean().optional(),
  /** see synthesis.filters.nearDuplicates */
  nearDuplicates: z.boolean().optional(),
  /** see synthesis.filters.nearDuplicateJaccard */
  nearDuplicateJaccard: z.number().gt(0).max(1).optional(),
  /** see synthesis.filters.reference */
  reference: z.boolean().optional(),
  /** see synthesis.filters.referenceMinProb */
  referenceMinProb: z.number().gt(0).max(1).optional(),
  /** see synthesis.filters.referenceTrainOn */
  referenceTrainOn: z.enum(['validation', 'train']).optional(),
  /** see synthesis.filters.selfCheck */
  selfCheck: z.boolean().optional(),
  /** see synthesis.filters.selfCheckUnclear */
  selfCheckUnclear: z.enum(['keep', 'drop']).optional(),
  /** see synthesis.filters.selfCheckPrompt */
  selfCheckPrompt: z.string().min(1).optional(),
});
export type ArmFilters = z.infer<typeof ArmFiltersSchema>;

/** The filters a configuration turns on, in run order. */
export function activeFilters(f: FiltersConfig | undefined): FilterName[] {
  if (!f) return [];
  return FILTER_NAMES.filter((n) => f[n]);
}

/**
 * An arm's filters over the experiment's (an arm's key wins; its unset keys are the
 * experiment's, then the defaults).
 * @returns undefined when neither sets any (the run configuration then has no `filters`)
 */
export function mergeFilters(base: FiltersConfig | undefined, arm: ArmFilters | undefined): FiltersConfig | undefined {
  if (!arm) return base;
  const set = Object.fromEntries(Object.entries(arm).filter(([, v]) => v !== undefined));
  return FiltersSchema.parse({ ...base, ...set });
}
