/**
 * Teacher self-check (issue 18 item 2): the teacher is asked, zero-shot, which of the task's
 * labels its own output has (a question in the style of the teacher-judge prompt T_judge), and
 * an output whose answer names another label than the one it was asked to write is dropped.
 * The calls go through the teacher session of the activity (cache included: a retried activity
 * pays for none of them again) and count against the budget like every other call; they are
 * asked greedily (temperature 0) with a short completion.
 *
 * This module is the prompt and the parsing of the answer; activities/filters.ts asks.
 * Pure module.
 */
import type { PromptVars, Template } from '../../domain/prompts.js';
import { renderPrompt } from '../../domain/prompts.js';
import type { TaskKindName } from '../../tasks/names.js';

/** Default question for single-text tasks. {labels}: the label words, quoted, joined with "or". */
export const SELF_CHECK_SINGLE =
  'Read the following {item} and say whether it is {labels}. Answer with the label only.\n\n{example}\n\nAnswer:';
/** Default question for sentence-pair tasks. */
export const SELF_CHECK_PAIR =
  '{context}\nBased on the above description, is the following sentence {labels}? Answer with the label only.\n\nSentence: {example}\n\nAnswer:';

/** The default question per task kind (a new kind adds its own). */
export const SELF_CHECK_DEFAULTS: Readonly<Record<TaskKindName, string>> = {
  single: SELF_CHECK_SINGLE,
  pair: SELF_CHECK_PAIR,
  // extractive QA has no label set to check against: the self-check filter compares a label
  // word, so for QA it only asks (the teacher's answer is not compared with the span)
  qa: '{context}\nAnswer the following question with a short span of the above context.\n\nQuestion: {example}\n\nAnswer:',
};

/** Completion tokens of one self-check answer (a label word or two). */
export const SELF_CHECK_MAX_TOKENS = 8;

/** `"a", "b" or "c"`. */
export function labelList(words: readonly string[]): string {
  const q = words.map((w) => `"${w}"`);
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
}

/**
 * The self-check question for one output.
 * @param opts.template the configured question (synthesis.filters.selfCheckPrompt) or undefined for the default
 * @param opts.kind the task kind (config task.kind): its default question
 * @param opts.labelWords the label words of every label, in label order
 * @param opts.example the output to check (a pair task: the written sentence)
 * @param opts.context a pair task's context
 */
export function selfCheckPrompt(opts: {
  template?: string;
  kind: TaskKindName;
  item: string;
  labelWords: string[];
  example: string;
  context?: string;
}): string {
  const text = (opts.template ?? SELF_CHECK_DEFAULTS[opts.kind]).replace(/\{labels\}/g, () =>
    labelList(opts.labelWords),
  );
  const t: Template = { id: `${opts.kind}.selfCheck`, text };
  const vars: PromptVars = {
    item: opts.item,
    example: opts.example,
    ...(opts.context !== undefined ? { context: opts.context } : {}),
  };
  return renderPrompt(t, vars);
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The phrases an answer may name a label by: its label word, the label itself, the word
 * without its parenthesis ("normal") and the parenthesis alone ("not spam"). */
function phrasesOf(label: string, word: string): string[] {
  const out = new Set([word, label]);
  const core = word.replace(/\s*\([^)]*\)\s*/g, ' ').trim();
  if (core) out.add(core);
  for (const m of word.matchAll(/\(([^)]+)\)/g)) out.add(m[1].trim());
  return [...out].filter(Boolean);
}

/**
 * The label an answer names: the label whose phrase occurs earliest (whole words,
 * case-insensitive), the longest phrase winning at the same place ("not spam" over "spam").
 * @param answer the teacher's reply
 * @param labels the task's labels; @param labelWords their words in prompts (same order)
 * @returns the label, or null when no label is named or two labels tie (same place, same length)
 */
export function parseSelfCheck(answer: string, labels: string[], labelWords: string[]): string | null {
  let best: { at: number; len: number; label: string | null } = { at: Infinity, len: 0, label: null };
  labels.forEach((label, i) => {
    for (const p of phrasesOf(label, labelWords[i] ?? label)) {
      const m = new RegExp(`(?<![\\w-])${esc(p)}(?![\\w-])`, 'i').exec(answer);
      if (!m) continue;
      if (m.index < best.at || (m.index === best.at && p.length > best.len))
        best = { at: m.index, len: p.length, label };
      else if (m.index === best.at && p.length === best.len && best.label !== label) best = { ...best, label: null };
    }
  });
  return best.label;
}
