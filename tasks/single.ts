/**
 * Single-text classification (task.kind "single"): an example is one text with a label; the
 * teacher writes the whole text. Seed prompts are conditioned on the label and k rationales
 * of it (S3 Alg. 1, T_query^(1)); EES shows the misclassified text (T_mis^(1)).
 * Pure module.
 */
import type { TemplateName } from '../domain/prompts.js';
import { classificationParts, nonBlank } from './classification.js';
import type { PromptPlan, TaskKind } from './types.js';

/** Defaults for single-text tasks, generalised from the IMDb row of S3 Table 1. */
export const SINGLE_TEMPLATES: Readonly<Record<TemplateName, string>> = {
  ration:
    'Imagine you are reading a {item}; consider {K} reasons that may lead to a {label} {item}. List them one per line.',
  query: 'Now imagine that you just read a {item} that has {rationales}. Now you should write a {label} {item}.',
  queryPlain: 'Write a {label} {item}.',
  queryIcl: 'Here are examples of a {label} {item}:\n{examples}\nNow write a new {label} {item}.',
  mis: 'Write a {label} {item} similar to: \n {example}',
  judge:
    'How hard is it to tell that the following {item} is {label}? Answer with one number from 1 (very easy) to 5 (very hard).\n{example}',
};

const compose = (output: string) => ({ text: output });

export const single: TaskKind = {
  name: 'single',
  title: 'single-text',
  ...classificationParts('single', SINGLE_TEMPLATES),

  columns: ['text'],
  columnsNote: '',
  readInput(fields, read) {
    const t = read.text(fields.text, 'text');
    return { input: { text: t.text }, ...(t.from !== undefined ? { truncatedFrom: { text: t.from } } : {}) };
  },
  inputProblem: (row) => (nonBlank(row.text) ? null : 'has no text'),
  inputOf: (x) => ({ text: x.text }),
  columnsOf: (x) => ({ text: x.text }),
  target: (x) => x.text,
  similarityText: (x) => x.text,
  mapText: (x) => x.text,

  usesContexts: false,
  heldOutKey: (x) => x.text,

  usesRationales: (config) => config.synthesis.useRationales,
  drawSeed: (rng, label, pools) => ({
    rationales: rng.sample(pools.rationales.get(label) ?? [], pools.rationalesPerExample), // r_curr ~ U_k(r_y)
  }),
  seedPrompt(c, { prompts, item, label, examples }) {
    // ProGen's in-context examples, else T_query with rationales, else the plain query
    const name = examples.length ? 'queryIcl' : c.rationales.length ? 'query' : 'queryPlain';
    return {
      template: single.template(name, prompts),
      vars: { item, label, rationales: c.rationales, examples },
      rationales: c.rationales,
      compose,
    };
  },
  eesPrompt(x, rationales, ctx): PromptPlan {
    const { prompts, item, label } = ctx;
    if (rationales?.length)
      // a synthetic pool item: a new example from the same rationales (T_query, Alg. 1 line 7)
      return {
        template: single.template('query', prompts),
        vars: { item, label, rationales },
        rationales: [...rationales],
        promptExample: x.text,
        compose,
      };
    return {
      template: single.template('mis', prompts),
      vars: single.showExample(x, ctx),
      long: 'example',
      rationales: [],
      promptExample: x.text,
      compose,
    };
  },
  showExample: (x, { item, label }) => ({ item, example: x.text, label }),
};
