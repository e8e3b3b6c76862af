/**
 * selectCandidates: the "evaluate–select" half of generate–evaluate–select (Kessler et al.
 * 2025, arXiv 2512.00884). The teacher wrote m = synthesis.candidatesPerPick candidates per
 * picked pool item (extrapolateErrors); the student that made the picks scores them with the
 * same acquisition function and keeps one per pool item (acquisition/candidates.ts).
 */
import type { S3Config } from '../config/schema.js';
import { scoreSummary, type ScoreSummary } from '../acquisition/index.js';
import { selectPerGroup, type CandidatePick } from '../acquisition/candidates.js';
import { SyntheticExampleSchema, type DatasetRef, type SyntheticExample } from '../domain/types.js';
import { refUri, type ArtifactStore } from '../store/index.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity } from './context.js';
import type { StoreDeps } from './deps.js';
import { keyOfRef, runArtifacts } from './paths.js';
import { acquisitionFeatures, fitStudent } from './student.js';

/** Input of selectCandidates. */
export interface SelectCandidatesInput {
  config: S3Config;
  task: TaskRefs;
  round: number;
  /** the training set the picking student was trained on (before this round's additions) */
  train: DatasetRef[];
  /** synthetic/ees-round-<q>.jsonl with m candidates per pool item */
  candidates: DatasetRef;
}

/** What selectCandidates kept. */
export interface SelectCandidatesResult {
  /** synthetic/ees-round-<q>.selected.jsonl: one candidate per pool item */
  ref: DatasetRef;
  /** synthetic/ees-round-<q>.discarded.jsonl: the candidates not kept (paid for) */
  discardedRef: DatasetRef;
  /** candidates scored and pool items they came from */
  candidates: number;
  poolItems: number;
  /** the kept candidates' scores (min / median / max) */
  kept: ScoreSummary | null;
}

/** Re-fits the picking student and keeps one candidate per pool item (acquisition/candidates.ts). */
async function scoreAndSelect(
  store: ArtifactStore,
  input: SelectCandidatesInput,
  rows: SyntheticExample[],
  groups: string[],
  beat: Record<string, unknown>,
  deps: StoreDeps,
): Promise<CandidatePick[]> {
  const { config, task, round } = input;
  const name = config.synthesis.acquisition;
  const { student, train } = await fitStudent(store, config, task, input.train, round, beat, deps);
  beat.phase = 'score candidates';
  const labels = config.task.labels;
  return selectPerGroup(
    name,
    {
      ids: rows.map((r) => r.id),
      probs: await student.predictProba(rows),
      labels: rows.map((r) => labels.indexOf(r.label)),
      batch: 1,
      seed: config.seed * 1000 + round,
      ...(await acquisitionFeatures(name, student, rows, train, config.seed)),
    },
    groups,
  );
}

/**
 * Re-fits the round's student (same training set and seed: the same student that picked),
 * scores every candidate on the label the teacher was asked for, and keeps per pool item the
 * candidate the acquisition function (synthesis.acquisition) ranks first.
 * @returns references to the kept and the discarded candidates, in candidate-file order
 * @throws ApplicationFailure InvalidInput when a candidate has no provenance.acquisition
 *   (it was not written by extrapolateErrors with candidatesPerPick > 1) or for teacher-judge
 */
export async function selectCandidates(
  input: SelectCandidatesInput,
  deps: StoreDeps = {},
): Promise<SelectCandidatesResult> {
  const beat: Record<string, unknown> = { phase: 'read', round: input.round };
  return runActivity(
    input.config,
    () => beat,
    async () => {
      if (input.config.synthesis.acquisition === 'teacher-judge')
        throw invalidInput('selectCandidates: teacher-judge cannot select among candidates (no student-side score)');
      const { store } = runArtifacts(deps, input.config);
      const rows = await store.getJsonl(input.candidates, SyntheticExampleSchema, { allowEmpty: true });
      const groups = rows.map((r, i) => {
        const a = r.provenance.acquisition;
        if (!a?.candidate)
          throw invalidInput(
            `${refUri(input.candidates)}: row ${i + 1} (${r.id}) is not a candidate (no provenance.acquisition.candidate)`,
          );
        return a.poolItem;
      });
      // written next to the candidates: synthetic/ees-round-<q>.{selected,discarded}.jsonl
      const stem = keyOfRef(store, input.candidates).replace(/\.jsonl$/, '');
      const picks = rows.length ? await scoreAndSelect(store, input, rows, groups, beat, deps) : [];
      const keptAt = new Map(picks.map((p) => [p.index, p]));
      const kept = rows.flatMap((r, i) => {
        const p = keptAt.get(i);
        if (!p) return [];
        const a = r.provenance.acquisition!;
        return [
          {
            ...r,
            provenance: {
              ...r.provenance,
              acquisition: { ...a, candidate: { ...a.candidate!, score: p.score, decidedBy: p.decidedBy } },
            },
          },
        ];
      });
      const discarded = rows.filter((_, i) => !keptAt.has(i));
      return {
        ref: await store.putJsonl(`${stem}.selected.jsonl`, kept),
        discardedRef: await store.putJsonl(`${stem}.discarded.jsonl`, discarded),
        candidates: rows.length,
        poolItems: picks.length,
        kept: scoreSummary(picks),
      };
    },
  );
}
