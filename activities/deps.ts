/**
 * What the activities are built from: the per-worker dependencies handed to
 * `createActivities(deps)`.
 */
import type { OpenStore } from '../store/index.js';
import type { TeacherPool } from '../teacher/index.js';

/** What the activities are built from (`createActivities(deps)`): one per worker process. */
export interface ActivityDeps {
  /** the worker's shared teachers: one backend per model, with cache de-duplication and a fair queue */
  teachers: TeacherPool;
  /** opens the artifact store a run writes to and reads from (store/): every activity reads and
   * writes its artifacts through it (default `openStore`: a local folder, `file://` URIs) */
  openStore?: OpenStore;
}

/** The part of the dependencies the artifact-only activities use (no teacher). */
export type StoreDeps = Pick<ActivityDeps, 'openStore'>;
