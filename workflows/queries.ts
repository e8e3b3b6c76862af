/** Query handles of the workflows, typed by what each answers (defined once, used by the
 * workflows that answer them and by clients). Pure module. */
import { defineQuery } from '@temporalio/workflow';
import type { S3Progress } from './types.js';

/** s3Synthesis `progress`: the phase, per-round results so far, teacher usage, budget. */
export const progressQuery = defineQuery<S3Progress>('progress');
