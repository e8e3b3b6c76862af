/** S3 Alg. 1 lines 3-8 (§2.4 for pairs): seed data, and ProGen's in-context rounds. */

import type { S3Config } from '../config/schema.js';
import { labelWord } from '../domain/prompts.js';
import { Rng } from '../domain/rng.js';
import { ExampleSchema, SyntheticExampleSchema, type DatasetRef } from '../domain/types.js';
import { taskKindOf } from '../tasks/index.js';
import { pickDemos, withDemos } from '../domain/demos.js';
import { seedDemosOf } from '../methods/index.js';
import type { TaskRefs } from './prepare.js';
import { warn } from './context.js';
import type { ActivityDeps } from './deps.js';
import { TeacherSession, planned, synthesizeExamples, type SynthesisResult, type Want } from './teacherSession.js';
import { RationaleRowSchema } from './rationales.js';

/** Input of synthesizeSeed. Only `config`, `task` and `rationales` are in old histories. */
export interface SeedInput {
  config: S3Config;
  task: TaskRefs;
  /** rationales.jsonl from synthesizeRationales */
  rationales: DatasetRef;
  /** first seed index to synthesize (default 0): fill-up batches continue the same seeded
   * sequence of labels / rationales / contexts, so index i always asks the same prompt */
  from?: number;
  /** how many seed examples (default synthesis.seedSize) */
  count?: number;
  /** ProGen: JSONL of in-context examples ({label, text, text_pair?}); each prompt shows the
   * ones of its label with template T_icl (single text) instead of T_query */
  inContext?: DatasetRef;
  /** round recorded in provenance and used to tell the prompts of ProGen rounds apart (default 0) */
  round?: number;
  /** output file name under synthetic/ without extension (default "seed") */
  file?: string;
  /** stop once this many prompt + completion tokens were spent (token budgets) */
  tokenLimit?: number;
  /** the training data so far (fill-up batches): only the near-duplicate filter compares with
   * it (synthesis.filters.nearDuplicates); without it a seed batch is compared with itself */
  train?: DatasetRef[];
}

/**
 * Alg. 1 lines 3-8: N_seed examples; each samples a label uniformly and k of its rationales
 * (T_query^(1)), or, for pair tasks (§2.4), a context and a label (T_query^(2)).
 * All sampling comes from Rng(config.seed, "seed-data") (ProGen round q: "icl-<q>"), in index
 * order, so indices [from, from + count) of a longer run ask exactly the same prompts.
 * @returns reference to synthetic/<file>.jsonl (SyntheticExample with provenance, origin
 *   "seed" — "icl" when inContext is given — and round `round`)
 */
export async function synthesizeSeed(deps: ActivityDeps, input: SeedInput): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config, task } = input;
    const { labels, item, labelWords, prompts } = config.task;
    const kind = taskKindOf(config.task);
    const from = input.from ?? 0;
    const count = input.count ?? config.synthesis.seedSize;
    const round = input.round ?? 0;
    const icl = new Map<string, string[]>();
    if (input.inContext)
      for (const r of await teacher.artifacts.store.getJsonl(input.inContext, ExampleSchema, { allowEmpty: true }))
        icl.set(r.label, [...(icl.get(r.label) ?? []), kind.target(r)]);
    const byLabel = new Map(
      (await teacher.artifacts.store.getJsonl(input.rationales, RationaleRowSchema, { allowEmpty: true })).map((r) => [
        r.label,
        r.rationales,
      ]),
    );
    const contextRows = task.contexts
      ? await teacher.artifacts.store.getJsonl(
          task.contexts,
          ExampleSchema.pick({ id: true, text: true }).extend({ answers: ExampleSchema.shape.answers }),
          { allowEmpty: true },
        )
      : [];
    const contexts = contextRows.map((c) => c.text);
    // extractive QA with given answers: every (passage, answer span) of the pool
    const spans = contextRows.flatMap((c) =>
      (c.answers?.text ?? []).map((answer, j) => ({ context: c.text, answer, start: c.answers!.answer_start[j] })),
    );
    const plain = kind.template('queryPlain', prompts);
    const rng = new Rng(config.seed, input.inContext ? `icl-${round}` : 'seed-data');
    const wants: Want[] = [];
    const prefix = input.inContext ? `icl${round}` : 'seed';
    // ProGen rounds get their own slots so that their samples never collide with seed data
    const slotBase = input.inContext ? round * 1_000_000 : 0;
    const pools = {
      rationales: byLabel,
      contexts,
      rationalesPerExample: config.synthesis.rationalesPerExample,
      ...(spans.length ? { spans } : {}),
    };
    // synthesis.seedDemos (s3-demos): k gold validation examples of the asked label above the prompt
    const k = input.inContext ? 0 : seedDemosOf(config);
    const gold = new Map<string, { id: string; text: string }[]>();
    if (k > 0)
      for (const x of await teacher.artifacts.store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true }))
        gold.set(x.label, [...(gold.get(x.label) ?? []), { id: x.id, text: kind.target(x) }]);
    for (let i = 0; i < from + count; i++) {
      const label = rng.pick(labels); // y_curr ~ U_1(Y)
      const condition = kind.drawSeed(rng, label, pools); // rationales, or a pair's context
      if (i < from) continue;
      const plan = kind.seedPrompt(condition, {
        prompts,
        item,
        label: labelWord(label, labelWords),
        examples: icl.get(label) ?? [],
      });
      const want: Want = {
        id: `${prefix}-${i}`,
        label: condition.answer?.text ?? label, // QA: the answer span is the example's label
        misclassifiedId: null,
        slot: slotBase + i,
        ...planned(plan),
      };
      const demos = k > 0 ? pickDemos(gold.get(label) ?? [], k, config.seed, i) : null;
      if (demos?.ids.length) {
        const vars = { item, label: labelWord(label, labelWords) };
        const shorten = want.shorten;
        Object.assign(want, {
          demos,
          prompt: withDemos(want.prompt, demos.texts, vars),
          templateId: `${want.templateId}+demos`,
          ...(shorten
            ? {
                shorten: (keep: number) => {
                  const cut = shorten(keep);
                  return { ...cut, prompt: withDemos(cut.prompt, demos.texts, vars) };
                },
              }
            : {}),
        });
      }
      wants.push(want);
    }
    const warnings: string[] = [];
    const plainLabels = [...new Set(wants.filter((w) => w.templateId === plain.id).map((w) => w.label))];
    if (kind.usesRationales(config) && plainLabels.length) {
      warnings.push(
        `seed prompts for label(s) ${plainLabels.join(', ')} fell back to the plain template: no rationales for them`,
      );
      warn(warnings[0]);
    }
    const filterSeen: string[] = [];
    if (input.train && config.synthesis.filters?.nearDuplicates)
      for (const ref of input.train)
        for (const r of await teacher.artifacts.store.getJsonl(ref, SyntheticExampleSchema, { allowEmpty: true }))
          filterSeen.push(kind.target(r));
    const result = await synthesizeExamples(teacher, wants, {
      origin: input.inContext ? 'icl' : 'seed',
      gold: task,
      filterSeen,
      round,
      file: ['synthetic', input.file ?? 'seed'],
      tokenLimit: input.tokenLimit,
    });
    return { ...result, warnings: [...(result.warnings ?? []), ...warnings] };
  });
}
