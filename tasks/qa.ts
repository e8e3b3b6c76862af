/**
 * Extractive question answering (task.kind "qa", S3's AdversarialQA task, issue 19). A QA row is a
 * SQuAD-style `{id, context, question, answers}` (domain/squad.ts); as an `Example` it is
 * `text` = the context, `text_pair` = the question, `label` = the first answer and `answers` =
 * every gold answer with its start (code points). Gold rows are read by data/qa.ts (every answer
 * checked to be a span of its context, file and line on error), not by the labeled-row reader.
 *
 * Synthesis (S3 §2.4, Alg. 3; Table 1, AdQA row): the teacher keeps the context and the answer and
 * writes only the question.
 * - seed (T_query^(2)): a context and an answer span drawn from the pool of unlabeled passages
 *   (task.source.contexts); with `task.source.answers: "teacher"` the pool has no spans and the
 *   teacher proposes one ("Answer: … / Question: …"), kept only when it occurs verbatim in the
 *   context (its first occurrence gives answer_start);
 * - EES (T_mis^(2)): shows the context, the question the student got wrong (EM = 0) and its
 *   answer, and asks for another question with the same answer in that context.
 * - No rationales: the paper synthesizes QA (and NLI) without them, the contexts being long (§2.4).
 * - Cleaning of a question (rejections counted with these reasons): `no_question_mark` (does not
 *   end with "?"), `copy_of_context` (the question is a stretch of its context), `contains_answer`
 *   (the answer occurs in it verbatim), and with teacher answers `answer_not_in_context` /
 *   `answer_too_long` / `no_answer`; then the usual empty / too short / copy / duplicate checks.
 * - Metrics: SQuAD v1.1 EM and F1 (max over gold answers); "misclassified" = EM 0.
 * Pure module.
 */
import { cleanOutput, judgeOutput, normalizeForCompare } from '../domain/cleaning.js';
import { templateFrom, type Template, type TemplateName } from '../domain/prompts.js';
import { exactMatch, occurrences, scoreQa } from '../domain/squad.js';
import type { Example } from '../domain/types.js';
import { takeSample } from '../data/split.js';
import { nonBlank } from './classification.js';
import type { PromptOverrides, StudentInput, TaskKind } from './types.js';

/** The AdQA row of S3 Table 1 (answer = {label}, context = {context}, question = {example}). */
export const QA_TEMPLATES: Readonly<Record<TemplateName, string>> = {
  // never asked: QA uses no rationales (§2.4)
  ration: 'Consider {K} kinds of questions that could be asked about a passage.',
  query: 'Given a context: {context} \n{label} is the answer to the following question:',
  queryPlain: 'Given a context: {context} \n{label} is the answer to the following question:',
  queryIcl:
    'Examples of questions about a context:\n{examples}\nGiven a context: {context} \n{label} is the answer to the following question:',
  mis: 'Given a context: {context} \n{label} is the answer to: {example}\nA question that has the same answer in the context is:',
  judge:
    'Given a context: {context} \nHow hard is it to answer the following question with "{label}"? ' +
    'Answer with one number from 1 (very easy) to 5 (very hard).\n{example}',
};

/** The seed prompt when the teacher proposes the answer span too (task.source.answers "teacher"). */
export const QA_PROPOSE_TEMPLATE: Template = {
  id: 'qa.propose.s3synth',
  text:
    'Given a context: {context} \nChoose a short answer (a few words copied exactly from the context) ' +
    'and write a question about the context whose answer it is. Reply in two lines:\nAnswer: <answer>\nQuestion: <question>',
};

/** How a constrained question starts (`teacher.grammar`): a wh-word, or a preposition with
 * "which" / "what" ("In which year …"). Auxiliaries and bare prepositions are left out: a small
 * teacher given "In" or "Is" goes on telling the passage. */
export const QUESTION_STARTS = [
  'What',
  'Which',
  'Who',
  'Whom',
  'Whose',
  'When',
  'Where',
  'Why',
  'How',
  'In which',
  'In what',
  'On which',
  'On what',
  'At which',
  'At what',
  'For which',
  'For what',
] as const;

/** GBNF of one question: a QUESTION_STARTS word, then at most 120 characters without "?" or a
 * line break, then "?" (so it fits the 48-96 reply tokens of a QA run). */
const QUESTION_RULE = `question ::= (${QUESTION_STARTS.map((w) => JSON.stringify(w)).join(' | ')}) " " [^?\\n]{2,120} "?"`;

/** The reply grammar (GBNF) of a question for a given answer (T_query^(2), T_mis^(2)) under `teacher.grammar`. */
export const QA_QUESTION_GRAMMAR = ['root ::= question', QUESTION_RULE, ''].join('\n');

/** The reply grammar (GBNF) of QA_PROPOSE_TEMPLATE under `teacher.grammar`: an answer line of at
 * most 100 characters, then a question line. */
export const QA_PROPOSE_GRAMMAR = [
  'root ::= "Answer: " [^\\n]{1,100} "\\nQuestion: " question',
  QUESTION_RULE,
  '',
].join('\n');

/** Longest answer the teacher may propose, in words (run_qa's max_answer_length is 30 tokens). */
export const MAX_TEACHER_ANSWER_WORDS = 15;

/** A proposed answer with its question, as the cleaned reply carries them in teacher-answer mode. */
const PROPOSED = /^Answer:\s*(.*?)\s*Question:\s*(.*)$/is;

/** The question part of a reply: cleaned, cut after its first "?" (a trailing answer or note goes). */
function cleanQuestion(raw: string): string {
  const s = cleanOutput(raw.replace(/^\s*(?:Q(?:uestion)?\s*\d*\s*[:.)-])\s*/i, ''));
  const q = s.indexOf('?');
  // a quote left open by the cut goes ("Who won?" The answer is … → Who won?)
  return q >= 0
    ? s
        .slice(0, q + 1)
        .replace(/^["'“‘«]+/, '')
        .trim()
    : s;
}

/**
 * Splits a teacher reply into an answer and a question: "Answer: X" and "Question: Y" lines in
 * either order; a reply without an "Answer:" line is all question.
 */
export function parseQaReply(raw: string): { answer?: string; question: string } {
  const text = raw.replace(/\r\n?/g, '\n');
  const a = /^\s*\**\s*Answer\s*\**\s*:\s*(.+)$/im.exec(text);
  const q = /^\s*\**\s*Question\s*\**\s*:\s*(.+)$/im.exec(text);
  if (!a) return { question: cleanQuestion(q ? q[1] : text) };
  const answer = cleanOutput(a[1]).replace(/[.]$/, '').trim();
  const question = q ? q[1] : text.slice(a.index + a[0].length);
  return { answer, question: cleanQuestion(question) };
}

/**
 * Why a question is not kept for (context, answer), or null: it does not end with "?", it is a
 * stretch of its context, or it contains its own answer verbatim.
 */
export function questionProblem(question: string, context: string, answer: string): string | null {
  if (!question.trimEnd().endsWith('?')) return 'no_question_mark';
  const q = normalizeForCompare(question.replace(/\?+$/, ''));
  if (q && normalizeForCompare(context).includes(q)) return 'copy_of_context';
  if (answer.trim() && question.toLowerCase().includes(answer.trim().toLowerCase())) return 'contains_answer';
  return null;
}

/** The Example of a synthesized question: the context, the question and its one answer. */
function qaExample(
  context: string,
  question: string,
  answer: string,
  start: number,
): StudentInput & Pick<Example, 'label' | 'answers'> {
  return { text: context, text_pair: question, label: answer, answers: { text: [answer], answer_start: [start] } };
}

/** The gold answers of an example (its `answers`, else its label). */
export const goldAnswers = (x: Pick<Example, 'label' | 'answers'>): string[] =>
  x.answers?.text.length ? x.answers.text : [x.label];

const template = (t: TemplateName, overrides: PromptOverrides = {}) => templateFrom('qa', QA_TEMPLATES, t, overrides);

export const qa: TaskKind = {
  name: 'qa',
  title: 'extractive QA',

  columns: ['text', 'text_pair'],
  columnsNote: '`text` is the context, `text_pair` the question, `label` its answer (a span of the context).',
  rowFormat: 'squad',
  readInput() {
    throw new Error('QA rows are read by data/qa.ts (loadQaJsonl), with their answer spans checked');
  },
  inputProblem: (row) =>
    !nonBlank(row.text)
      ? 'has no text (the context)'
      : !nonBlank(row.text_pair)
        ? 'has no text_pair (the question)'
        : null,
  inputOf: (x) => ({ text: x.text, text_pair: x.text_pair ?? '' }),
  columnsOf: (x) => ({ text: x.text, text_pair: x.text_pair ?? '' }),
  target: (x) => x.text_pair ?? '',
  similarityText: (x) => x.text_pair ?? x.text,
  mapText: (x) => `${x.text_pair ?? ''} ${x.text}`,

  usesContexts: true,
  sample: (rows, n, rng) => takeSample(rows, n, rng),
  checkSplit: (name, rows) => (rows.length ? null : `gold ${name} split has no question`),
  // the passage: a gold train question about a held-out passage counts as held out
  heldOutKey: (x) => x.text,

  template,
  usesRationales: () => false,
  drawSeed(rng, _label, pools) {
    // (c_curr, a_curr) ~ U_1 of the pool's spans; a pool without spans: a context, the teacher answers
    if (pools.spans?.length) {
      const s = rng.pick(pools.spans);
      return { rationales: [], context: s.context, answer: { text: s.answer, start: s.start } };
    }
    return { rationales: [], context: rng.pick(pools.contexts) };
  },
  seedPrompt(c, { prompts, examples }) {
    const context = c.context ?? '';
    const answer = c.answer;
    if (!answer)
      return {
        template: QA_PROPOSE_TEMPLATE,
        vars: { context },
        long: 'context',
        rationales: [],
        grammar: QA_PROPOSE_GRAMMAR,
        compose(output) {
          const r = parseQaReply(output);
          const start = occurrences(context, r.answer ?? '', 1)[0] ?? 0;
          return qaExample(context, r.question, r.answer ?? '', start);
        },
        check(output) {
          const r = parseQaReply(output);
          if (!r.answer) return 'no_answer';
          if (r.answer.split(/\s+/).length > MAX_TEACHER_ANSWER_WORDS) return 'answer_too_long';
          if (!occurrences(context, r.answer, 1).length) return 'answer_not_in_context';
          return questionProblem(r.question, context, r.answer);
        },
      };
    return {
      template: template(examples.length ? 'queryIcl' : 'query', prompts),
      vars: { context, label: answer.text, examples },
      long: 'context',
      rationales: [],
      grammar: QA_QUESTION_GRAMMAR,
      compose: (output) => qaExample(context, parseQaReply(output).question, answer.text, answer.start),
      check: (output) => questionProblem(parseQaReply(output).question, context, answer.text),
    };
  },
  eesPrompt(x, _rationales, ctx) {
    const answer = x.label;
    const start = x.answers?.answer_start[0] ?? occurrences(x.text, answer, 1)[0] ?? 0;
    return {
      template: template('mis', ctx.prompts),
      vars: qa.showExample(x, ctx),
      long: 'context',
      rationales: [],
      promptExample: x.text_pair ?? '',
      grammar: QA_QUESTION_GRAMMAR,
      compose: (output) => qaExample(x.text, parseQaReply(output).question, answer, start),
      check: (output) => questionProblem(parseQaReply(output).question, x.text, answer),
    };
  },
  // the answer stands where classification shows the label word
  showExample: (x, { label }) => ({ context: x.text, example: x.text_pair ?? '', label }),

  readOutput(raw, opts) {
    const r = parseQaReply(raw);
    // teacher-answer mode keeps both parts in the text compose reads; the question is what is judged
    const text = r.answer !== undefined ? `Answer: ${r.answer}\nQuestion: ${r.question}` : r.question;
    const verdict = judgeOutput(r.question, { promptExample: opts.promptExample, seen: opts.seen });
    return { text, verdict, key: normalizeForCompare(r.question) };
  },
  compareKey: (text) => normalizeForCompare(PROPOSED.exec(text)?.[2] ?? text),

  score(gold, predicted) {
    const m = scoreQa(predicted, gold.map(goldAnswers));
    return {
      count: m.count,
      accuracy: m.exactMatch,
      macroF1: m.f1,
      misclassified: m.wrong,
      exactMatch: m.exactMatch,
      f1: m.f1,
    };
  },
  // EM = 0 against every gold answer (the paper's appendix)
  isMisclassified: (predicted, x) => !goldAnswers(x).some((g) => exactMatch(predicted, g)),
};
