/**
 * Teacher activities: rationales (S3 Alg. 1 lines 1-2), seed data (Alg. 1 lines 3-8; §2.4
 * for sentence pairs) and error extrapolation (Alg. 2 lines 8-10; Alg. 3 for pairs).
 *
 * Each reads its inputs from JSONL artifacts, calls the worker's shared teacher backend
 * (persisted per-call cache + in-flight de-duplication: a retry never pays twice), heartbeats
 * its progress on a timer and writes its output as JSONL, returning only a reference and counts.
 * Built from their dependencies: `createSynthesisActivities({ teachers })`. One module per
 * step: rationales.ts, seed.ts, extrapolate.ts, judge.ts (acquisition), on teacherSession.ts.
 */
import type { S3Config } from '../config/schema.js';
import type { TaskRefs } from './prepare.js';
import type { ActivityDeps } from './deps.js';
import { synthesizeRationales } from './rationales.js';
import { synthesizeSeed, type SeedInput } from './seed.js';
import { extrapolateErrors, type ExtrapolateInput } from './extrapolate.js';
import { judgeDifficulty, type JudgeInput } from './judge.js';

export type { SynthesisResult } from './teacherSession.js';
export { RationaleRowSchema, type RationaleRow } from './rationales.js';
export type { SeedInput } from './seed.js';
export type { ExtrapolateInput } from './extrapolate.js';
export type { JudgeInput } from './judge.js';

/** Builds the teacher activities from the worker's dependencies. */
export function createSynthesisActivities(deps: ActivityDeps) {
  return {
    synthesizeRationales: (input: { config: S3Config; task: TaskRefs }) => synthesizeRationales(deps, input),
    synthesizeSeed: (input: SeedInput) => synthesizeSeed(deps, input),
    extrapolateErrors: (input: ExtrapolateInput) => extrapolateErrors(deps, input),
    judgeDifficulty: (input: JudgeInput) => judgeDifficulty(deps, input),
  };
}
