/**
 * Shapes of an experiment (issue "Experiments"): one child workflow per (arm, seed), whose
 * results the parent collects, scores and reports. Shared by the workflows, the activities,
 * the report and the CLI, so they live below all of them.
 *
 * Pure module: types and zod schemas only.
 */
import { z } from 'zod';
import { METHOD_NAMES, type MethodName } from '../methods/names.js';
import type { LabelAgreement } from './labelAgreement.js';
import type { DatasetRef, RoundResult, SplitMetrics, TeacherUsage } from './types.js';

/** The synthesis methods an arm can run: their names live with the registry
 * (methods/names.ts, one `Method` each in methods/index.ts), re-exported here for the shapes. */
export { METHOD_NAMES, type MethodName };
export const MethodNameSchema = z.enum(METHOD_NAMES);

/** What every arm must meet: a number of training examples (default) or of teacher tokens
 * (prompt + completion, every call counted, also the ones served from cache). */
export interface Budget {
  kind: 'examples' | 'tokens';
  limit: number;
}

/** What one arm really used (reported next to the budget). */
export interface BudgetUse {
  /** training examples of the final student that came from the teacher */
  syntheticExamples: number;
  /** human-labeled examples in the final student's training set (gold arms, +gold-validation) */
  goldExamples: number;
  /** prompt + completion tokens counted against the budget */
  tokens: number;
  /** teacher calls answered by the backend in this child (paid) */
  paidCalls: number;
  /** teacher calls answered from the per-call cache (paid earlier, by this or another arm) */
  reusedCalls: number;
  /** examples added by fill-up seed batches because EES (or rejections) left the budget short */
  filledUp: number;
}

/** The result of one child workflow: one arm on one seed. */
export interface ArmSeedResult {
  experimentId: string;
  /** arm name (unique within the experiment; default the method name) */
  arm: string;
  method: MethodName;
  seed: number;
  /** `<experiment>/<arm>/seed-<s>` */
  workflowId: string;
  status: 'completed' | 'failed';
  /** the failure, when status is "failed" (redacted message) */
  error?: string;
  /** where the child's artifacts are (absolute) */
  runDir: string;
  budget: Budget;
  used: BudgetUse;
  /** every trained student (round 0 = seed data; methods without rounds have one) */
  rounds: RoundResult[];
  /** the final student on gold test (scores only) */
  test: SplitMetrics | null;
  /** the final student on gold validation; null when the student was trained on it */
  validation: SplitMetrics | null;
  usage: TeacherUsage;
  /** the final student's training set (JSONL) */
  dataset: DatasetRef | null;
  /** how often a gold-trained reference agrees with the arm's synthetic labels (absent: no
   * synthetic data, or recorded before the metric) */
  labelAgreement?: LabelAgreement;
  stopReason: string | null;
  warnings: string[];
  wallMs: number;
  /** the data-quality study of this arm (s3 and goldgen arms, when the experiment asks for it) */
  quality?: QualityStudy;
}

/** Mean and sample standard deviation over seeds (std null with one seed). */
export interface MeanStd {
  mean: number;
  std: number | null;
  n: number;
}

/** Paired difference arm − reference over the seeds both finished, with a 95% bootstrap
 * percentile interval (B resamples of the seeds, seeded). */
export interface PairedDiff {
  arm: string;
  reference: string;
  metric: 'accuracy' | 'macroF1';
  /** the seeds present in both */
  seeds: number[];
  mean: number;
  lo: number;
  hi: number;
  resamples: number;
}

/** One point of a data-quality map (QualityStudy.map, JSONL): UMAP coordinates of a gold test
 * or synthetic example and its label. Written by activities/quality.ts, drawn by report/charts.ts. */
export const MapRowSchema = z.object({
  x: z.number(),
  y: z.number(),
  set: z.enum(['gold-test', 'synthetic']),
  label: z.string(),
});
export type MapRow = z.infer<typeof MapRowSchema>;

/** Paper Table 6 and Table 8 for one arm on one seed (the data-quality study). */
export interface QualityStudy {
  arm: string;
  seed: number;
  /** which features the similarities and the map use, e.g. "encoder all-MiniLM-L6-v2" or
   * "TF-IDF, random projection to 256 dims" */
  features: string;
  /** Table 6: misclassified gold example → the example the teacher wrote from it */
  pairs: {
    count: number;
    /** mean cosine similarity of the two embeddings */
    cosine: number | null;
    /** mean character edit distance (Levenshtein) */
    editDistance: number | null;
    /** mean length in words of the gold examples and of the written ones */
    goldWords: number | null;
    syntheticWords: number | null;
  };
  /** Table 8: share of gold test points within radius gamma of a synthetic point in the 2-D map */
  coverage: { gamma: number; gammaRule: string; share: number };
  /** the 2-D map (UMAP, seeded) written as JSONL of {x, y, set: "gold-test" | "synthetic", label} */
  map: DatasetRef;
}

/** Everything the experiment report is rendered from (written as results.json). */
export interface ExperimentSummary {
  experimentId: string;
  /** the validated experiment configuration (no secrets: only the env var *name* of a key) */
  config: unknown;
  budget: Budget;
  seeds: number[];
  /** arm names in config order */
  arms: { name: string; method: MethodName }[];
  results: ArmSeedResult[];
  quality: QualityStudy[];
  wallMs: number;
}

/** Written next to a finished child's artifacts so that a re-started experiment reuses it. */
export const FINISHED_FILE = 'arm-result.json';
