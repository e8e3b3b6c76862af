/**
 * Label agreement for the activities that write a final dataset (writeReport for a run,
 * mergeTrainingSet for an experiment arm): reads the gold data the run holds through the
 * artifact store, fits the reference (quality/labelAgreement.ts: gold train split if any,
 * else gold validation with cross-fitting; never test) and annotates every synthetic row's
 * provenance with the reference's verdict.
 */
import { taskKindOf } from '../tasks/index.js';
import type { S3Config } from '../config/schema.js';
import { ExampleSchema, type Example, type Provenance } from '../domain/types.js';
import {
  labelAgreementOf,
  referenceCandidates,
  type LabelAgreement,
  type ReferenceCandidate,
} from '../quality/labelAgreement.js';
import type { ArtifactStore } from '../store/index.js';
import type { StoreDeps } from './deps.js';
import { embeddingCacheOf, studentConfigOf } from './paths.js';
import type { TaskRefs } from './prepare.js';

/**
 * The reference candidates of a run (quality/labelAgreement.ts referenceCandidates): TF-IDF, and
 * the run's encoder student with its embedding cache when that is the student. Shared by label
 * agreement and the `reference` filter (activities/filters.ts), so both judge with the same one.
 */
export function referenceCandidatesOf(config: S3Config, deps: StoreDeps = {}): ReferenceCandidate[] {
  return referenceCandidates(studentConfigOf(config), embeddingCacheOf(deps, config));
}

/**
 * @param rows the final training set (synthetic rows carry provenance; gold rows do not)
 * @param deps opens the shared embedding cache when the reference may be the run's encoder
 *   student (quality/labelAgreement.ts referenceCandidates)
 * @returns the rows with `provenance.reference` set on the synthetic ones, and the agreement;
 *   null when there is no synthetic row
 */
export async function referenceVerdicts<R extends Example & { provenance?: Provenance }>(
  store: ArtifactStore,
  config: S3Config,
  task: TaskRefs,
  rows: R[],
  deps: StoreDeps = {},
): Promise<{ rows: R[]; agreement: LabelAgreement } | null> {
  if (!rows.some((r) => r.provenance)) return null;
  // extractive QA: the label is an answer span, not a class a reference classifier could check
  if (taskKindOf(config.task).rowFormat === 'squad') return null;
  const validation = await store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true });
  const train = task.train ? await store.getJsonl(task.train, ExampleSchema, { allowEmpty: true }) : null;
  const r = await labelAgreementOf(
    rows,
    { train, validation },
    config.task.labels,
    config.seed,
    referenceCandidatesOf(config, deps),
  );
  if (!r) return null;
  const verdict = new Map(r.synthetic.map((x, i) => [x, r.verdicts[i]]));
  return {
    agreement: r.agreement,
    rows: rows.map((x) => {
      const v = verdict.get(x);
      return v && x.provenance ? { ...x, provenance: { ...x.provenance, reference: v } } : x;
    }),
  };
}
