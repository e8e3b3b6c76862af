/**
 * Prompt templates of S3 (paper Table 1) as data, and their rendering.
 *
 * Placeholders: {item} what one example is ("movie review"), {label} the label word,
 * {K} number of rationales, {rationales} the sampled rationales ("a, b, and c"),
 * {example} a misclassified example's text (target sentence for pair tasks),
 * {context} the context/premise of a pair task, {examples} in-context examples (ProGen), one per line.
 * Pure module.
 */
import type { PromptOverrides } from '../config/schema.js';

export type TemplateName = 'ration' | 'query' | 'queryPlain' | 'queryIcl' | 'mis' | 'judge';
export interface Template {
  /** e.g. "single.query.table1" or "pair.mis.custom" (recorded in provenance) */
  id: string;
  text: string;
}

/**
 * The template to use for one prompt type: the config's override if any, else the task kind's
 * Table 1 default (the defaults live with the task kinds: tasks/single.ts, tasks/pair.ts; ask
 * `taskKindOf(task).template(name, overrides)`).
 * @param kind the task kind's name, the first part of the id
 * @returns {id, text}; id ends in ".table1" for defaults and ".custom" for overrides
 */
export function templateFrom(
  kind: string,
  defaults: Readonly<Record<TemplateName, string>>,
  name: TemplateName,
  overrides: PromptOverrides = {},
): Template {
  const custom = overrides[name];
  if (custom) return { id: `${kind}.${name}.custom`, text: custom };
  return { id: `${kind}.${name}.table1`, text: defaults[name] };
}

/** Joins rationales the way the paper's example reads: "a", "a and b", "a, b, and c". */
export function joinRationales(rs: readonly string[]): string {
  if (rs.length <= 1) return rs.join('');
  if (rs.length === 2) return `${rs[0]} and ${rs[1]}`;
  return `${rs.slice(0, -1).join(', ')}, and ${rs[rs.length - 1]}`;
}

export interface PromptVars {
  item?: string;
  label?: string;
  K?: number;
  rationales?: readonly string[];
  example?: string;
  context?: string;
  /** in-context examples, rendered one per line as "- …" */
  examples?: readonly string[];
}

/**
 * Fills a template's placeholders.
 * The article "a" becomes "an" before a vowel when the template writes "a {item}" or "a {label}".
 * @throws Error when the template uses a placeholder whose value is not given (a config bug
 *   caught before any teacher call), naming the placeholder and the template.
 */
export function renderPrompt(template: Template, vars: PromptVars): string {
  const value = (key: keyof PromptVars): string => {
    const v = vars[key];
    if (v === undefined) throw new Error(`prompt template ${template.id} uses {${key}} but no value was given`);
    if (key === 'rationales') return joinRationales(v as readonly string[]);
    if (key === 'examples') return (v as readonly string[]).map((e) => `- ${e}`).join('\n');
    return String(v);
  };
  return template.text
    .replace(/\b([Aa]) \{(item|label)\}/g, (_m, a: string, key: keyof PromptVars) => {
      const v = value(key);
      return `${/^[aeiou]/i.test(v) ? `${a}n` : a} ${v}`;
    })
    .replace(/\{(item|label|K|rationales|examples|example|context)\}/g, (_m, key: keyof PromptVars) => value(key));
}

/** The word a label is called in prompts (config task.labelWords, default the label itself). */
export function labelWord(label: string, labelWords: Record<string, string>): string {
  return labelWords[label] ?? label;
}
