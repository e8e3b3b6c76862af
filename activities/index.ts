/**
 * The activities of the S3 workflow (all side effects live here), built from the worker's
 * dependencies as in temporalio/samples-typescript: `createActivities({ teachers })`.
 */
import { createPrepareActivities } from './prepare.js';
import { writeReport } from './report.js';
import type { ActivityDeps } from './run.js';
import { trainAndEvaluate } from './student.js';
import { createSynthesisActivities } from './synthesize.js';

export type { ActivityDeps } from './run.js';

/**
 * @param deps the worker's teacher pool (one shared backend per model)
 * @returns the activity functions by the names the workflow schedules them under
 */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPrepareActivities(deps),
    ...createSynthesisActivities(deps),
    trainAndEvaluate,
    writeReport,
  };
}

/** The activity interface the workflow proxies. */
export type S3Activities = ReturnType<typeof createActivities>;
