/**
 * The activities behind the steering Updates (issue 20, workflows/steering.ts):
 * - mergeGoldValidation (addGold): human-labeled rows (inline or from a gold file) checked as
 *   gold data is at load (known labels, text and text pair, length limit, duplicate ids), never
 *   overlapping gold test, merged with the current gold validation pool into a new artifact
 *   `<runId>/gold/validation+<n>.jsonl`; the workflow scores the next round's student on it.
 */
import type { S3Config } from '../config/schema.js';
import { goldOptionsOf, limitExample, loadGoldFile } from '../data/gold.js';
import type { AddGoldInput } from '../domain/steering.js';
import { addGoldProblem } from '../domain/steering.js';
import { ExampleSchema, type DatasetRef, type Example } from '../domain/types.js';
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
