/** Shapes the workflow returns and answers queries with (small: counts and references only). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SteeringRecord, SteeringState } from '../domain/steering.js';
import type { DatasetRef, RoundResult, TeacherUsage } from '../domain/types.js';
import type { LabelAgreement } from '../domain/labelAgreement.js';

export type { RoundResult } from '../domain/types.js';

/** Search attributes upserted when config.searchAttributes is true (register them on the server first). */
export const S3_PHASE = defineSearchAttributeKey('S3Phase', SearchAttributeType.KEYWORD);
export const S3_ROUND = defineSearchAttributeKey('S3Round', SearchAttributeType.INT);
export const S3_VAL_ACCURACY = defineSearchAttributeKey('S3ValAccuracy', SearchAttributeType.DOUBLE);

export interface S3Progress {
  /** prepare, rationales, seed, train, extrapolate, judge, select candidates, fill-up, report,
   * done (workflows/loop.ts; a method may add its own, e.g. "progen round 2") */
  phase: string;
  round: number;
  rounds: RoundResult[];
  usage: TeacherUsage;
  stopReason: string | null;
  /** things the user should know (fallback to the plain template, shortened prompts, …) */
  warnings: string[];
  /** with budget.teacherTokens: the budget, the tokens spent so far and what remains */
  budget?: { teacherTokens: number; spent: number; remaining: number };
  /** the steering state: paused, pending changes, every accepted Update (absent in old runs) */
  steering?: SteeringState;
  /** the run folder (report.json, report.md, synthetic/final.jsonl), once prepared */
  runDir?: string;
}

export interface ReportRefs {
  runDir: string;
  /** the final synthetic training set (seed ∪ additions) with provenance, JSONL */
  dataset: DatasetRef;
  reportJson: string;
  reportMd: string;
  /** how often a gold-trained reference agrees with the synthetic labels (quality/labelAgreement.ts) */
  labelAgreement?: LabelAgreement;
}

export interface S3Result extends ReportRefs {
  rounds: RoundResult[];
  usage: TeacherUsage;
  stopReason: string | null;
  warnings: string[];
  /** the Updates that steered the run (absent when none did) */
  steering?: SteeringRecord[];
}
