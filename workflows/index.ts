/** Workflow entry point bundled by the worker. */
export { s3Synthesis, progressQuery } from './s3Synthesis.js';
