/**
 * The activities of s3-synth (all side effects live here), built from the worker's
 * dependencies as in temporalio/samples-typescript: `createActivities({ teachers })`.
 * One worker serves both workflows: `s3Synthesis` (one run) and the experiment harness
 * (`s3Experiment` with its `synthesisArm` children).
 */
import { selectCandidates } from './candidates.js';
import { findFinishedArm, mergeTrainingSet, reportExperiment, saveArmResult, useGoldData } from './experiment.js';
import { scoreInfluence } from './influence.js';
import { createPrepareActivities } from './prepare.js';
import { studyQuality } from './quality.js';
import { writeReport } from './report.js';
import type { ActivityDeps } from './deps.js';
import { trainAndEvaluate } from './student.js';
import { createSynthesisActivities } from './synthesize.js';

export type { ActivityDeps } from './deps.js';

/**
 * @param deps the worker's teacher pool (one shared backend per model)
 * @returns the activity functions by the names the workflows schedule them under
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPrepareActivities(deps),
    ...createSynthesisActivities(deps),
    trainAndEvaluate,
    selectCandidates,
    writeReport,
    // experiment harness
    useGoldData,
    mergeTrainingSet,
    saveArmResult,
    findFinishedArm,
    scoreInfluence,
    studyQuality,
    reportExperiment,
  };
}

/** The activity interface the workflows proxy. */
export type S3Activities = ReturnType<typeof createActivities>;
/** The same interface, as the experiment workflows name it. */
export type ExperimentActivities = S3Activities;
