/**
 * Sentence-pair classification (task.kind "pair", e.g. NLI): an example is a context (premise,
 * `text`) and a sentence (hypothesis, `text_pair`) with a label. The teacher keeps the context
 * and writes only the sentence (S3 §2.4, Alg. 3): seed prompts are conditioned on a context
 * drawn from the unlabeled pool and the label (T_query^(2)), EES shows the context and the
 * misclassified sentence (T_mis^(2)). Pair tasks never use rationales (§2.4).
 * Pure module.
 */
import type { TemplateName } from '../domain/prompts.js';
import { classificationParts, nonBlank } from './classification.js';
import { SINGLE_TEMPLATES } from './single.js';
import type { StudentInput, TaskKind } from './types.js';

/** Defaults for sentence-pair tasks (NLI), the RTE row of S3 Table 1 (T_query^(2), T_mis^(2)). */
export const PAIR_TEMPLATES: Readonly<Record<TemplateName, string>> = {
  ration: SINGLE_TEMPLATES.ration,
  query: '{context} \nBased on the above description, the following sentence is definitely {label}:',
  queryPlain: '{context} \nBased on the above description, the following sentence is definitely {label}:',
  queryIcl:
    'Examples of sentences that are definitely {label} based on their description:\n{examples}\n' +
    '{context} \nBased on the above description, the following sentence is definitely {label}:',
  mis:
    '{context} \nBased on the above description, the following sentence: {example} is definitely {label}. ' +
    'Now write a sentence similar to the given sentence and is definitely {label} based on the given description.',
  judge:
    '{context} \nHow hard is it to tell that the following sentence is definitely {label} based on the above description? ' +
    'Answer with one number from 1 (very easy) to 5 (very hard).\n{example}',
};

/** The new example keeps the context; the teacher's output is its sentence. */
const keeping = (context: string) => (output: string) => ({ text: context, text_pair: output });
const inputOf = (x: StudentInput): StudentInput =>
  x.text_pair === undefined ? { text: x.text } : { text: x.text, text_pair: x.text_pair };

export const pair: TaskKind = {
  name: 'pair',
  title: 'sentence-pair',
  ...classificationParts('pair', PAIR_TEMPLATES),

  columns: ['text', 'text_pair'],
  columnsNote: '`text` is the context (premise), `text_pair` the synthesized sentence.',
  readInput(fields, read) {
    const t = read.text(fields.text, 'text');
    const p = read.text(fields.textPair, 'text pair');
    if (t.from === undefined && p.from === undefined) return { input: { text: t.text, text_pair: p.text } };
    const truncatedFrom: { text?: number; text_pair?: number } = {};
    if (t.from !== undefined) truncatedFrom.text = t.from;
    if (p.from !== undefined) truncatedFrom.text_pair = p.from;
    return { input: { text: t.text, text_pair: p.text }, truncatedFrom };
  },
  inputProblem: (row) =>
    !nonBlank(row.text) ? 'has no text' : !nonBlank(row.text_pair) ? 'has no text_pair (a sentence-pair task)' : null,
  inputOf,
  columnsOf: (x) => ({ text: x.text, text_pair: x.text_pair ?? '' }),
  target: (x) => x.text_pair ?? '',
  similarityText: (x) => x.text_pair ?? x.text,
  mapText: (x) => (x.text_pair !== undefined ? `${x.text} ${x.text_pair}` : x.text),

  usesContexts: true,
  // the premise, as before the task kinds (RTE premises recur across splits: a warning only)
  heldOutKey: (x) => x.text,

  usesRationales: () => false,
  drawSeed: (rng, _label, pools) => ({ rationales: [], context: rng.pick(pools.contexts) }), // c_curr ~ U_1(C)
  seedPrompt(c, { prompts, label, examples }) {
    const context = c.context ?? '';
    return {
      template: pair.template(examples.length ? 'queryIcl' : 'query', prompts),
      vars: { context, label, examples },
      long: 'context',
      rationales: [],
      compose: keeping(context),
    };
  },
  eesPrompt(x, _rationales, ctx) {
    return {
      template: pair.template('mis', ctx.prompts),
      vars: pair.showExample(x, ctx),
      long: 'example',
      rationales: [],
      promptExample: x.text_pair ?? '',
      compose: keeping(x.text),
    };
  },
  showExample: (x, { label }) => ({ context: x.text, example: x.text_pair ?? '', label }),
};
