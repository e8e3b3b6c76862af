/** Where workers and clients find Temporal (environment, with local dev-server defaults). */
export const TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const TEMPORAL_NAMESPACE = process.env.TEMPORAL_NAMESPACE ?? 'default';
export const TASK_QUEUE = process.env.S3_TASK_QUEUE ?? 's3-synth';
/** Activity slots of a worker (S3_MAX_ACTIVITIES, default 4). */
export const MAX_ACTIVITIES = Number(process.env.S3_MAX_ACTIVITIES ?? 4);
