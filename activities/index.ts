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
import { applyReview, mergeGoldValidation } from './steering.js';
import type { ActivityDeps, StoreDeps } from './deps.js';
import { trainAndEvaluate } from './student.js';
import { createSynthesisActivities } from './synthesize.js';

export type { ActivityDeps } from './deps.js';

/**
 * @param deps the worker's teacher pool (one shared backend per model) and the artifact store
 *   every activity reads and writes through (`openStore`; default: local folders, store/)
 * @returns the activity functions by the names the workflows schedule them under
 */
export function createActivities(deps: ActivityDeps) {
  // the activities that only read and write artifacts take (input, deps): bind the worker's store
  const bound =
    <I, O>(activity: (input: I, deps: StoreDeps) => Promise<O>) =>
    (input: I) =>
      activity(input, deps);
  return {
    ...createPrepareActivities(deps),
    ...createSynthesisActivities(deps),
    trainAndEvaluate: bound(trainAndEvaluate),
    selectCandidates: bound(selectCandidates),
    writeReport: bound(writeReport),
    // steering Updates (workflows/steering.ts)
    mergeGoldValidation: bound(mergeGoldValidation),
    applyReview: bound(applyReview),
    // experiment harness
    useGoldData: bound(useGoldData),
    mergeTrainingSet: bound(mergeTrainingSet),
    saveArmResult: bound(saveArmResult),
    findFinishedArm: bound(findFinishedArm),
    scoreInfluence: bound(scoreInfluence),
    studyQuality: bound(studyQuality),
    reportExperiment: bound(reportExperiment),
  };
}

/** The activity interface the workflows proxy. */
export type S3Activities = ReturnType<typeof createActivities>;
/** The same interface, as the experiment workflows name it. */
export type ExperimentActivities = S3Activities;
