/**
 * The extractive QA task kind (tasks/qa.ts) and its gold splits (data/qa.ts qaGoldSplits):
 * known answers for prompts, cleaning of questions, teacher-proposed spans, EM / F1 and the
 * split by passage.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FINETUNE_QA_ACQUISITIONS, parseConfig } from '../../config/schema.js';
import { qaGoldSplits } from '../../data/qa.js';
import { renderPrompt } from '../../domain/prompts.js';
import { isQaRounds, roundTableHead } from '../../domain/roundTable.js';
import { exportRun } from '../../scripts/export.js';
import { EXPERIMENT_TABLE_HEAD, experimentTableHead } from '../../report/experimentReport.js';
import { Rng } from '../../domain/rng.js';
import type { Example } from '../../domain/types.js';
import { parseQaReply, QA_PROPOSE_GRAMMAR, QA_QUESTION_GRAMMAR, questionProblem } from '../../tasks/qa.js';
import { taskKindOf } from '../../tasks/index.js';

const qa = taskKindOf({ kind: 'qa' });
const CONTEXT =
  'The Hoppings funfair, said to be the largest travelling funfair in Europe, is held on the Town Moor annually in June.';
const ctx = { prompts: {}, item: 'question', label: 'answer' };
const gold: Example = {
  id: 'q1',
  text: CONTEXT,
  text_pair: 'Where is the Hoppings held?',
  label: 'the Town Moor',
  answers: { text: ['the Town Moor', 'Town Moor'], answer_start: [86, 90] },
};
const empty = new Set<string>();

describe('qa task kind', () => {
  test('configuration: kind "qa" with one label name; a classification still needs two labels', () => {
    const c = parseConfig({
      task: {
        kind: 'qa',
        labels: ['answer'],
        source: { type: 'files', validation: 'v', test: 't', answers: 'teacher' },
      },
      student: { kind: 'finetune' },
    });
    assert.equal(c.task.kind, 'qa');
    assert.throws(
      () => parseConfig({ task: { labels: ['x'], source: { type: 'spamassassin' } } }),
      /task\.labels: a classification task needs at least 2 labels/,
    );
    assert.throws(
      () => parseConfig({ task: { kind: 'qa', labels: ['answer'], source: { type: 'spamassassin' } } }),
      /task\.kind "qa" needs the span-extraction student \(student\.kind "finetune"\)/,
    );
  });

  test('no rationales, a contexts pool, rows read by data/qa.ts', () => {
    assert.equal(
      qa.usesRationales(
        parseConfig({
          task: { kind: 'qa', labels: ['answer'], source: { type: 'spamassassin' } },
          student: { kind: 'finetune' },
        }),
      ),
      false,
    );
    assert.equal(qa.usesContexts, true);
    assert.equal(qa.rowFormat, 'squad');
    assert.throws(
      () =>
        qa.readInput({ text: 'text', textPair: 'text_pair', label: 'label', id: 'id' }, { text: () => ({ text: '' }) }),
      /data\/qa\.ts/,
    );
  });

  test('seed prompt T_query^(2) of S3 Table 1 (AdQA): context and answer, the teacher writes the question', () => {
    const pools = {
      rationales: new Map(),
      contexts: [CONTEXT],
      rationalesPerExample: 1,
      spans: [{ context: CONTEXT, answer: 'annually in June', start: 100 }],
    };
    const c = qa.drawSeed(new Rng(1, 's'), 'answer', pools);
    assert.deepEqual(c, { rationales: [], context: CONTEXT, answer: { text: 'annually in June', start: 100 } });
    const plan = qa.seedPrompt(c, { ...ctx, examples: [] });
    assert.equal(plan.template.id, 'qa.query.table1');
    assert.equal(
      renderPrompt(plan.template, plan.vars),
      `Given a context: ${CONTEXT} \nannually in June is the answer to the following question:`,
    );
    assert.deepEqual(plan.compose(' When is the Hoppings held? It is in June.'), {
      text: CONTEXT,
      text_pair: 'When is the Hoppings held?',
      label: 'annually in June',
      answers: { text: ['annually in June'], answer_start: [100] },
    });
    assert.equal(plan.check?.('When is the Hoppings held?'), null);
    assert.equal(plan.check?.('Is it held annually in June?'), 'contains_answer');
    assert.equal(plan.check?.('When is the Hoppings held'), 'no_question_mark');
  });

  test('EES prompt T_mis for QA: context, the missed question and its answer; a new question with that answer', () => {
    const plan = qa.eesPrompt(gold, undefined, { ...ctx, label: gold.label });
    assert.equal(plan.template.id, 'qa.mis.table1');
    assert.equal(
      renderPrompt(plan.template, plan.vars),
      `Given a context: ${CONTEXT} \nthe Town Moor is the answer to: Where is the Hoppings held?\nA question that has the same answer in the context is:`,
    );
    assert.equal(plan.promptExample, 'Where is the Hoppings held?');
    const x = plan.compose('Question: On what ground does the Hoppings take place?');
    assert.deepEqual(x, {
      text: CONTEXT,
      text_pair: 'On what ground does the Hoppings take place?',
      label: 'the Town Moor',
      answers: { text: ['the Town Moor'], answer_start: [86] },
    });
    // a copy of the missed question is rejected by readOutput
    assert.deepEqual(
      qa.readOutput('Where is the Hoppings held?', { promptExample: plan.promptExample, seen: empty }).verdict,
      {
        ok: false,
        reason: 'copy_of_prompt_example',
      },
    );
  });

  test('teacher-proposed answers: kept only when the span occurs verbatim; start in code points', () => {
    const ctxA = 'Über 🎡 rides: the Town Moor hosts it.';
    const plan = qa.seedPrompt({ rationales: [], context: ctxA }, { ...ctx, examples: [] });
    assert.equal(plan.template.id, 'qa.propose.s3synth');
    const read = qa.readOutput('Answer: the Town Moor\nQuestion: Which place hosts it?', { seen: empty });
    assert.equal(read.text, 'Answer: the Town Moor\nQuestion: Which place hosts it?');
    assert.equal(read.key, 'which place hosts it');
    assert.equal(plan.check?.(read.text), null);
    const x = plan.compose(read.text);
    assert.equal(x.label, 'the Town Moor');
    assert.deepEqual(x.answers, { text: ['the Town Moor'], answer_start: [14] }); // 🎡 is one code point
    assert.equal(plan.check?.('Answer: the Quayside\nQuestion: Which place hosts it?'), 'answer_not_in_context');
    assert.equal(plan.check?.('Question: Which place hosts it?'), 'no_answer');
    assert.equal(
      plan.check?.(`Answer: ${ctxA.replace(/\.$/, '')}\nQuestion: What is said?`),
      null,
      'a short context span of under 15 words is an answer',
    );
    assert.equal(
      plan.check?.('Answer: Town Moor\nQuestion: Über 🎡 rides: the Town Moor hosts it?'),
      'copy_of_context',
    );
  });

  test('teacher.grammar: every QA prompt carries its reply grammar; classification prompts carry none', () => {
    const given = qa.seedPrompt(
      { rationales: [], context: CONTEXT, answer: { text: 'the Town Moor', start: 86 } },
      { ...ctx, examples: [] },
    );
    assert.equal(given.grammar, QA_QUESTION_GRAMMAR);
    assert.equal(qa.eesPrompt(gold, undefined, { ...ctx, label: gold.label }).grammar, QA_QUESTION_GRAMMAR);
    assert.equal(
      qa.seedPrompt({ rationales: [], context: CONTEXT }, { ...ctx, examples: [] }).grammar,
      QA_PROPOSE_GRAMMAR,
    );
    assert.match(QA_QUESTION_GRAMMAR, /^root ::= question\nquestion ::= \("What" \| "Which" \|.* "\?"\n$/);
    assert.match(QA_PROPOSE_GRAMMAR, /^root ::= "Answer: " \[\^\\n\]\{1,100\} "\\nQuestion: " question\n/);
    const single = taskKindOf({ kind: 'single' });
    const plan = single.seedPrompt({ rationales: ['r'] }, { ...ctx, label: 'positive', examples: [] });
    assert.equal(plan.grammar, undefined);
  });

  test('cleaning of questions: reply parsing and the reasons', () => {
    assert.deepEqual(parseQaReply('Q: "Who won?" The answer is X.'), { question: 'Who won?' });
    assert.deepEqual(parseQaReply('**Answer:** 1901.\n**Question:** When was it built?'), {
      answer: '1901',
      question: 'When was it built?',
    });
    assert.equal(questionProblem('Where is it?', CONTEXT, 'x'), null);
    assert.equal(questionProblem('is held on the Town Moor annually?', CONTEXT, 'x'), 'copy_of_context');
    assert.equal(questionProblem('Is the Town Moor big?', CONTEXT, 'the town moor'), 'contains_answer');
    assert.equal(questionProblem('Where is it.', CONTEXT, 'x'), 'no_question_mark');
  });

  test('EM / F1 over gold answers; misclassified = EM 0', () => {
    const rows = [gold, { ...gold, id: 'q2', label: 'June', answers: { text: ['June'], answer_start: [111] } }];
    const m = qa.score(rows, ['Town Moor', 'in June'], []);
    // q1: "Town Moor" = gold 2 (EM 1, F1 1); q2: "in June" vs "June": EM 0, F1 2·(1/2·1)/(1/2+1) = 2/3
    assert.equal(m.count, 2);
    assert.equal(m.exactMatch, 0.5);
    assert.ok(Math.abs((m.f1 ?? 0) - (1 + 2 / 3) / 2) < 1e-12);
    assert.equal(m.accuracy, m.exactMatch);
    assert.equal(m.macroF1, m.f1);
    assert.equal(m.misclassified, 1);
    assert.equal(qa.isMisclassified('the Town Moor.', gold), false);
    assert.equal(qa.isMisclassified('Moor', gold), true);
    assert.equal(qa.checkSplit('validation', [], []), 'gold validation split has no question');
    assert.equal(qa.target(gold), 'Where is the Hoppings held?');
  });
});

describe('qaGoldSplits', () => {
  const row = (
    id: string,
    p: number,
    q: string,
    answer: string,
    context = `Passage ${p} tells of ${answer} and more.`,
  ) => ({
    id,
    context,
    question: q,
    answers: { text: [answer], answer_start: [context.indexOf(answer)] },
  });

  test('one file: split by passage into validation / test / the contexts pool with its given spans', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 's3-qa-'));
    const file = path.join(dir, 'all.jsonl');
    const rows = Array.from({ length: 40 }, (_, i) => row(`q${i}`, i % 10, `Question ${i}?`, `thing ${i % 10}`));
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const s = await qaGoldSplits(
      { validation: file, test: file, validationSize: 8, testSize: 16, contextsSize: 100 },
      3,
    );
    const passages = (xs: { text: string }[]) => new Set(xs.map((x) => x.text));
    const [v, t, c] = [passages(s.validation), passages(s.test), passages(s.contexts)];
    assert.equal(s.validation.length, 8);
    assert.equal(s.test.length, 16);
    assert.equal(v.size + t.size + c.size, 10, 'every passage in exactly one part');
    for (const p of t) assert.ok(!v.has(p) && !c.has(p));
    for (const p of v) assert.ok(!c.has(p));
    assert.ok(s.contexts.every((x) => x.answers && x.answers.text.length === 1 && x.text.includes(x.answers.text[0])));
    assert.deepEqual(s.validation[0].answers?.text, [s.validation[0].label]);
    const teacher = await qaGoldSplits(
      { validation: file, test: file, validationSize: 8, testSize: 16, contextsSize: 100, answers: 'teacher' },
      3,
    );
    assert.ok(teacher.contexts.every((x) => x.answers === undefined));
    assert.deepEqual(
      teacher.test.map((x) => x.id),
      s.test.map((x) => x.id),
      'same seed, same split',
    );
  });

  test('separate files: validation and pool questions about a test passage are left out', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 's3-qa-'));
    const write = (name: string, rs: object[]) => {
      const f = path.join(dir, name);
      writeFileSync(f, rs.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return f;
    };
    const test = write('test.jsonl', [row('t1', 1, 'A?', 'one')]);
    const validation = write('val.jsonl', [row('v1', 1, 'B?', 'one'), row('v2', 2, 'C?', 'two')]);
    const contexts = write('pool.jsonl', [row('c1', 1, 'D?', 'one'), row('c2', 3, 'E?', 'three')]);
    const s = await qaGoldSplits({ validation, test, contexts, contextsSize: 10 }, 1);
    assert.deepEqual(
      s.validation.map((x) => x.id),
      ['v2'],
    );
    assert.deepEqual(
      s.contexts.map((x) => x.text),
      ['Passage 3 tells of three and more.'],
    );
    assert.deepEqual(s.dropped, { validation: 1, contexts: 1, train: 0 });
  });

  const adqa = path.resolve('../shared/datasets/adversarial_qa/test.jsonl');
  test('AdversarialQA (when present): no passage in two parts', { skip: !existsSync(adqa) }, async () => {
    const s = await qaGoldSplits(
      { validation: adqa, test: adqa, validationSize: 300, testSize: 1500, contextsSize: 2000 },
      42,
    );
    const t = new Set(s.test.map((x) => x.text));
    assert.ok(s.validation.every((x) => !t.has(x.text)));
    assert.ok(s.contexts.every((x) => !t.has(x.text)));
    assert.ok(Math.abs(s.test.length - 1500) <= 16 && Math.abs(s.validation.length - 300) <= 16);
  });
});

test('the round table names EM / F1 columns for QA rounds, the classification columns otherwise', () => {
  assert.deepEqual(roundTableHead(undefined, undefined, true).slice(3, 8), [
    'val EM',
    'val F1',
    'EM 0',
    'test EM',
    'test F1',
  ]);
  assert.deepEqual(roundTableHead().slice(3, 8), ['val acc', 'val F1', 'miscls', 'test acc', 'test F1']);
  const m = { count: 1, accuracy: 0, macroF1: 0, misclassified: 1 };
  assert.equal(isQaRounds([{ test: { ...m, exactMatch: 0, f1: 0 } }]), true);
  assert.equal(isQaRounds([{ test: m }]), false);
});

test('the experiment table names EM / F1 for QA results', () => {
  const m = { count: 1, accuracy: 0, macroF1: 0, misclassified: 1 };
  const qaHead = experimentTableHead({ results: [{ test: { ...m, exactMatch: 0, f1: 0 } }] } as never);
  assert.deepEqual(qaHead.slice(3, 6), ['test EM', 'test F1', 'val EM']);
  assert.ok(qaHead.includes('Δ EM vs s3 [95% CI]') && qaHead.includes('AUC EM×tokens'));
  assert.deepEqual(experimentTableHead({ results: [{ test: m }] } as never), [...EXPERIMENT_TABLE_HEAD]);
});

test('the config allows for QA exactly the acquisition functions the Python worker computes (qa_activity.py QA_ACQUISITIONS)', () => {
  const py = readFileSync(path.resolve('workers/finetune/s3_finetune/qa_activity.py'), 'utf8');
  const m = /^QA_ACQUISITIONS = \(([^)]*)\)/m.exec(py);
  assert.ok(m, 'qa_activity.py defines QA_ACQUISITIONS as a tuple');
  assert.deepEqual(
    [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]),
    [...FINETUNE_QA_ACQUISITIONS],
  );
  const qaConfig = (acquisition: string) => ({
    task: { kind: 'qa', labels: ['answer'], source: { type: 'spamassassin' } },
    student: { kind: 'finetune' },
    synthesis: { acquisition },
  });
  assert.equal(parseConfig(qaConfig('least-confidence')).synthesis.acquisition, 'least-confidence');
  assert.throws(() => parseConfig(qaConfig('entropy')), /synthesis\.acquisition "entropy"/);
  assert.throws(
    () =>
      parseConfig({
        task: { labels: ['a', 'b'], source: { type: 'spamassassin' } },
        synthesis: { qaMisclassifiedBelowF1: 0.5 },
      }),
    /qaMisclassifiedBelowF1 is for extractive QA/,
  );
});

test('s3 export of a QA run: SQuAD-style rows (jsonl, and the same rows in the hf layout)', () => {
  const run = mkdtempSync(path.join(tmpdir(), 's3-qa-export-'));
  const config = parseConfig({
    task: { kind: 'qa', labels: ['answer'], source: { type: 'files', validation: 'v', test: 't' } },
    student: { kind: 'finetune' },
  });
  writeFileSync(path.join(run, 'config.json'), JSON.stringify(config));
  mkdirSync(path.join(run, 'synthetic'));
  mkdirSync(path.join(run, 'gold'));
  const provenance = { origin: 'seed', round: 0, rationales: [], misclassifiedId: null, templateId: 'qa.query.table1' };
  const synthetic = { ...gold, id: 'seed-0', text_pair: 'On what ground is it held?', provenance };
  writeFileSync(path.join(run, 'synthetic', 'final.jsonl'), JSON.stringify(synthetic) + '\n');
  writeFileSync(path.join(run, 'gold', 'test.jsonl'), JSON.stringify(gold) + '\n');
  const out = path.join(run, 'export');
  const s = exportRun(run, out, { format: 'jsonl' });
  assert.deepEqual(s.splits, { train: 1, test: 1 });
  const train = JSON.parse(readFileSync(path.join(out, 'train.jsonl'), 'utf8'));
  assert.deepEqual(train, {
    id: 'seed-0',
    context: CONTEXT,
    question: 'On what ground is it held?',
    answers: gold.answers,
  });
  assert.equal(
    JSON.parse(readFileSync(path.join(out, 'provenance', 'train.jsonl'), 'utf8')).templateId,
    'qa.query.table1',
  );
  // the datasets layout writes the same rows under data/ with a card (tests/unit/export.qa.test.ts)
  exportRun(run, path.join(run, 'hf'), { format: 'hf' });
  assert.deepEqual(JSON.parse(readFileSync(path.join(run, 'hf', 'data', 'train.jsonl'), 'utf8')), train);
});
