/**
 * Unit tests of the task kinds (tasks/): each kind against known answers — the row it reads
 * from a gold record, its prompts for the seed and EES steps (rendered), how a teacher reply
 * becomes an example, its metrics and what "misclassified" means, and the registry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../config/schema.js';
import { renderPrompt } from '../../domain/prompts.js';
import { Rng } from '../../domain/rng.js';
import type { Example } from '../../domain/types.js';
import { getTemplate, TASK_KIND_NAMES, TASK_KINDS, taskKindOf, type FieldReader } from '../../tasks/index.js';

const single = taskKindOf({ kind: 'single' });
const pair = taskKindOf({ kind: 'pair' });
const fields = { text: 'sentence1', textPair: 'sentence2', label: 'label', id: 'idx' };

/** A FieldReader over a record, cutting to `maxChars` like data/gold.ts (errors as plain Errors). */
function reader(record: Record<string, unknown>, maxChars = 1000): FieldReader & { read: string[] } {
  const read: string[] = [];
  return {
    read,
    text(field, role) {
      read.push(`${role}:${field}`);
      const v = record[field];
      if (typeof v !== 'string' || !v.trim()) throw new Error(`missing ${role} field "${field}"`);
      return v.length > maxChars ? { text: v.slice(0, maxChars), from: v.length } : { text: v };
    },
  };
}

describe('registry', () => {
  test('every name has a kind, and taskKindOf finds it (default single)', () => {
    assert.deepEqual(Object.keys(TASK_KINDS), [...TASK_KIND_NAMES]);
    for (const name of TASK_KIND_NAMES) assert.equal(taskKindOf({ kind: name }).name, name);
    assert.equal(taskKindOf({}), single);
    assert.throws(() => taskKindOf({ kind: 'mcq' }), /unknown task kind "mcq" \(one of single, pair, qa\)/);
  });

  test('the configuration accepts exactly the registered names', () => {
    const task = { labels: ['a', 'b'], source: { type: 'spamassassin' } };
    assert.equal(parseConfig({ runId: 'r', task }).task.kind, 'single');
    assert.equal(parseConfig({ runId: 'r', task: { ...task, kind: 'pair' } }).task.kind, 'pair');
    assert.throws(() => parseConfig({ runId: 'r', task: { ...task, kind: 'qa' } }));
  });

  test('templates: Table 1 defaults per kind, overrides marked custom; getTemplate asks the kind', () => {
    assert.equal(single.template('mis').id, 'single.mis.table1');
    assert.equal(single.template('mis').text, 'Write a {label} {item} similar to: \n {example}');
    assert.equal(pair.template('query').id, 'pair.query.table1');
    assert.equal(pair.template('ration').text, single.template('ration').text);
    assert.deepEqual(pair.template('mis', { mis: 'X {example}' }), { id: 'pair.mis.custom', text: 'X {example}' });
    assert.deepEqual(getTemplate('pair', 'judge'), pair.template('judge'));
  });
});

describe('single-text classification', () => {
  const config = parseConfig({ runId: 'r', task: { labels: ['ham', 'spam'], source: { type: 'spamassassin' } } });

  test('reads only the text field; a cut text records its length', () => {
    const r = reader({ sentence1: 'Hello there', sentence2: 'ignored' });
    assert.deepEqual(single.readInput(fields, r), { input: { text: 'Hello there' } });
    assert.deepEqual(r.read, ['text:sentence1']);
    assert.deepEqual(single.readInput(fields, reader({ sentence1: 'abcdef' }, 4)), {
      input: { text: 'abcd' },
      truncatedFrom: { text: 6 },
    });
    assert.equal(single.inputProblem({ text: '  ' }), 'has no text');
    assert.equal(single.inputProblem({ text: 'x' }), null);
  });

  test('input, target, columns and the texts of the quality study are the text', () => {
    const x = { text: 'Win money', text_pair: 'stray' };
    assert.deepEqual(single.inputOf(x), { text: 'Win money' });
    assert.equal(single.target(x), 'Win money');
    assert.deepEqual(single.columns, ['text']);
    assert.deepEqual(single.columnsOf(x), { text: 'Win money' });
    assert.equal(single.similarityText(x), 'Win money');
    assert.equal(single.mapText(x), 'Win money');
    assert.equal(single.usesContexts, false);
  });

  test('rationales follow synthesis.useRationales', () => {
    assert.equal(single.usesRationales(config), true);
    assert.equal(single.usesRationales({ ...config, synthesis: { ...config.synthesis, useRationales: false } }), false);
  });

  test('seed: k rationales of the label from the rng (as Rng.sample draws them), T_query, else the plain query', () => {
    const rationales = new Map([['spam', ['urgent offers', 'unknown sender', 'odd links']]]);
    const pools = { rationales, contexts: [], rationalesPerExample: 2 };
    const c = single.drawSeed(new Rng(7, 'seed-data'), 'spam', pools);
    assert.deepEqual(c, { rationales: new Rng(7, 'seed-data').sample(rationales.get('spam')!, 2) });
    const plan = single.seedPrompt(
      { rationales: ['urgent offers', 'odd links'] },
      { prompts: {}, item: 'e-mail', label: 'spam', examples: [] },
    );
    assert.equal(
      renderPrompt(plan.template, plan.vars),
      'Now imagine that you just read an e-mail that has urgent offers and odd links. Now you should write a spam e-mail.',
    );
    assert.equal(plan.template.id, 'single.query.table1');
    assert.equal(plan.long, undefined);
    assert.deepEqual(plan.compose('Buy now, cheap pills!'), { text: 'Buy now, cheap pills!' });
    const plainPlan = single.seedPrompt(single.drawSeed(new Rng(7), 'ham', pools), {
      prompts: {},
      item: 'e-mail',
      label: 'normal (not spam)',
      examples: [],
    });
    assert.equal(renderPrompt(plainPlan.template, plainPlan.vars), 'Write a normal (not spam) e-mail.');
    const icl = single.seedPrompt(
      { rationales: [] },
      { prompts: {}, item: 'e-mail', label: 'spam', examples: ['A', 'B'] },
    );
    assert.equal(
      renderPrompt(icl.template, icl.vars),
      'Here are examples of a spam e-mail:\n- A\n- B\nNow write a new spam e-mail.',
    );
  });

  test('EES: T_mis with the misclassified text (cut when too long); a synthetic pick with rationales asks T_query', () => {
    const x: Example = { id: 'v1', text: 'Meeting at noon', label: 'ham' };
    const ctx = { prompts: {}, item: 'e-mail', label: 'normal (not spam)' };
    const plan = single.eesPrompt(x, undefined, ctx);
    assert.equal(
      renderPrompt(plan.template, plan.vars),
      'Write a normal (not spam) e-mail similar to: \n Meeting at noon',
    );
    assert.equal(plan.long, 'example');
    assert.equal(plan.promptExample, 'Meeting at noon');
    assert.deepEqual(plan.rationales, []);
    const withR = single.eesPrompt(x, ['short', 'polite'], ctx);
    assert.equal(withR.template.id, 'single.query.table1');
    assert.deepEqual(withR.rationales, ['short', 'polite']);
    assert.equal(withR.long, undefined);
    assert.equal(withR.promptExample, 'Meeting at noon');
    assert.deepEqual(single.eesPrompt(x, [], ctx).template.id, 'single.mis.table1');
  });

  test('a teacher reply is cleaned and judged: boilerplate, copies, duplicates', () => {
    const r = single.readOutput('Sure! Here is a spam e-mail: "Win a free cruise today, click now!"', {
      seen: new Set(),
    });
    assert.equal(r.text, 'Win a free cruise today, click now!');
    assert.deepEqual(r.verdict, { ok: true });
    assert.equal(r.key, 'win a free cruise today click now');
    assert.equal(single.compareKey('Win a FREE cruise today, click now!!'), r.key);
    assert.deepEqual(single.readOutput('Win a free cruise today, click now', { seen: new Set([r.key]) }).verdict, {
      ok: false,
      reason: 'duplicate',
    });
    assert.deepEqual(
      single.readOutput('Meeting at noon today.', { promptExample: 'meeting at noon today', seen: new Set() }).verdict,
      { ok: false, reason: 'copy_of_prompt_example' },
    );
    assert.deepEqual(single.readOutput('ok', { seen: new Set() }).verdict, { ok: false, reason: 'too_short' });
  });

  test('metrics: accuracy and macro-F1; misclassified = the predicted label is not the gold one', () => {
    const gold = ['ham', 'ham', 'spam', 'spam'].map((label, i) => ({ id: `${i}`, text: 't', label }));
    const m = single.score(gold, ['ham', 'spam', 'spam', 'spam'], ['ham', 'spam']);
    assert.equal(m.count, 4);
    assert.equal(m.accuracy, 0.75);
    assert.equal(m.misclassified, 1);
    assert.ok(Math.abs(m.macroF1 - (2 / 3 + 4 / 5) / 2) < 1e-12);
    assert.equal(single.isMisclassified('spam', { label: 'ham' }), true);
    assert.equal(single.isMisclassified('ham', { label: 'ham' }), false);
    assert.throws(() => single.score([], [], ['ham', 'spam']), /empty split/);
  });

  test('splits: every label present; a seeded sample as takeSample draws it; held out by text', () => {
    const rows = ['a', 'b', 'c', 'd'].map((t, i) => ({ id: `${i}`, text: t, label: i < 3 ? 'ham' : 'spam' }));
    assert.equal(single.checkSplit('validation', rows, ['ham', 'spam']), null);
    assert.equal(
      single.checkSplit('test', rows.slice(0, 3), ['ham', 'spam', 'other']),
      'gold test split has no example of label(s) spam, other',
    );
    assert.deepEqual(single.sample(rows, 2, new Rng(1, 'gold-val')), new Rng(1, 'gold-val').sample(rows, 2));
    assert.deepEqual(single.sample(rows, undefined, new Rng(1)), rows);
    assert.equal(single.heldOutKey({ text: 'a', text_pair: 'b' }), 'a');
  });
});

describe('sentence-pair classification', () => {
  const config = parseConfig({
    runId: 'r',
    task: { kind: 'pair', labels: ['entailment', 'not_entailment'], source: { type: 'spamassassin' } },
  });

  test('reads text, then text pair (both required); records which were cut', () => {
    const r = reader({ sentence1: 'A man sleeps.', sentence2: 'He rests.' });
    assert.deepEqual(pair.readInput(fields, r), { input: { text: 'A man sleeps.', text_pair: 'He rests.' } });
    assert.deepEqual(r.read, ['text:sentence1', 'text pair:sentence2']);
    assert.throws(() => pair.readInput(fields, reader({ sentence1: 'A man sleeps.' })), /missing text pair field/);
    assert.deepEqual(pair.readInput(fields, reader({ sentence1: 'short', sentence2: 'longer one' }, 6)), {
      input: { text: 'short', text_pair: 'longer' },
      truncatedFrom: { text_pair: 10 },
    });
    assert.equal(pair.inputProblem({ text: 'A' }), 'has no text_pair (a sentence-pair task)');
    assert.equal(pair.inputProblem({ text_pair: 'B' }), 'has no text');
    assert.equal(pair.inputProblem({ text: 'A', text_pair: 'B' }), null);
  });

  test('the teacher writes the sentence: target, columns, quality texts', () => {
    const x = { text: 'A man sleeps.', text_pair: 'He rests.' };
    assert.deepEqual(pair.inputOf(x), x);
    assert.deepEqual(pair.inputOf({ text: 'A' }), { text: 'A' });
    assert.equal(pair.target(x), 'He rests.');
    assert.deepEqual(pair.columns, ['text', 'text_pair']);
    assert.deepEqual(pair.columnsOf({ text: 'A' }), { text: 'A', text_pair: '' });
    assert.equal(pair.similarityText(x), 'He rests.');
    assert.equal(pair.mapText(x), 'A man sleeps. He rests.');
    assert.equal(pair.usesContexts, true);
  });

  test('never uses rationales (S3 §2.4), even when the configuration asks for them', () => {
    assert.equal(config.synthesis.useRationales, true);
    assert.equal(pair.usesRationales(config), false);
  });

  test('seed: a context from the pool (as Rng.pick draws it), T_query^(2) keeps it; the context is what gets cut', () => {
    const contexts = ['The cat sat on the mat.', 'Rain fell all day.', 'Prices rose in May.'];
    const pools = { rationales: new Map([['entailment', ['x']]]), contexts, rationalesPerExample: 2 };
    const c = pair.drawSeed(new Rng(3, 'seed-data'), 'entailment', pools);
    assert.deepEqual(c, { rationales: [], context: new Rng(3, 'seed-data').pick(contexts) });
    const plan = pair.seedPrompt(
      { rationales: [], context: 'Rain fell all day.' },
      { prompts: {}, item: 'sentence', label: 'correct', examples: [] },
    );
    assert.equal(
      renderPrompt(plan.template, plan.vars),
      'Rain fell all day. \nBased on the above description, the following sentence is definitely correct:',
    );
    assert.equal(plan.long, 'context');
    assert.deepEqual(plan.compose('The ground is wet.'), {
      text: 'Rain fell all day.',
      text_pair: 'The ground is wet.',
    });
    const icl = pair.seedPrompt(
      { rationales: [], context: 'C.' },
      { prompts: {}, item: 'sentence', label: 'correct', examples: ['E1'] },
    );
    assert.equal(icl.template.id, 'pair.queryIcl.table1');
  });

  test('EES (Alg. 3): T_mis^(2) shows context and sentence, keeps the context, ignores rationales', () => {
    const x: Example = { id: 'v2', text: 'A man sleeps.', text_pair: 'He runs.', label: 'not_entailment' };
    const plan = pair.eesPrompt(x, ['ignored'], { prompts: {}, item: 'sentence', label: 'wrong' });
    assert.equal(
      renderPrompt(plan.template, plan.vars),
      'A man sleeps. \nBased on the above description, the following sentence: He runs. is definitely wrong. ' +
        'Now write a sentence similar to the given sentence and is definitely wrong based on the given description.',
    );
    assert.equal(plan.template.id, 'pair.mis.table1');
    assert.deepEqual(plan.rationales, []);
    assert.equal(plan.long, 'example');
    assert.equal(plan.promptExample, 'He runs.');
    assert.deepEqual(plan.compose('He jogs.'), { text: 'A man sleeps.', text_pair: 'He jogs.' });
    assert.deepEqual(pair.showExample(x, { item: 'sentence', label: 'wrong' }), {
      context: 'A man sleeps.',
      example: 'He runs.',
      label: 'wrong',
    });
  });

  test('metrics and misclassified as for any classification', () => {
    const gold = ['entailment', 'not_entailment'].map((label, i) => ({ id: `${i}`, text: 'c', text_pair: 's', label }));
    const m = pair.score(gold, ['entailment', 'entailment'], ['entailment', 'not_entailment']);
    assert.deepEqual({ accuracy: m.accuracy, misclassified: m.misclassified }, { accuracy: 0.5, misclassified: 1 });
    assert.ok(Math.abs(m.macroF1 - (2 / 3 + 0) / 2) < 1e-12);
    assert.equal(pair.isMisclassified('entailment', { label: 'not_entailment' }), true);
  });
});
