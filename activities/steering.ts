/**
 * The activities behind the steering Updates (issue 20, workflows/steering.ts):
 * - mergeGoldValidation (addGold): human-labeled rows (inline or from a gold file) checked as
 *   gold data is at load (known labels, text and text pair, length limit, duplicate ids), never
 *   overlapping gold test, merged with the current gold validation pool into a new artifact
 *   `<runId>/gold/validation+<n>.jsonl`; the workflow scores the next round's student on it.
 * - applyReview (review): the round's synthetic examples with the reviewer's rejections removed
 *   and relabels applied (recorded in each relabelled example's provenance.review), written as
 *   `<runId>/round-<q>/reviewed.jsonl`, with the decisions in `round-<q>/review.json`; only the
 *   reviewed examples train the student.
 */
import type { S3Config } from '../config/schema.js';
import { goldOptionsOf, limitExample, loadGoldFile } from '../data/gold.js';
import type { AddGoldInput, ReviewInput } from '../domain/steering.js';
import { addGoldProblem } from '../domain/steering.js';
import {
  ExampleSchema,
  SyntheticExampleSchema,
  type DatasetRef,
  type Example,
  type SyntheticExample,
} from '../domain/types.js';
import { taskKindOf } from '../tasks/index.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity } from './context.js';
import type { StoreDeps } from './deps.js';
import { runArtifacts } from './paths.js';

/** Fields of a gold file when the run's source has none (spamassassin): id, text, text_pair, label. */
const DEFAULT_FIELDS = { text: 'text', textPair: 'text_pair', label: 'label', id: 'id' };

/**
 * @param input.current the gold validation pool in force (TaskRefs.validation, or an earlier merge)
 * @param input.batch the number of this addition (1, 2, …): names the artifact
 * @returns the merged pool's reference, the rows added and their ids
 * @throws ApplicationFailure InvalidInput (non-retryable): a bad row or file (label, text,
 *   duplicate id within the rows), an id already in the validation or test pool, a text that is
 *   in the gold test split (it would leak into scoring) or already in the validation pool
 */
export async function mergeGoldValidation(
  input: { config: S3Config; task: TaskRefs; current: DatasetRef; add: AddGoldInput; batch: number },
  deps: StoreDeps = {},
): Promise<{ ref: DatasetRef; added: number; ids: string[] }> {
  return runActivity(
    input.config,
    () => ({ phase: 'add gold' }),
    async () => {
      const { config, task, add } = input;
      const labels = config.task.labels;
      const problem = addGoldProblem(add, { labels, kind: config.task.kind });
      if (problem) throw invalidInput(`addGold: ${problem}`);
      const gold = goldOptionsOf(config);
      let rows: Example[];
      if (add.file) {
        const src = config.task.source;
        const fields = src.type === 'files' ? src.fields : DEFAULT_FIELDS;
        rows = (await loadGoldFile(add.file, { ...gold, fields, labels, kind: config.task.kind })).rows;
      } else
        rows = add.rows!.map((r) => {
          // the task kind's input fields (text; a pair's text_pair too)
          const row = ExampleSchema.parse({ id: r.id, ...taskKindOf(config.task).inputOf(r), label: r.label });
          return limitExample(row, gold.maxChars).row;
        });
      const run = runArtifacts(deps, config);
      const current = await run.store.getJsonl(input.current, ExampleSchema);
      const test = await run.store.getJsonl(task.test, ExampleSchema);
      const textOf = (r: Example) => (r.text_pair === undefined ? r.text : `${r.text}\u0000${r.text_pair}`);
      const ids = new Map<string, string>([
        ...current.map((r) => [r.id, 'validation'] as const),
        ...test.map((r) => [r.id, 'test'] as const),
      ]);
      const inTest = new Set(test.map(textOf));
      const inValidation = new Set(current.map(textOf));
      for (const r of rows) {
        const where = ids.get(r.id);
        if (where) throw invalidInput(`addGold: id ${r.id} is already in the gold ${where} split`);
        if (inTest.has(textOf(r)))
          throw invalidInput(`addGold: row ${r.id} is a gold test example (test data never trains or steers the run)`);
        if (inValidation.has(textOf(r))) throw invalidInput(`addGold: row ${r.id} is already in the validation pool`);
      }
      const ref = await run.store.putJsonl(run.key('gold', `validation+${input.batch}.jsonl`), [...current, ...rows]);
      return { ref, added: rows.length, ids: rows.map((r) => r.id) };
    },
  );
}

/**
 * Applies a review to one round's synthetic data.
 * @param input.data the round's synthetic datasets (made since the last trained student)
 * @param input.at workflow time of the review (ISO 8601)
 * @returns the reviewed examples' reference and the counts
 * @throws ApplicationFailure InvalidInput when a decision names an example that is not in `data`,
 *   or relabels to a label the task does not have
 */
export async function applyReview(
  input: { config: S3Config; data: DatasetRef[]; review: ReviewInput; round: number; at: string },
  deps: StoreDeps = {},
): Promise<{ ref: DatasetRef; kept: number; rejected: number; relabelled: number }> {
  return runActivity(
    input.config,
    () => ({ phase: 'review' }),
    async () => {
      const { config, round, at } = input;
      const run = runArtifacts(deps, config);
      const rows: SyntheticExample[] = [];
      for (const ref of input.data)
        rows.push(...(await run.store.getJsonl(ref, SyntheticExampleSchema, { allowEmpty: true })));
      const decisions = new Map((input.review.decisions ?? []).map((d) => [d.id, d]));
      const known = new Set(rows.map((r) => r.id));
      for (const [id, d] of decisions) {
        if (!known.has(id)) throw invalidInput(`review: ${id} is not an example of round ${round}`);
        if (d.action === 'relabel' && !config.task.labels.includes(d.label ?? ''))
          throw invalidInput(`review: ${id} relabelled to ${JSON.stringify(d.label)}, not a label of the task`);
      }
      const by = input.review.by ?? 'reviewer';
      let rejected = 0;
      let relabelled = 0;
      const kept = rows.flatMap((r) => {
        const d = decisions.get(r.id);
        if (!d) return [r];
        if (d.action === 'reject') {
          rejected++;
          return [];
        }
        relabelled++;
        const review = { by, at, from: r.label, ...(d.reason ? { reason: d.reason } : {}) };
        return [{ ...r, label: d.label!, provenance: { ...r.provenance, review } }];
      });
      await run.store.put(
        run.key(`round-${round}`, 'review.json'),
        JSON.stringify({ round, by, at, decisions: input.review.decisions ?? [] }, null, 2),
      );
      const ref = await run.store.putJsonl(run.key(`round-${round}`, 'reviewed.jsonl'), kept);
      return { ref, kept: kept.length, rejected, relabelled };
    },
  );
}
