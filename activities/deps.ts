/**
 * What the activities are built from: the per-worker dependencies handed to
 * `createActivities(deps)`.
 */
import type { TeacherPool } from '../teacher/index.js';

/** What the activities are built from (`createActivities(deps)`): one per worker process. */
export interface ActivityDeps {
  /** the worker's shared teachers: one backend per model, with cache de-duplication and a fair queue */
  teachers: TeacherPool;
}
