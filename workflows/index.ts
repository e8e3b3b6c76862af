/** Workflow entry point bundled by the worker: one run (s3Synthesis) and experiments
 * (s3Experiment, whose children are synthesisArm runs). */
export { s3Synthesis, progressQuery } from './s3Synthesis.js';
export { s3Experiment, experimentProgressQuery } from './s3Experiment.js';
export { synthesisArm, armProgressQuery } from './synthesisArm.js';
