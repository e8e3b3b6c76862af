/** Shapes the workflow returns and answers queries with (small: counts and references only). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DatasetRef, SplitMetrics, TeacherUsage } from '../domain/types.js';

/** Search attributes upserted when config.searchAttributes is true (register them on the server first). */
export const S3_PHASE = defineSearchAttributeKey('S3Phase', SearchAttributeType.KEYWORD);
export const S3_ROUND = defineSearchAttributeKey('S3Round', SearchAttributeType.INT);
export const S3_VAL_ACCURACY = defineSearchAttributeKey('S3ValAccuracy', SearchAttributeType.DOUBLE);

/** One trained student: round 0 is the seed round, round q >= 1 the q-th EES round. */
export interface RoundResult {
  round: number;
  origin: 'seed' | 'ees';
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
}

export interface S3Progress {
  phase: 'prepare' | 'rationales' | 'seed' | 'train' | 'extrapolate' | 'report' | 'done';
  round: number;
  rounds: RoundResult[];
  usage: TeacherUsage;
  stopReason: string | null;
  /** things the user should know (fallback to the plain template, shortened prompts, …) */
  warnings: string[];
}

export interface ReportRefs {
  runDir: string;
  /** the final synthetic training set (seed ∪ additions) with provenance, JSONL */
  dataset: DatasetRef;
  reportJson: string;
  reportMd: string;
}

export interface S3Result extends ReportRefs {
  rounds: RoundResult[];
  usage: TeacherUsage;
  stopReason: string | null;
  warnings: string[];
}
