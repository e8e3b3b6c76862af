/** The activities of the S3 workflow (all side effects live here). */
export { prepareTask } from './prepare.js';
export { synthesizeRationales, synthesizeSeed, extrapolateErrors } from './synthesize.js';
export { trainAndEvaluate } from './student.js';
export { writeReport } from './report.js';
