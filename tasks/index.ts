/**
 * The registry of task kinds: `taskKindOf(config.task)` is how the rest of the code asks what
 * a task kind does (tasks/types.ts). A new kind is one module here, one entry in TASK_KINDS
 * and its name in tasks/names.ts (and, for a new student, the Python side).
 *
 * What a kind that is not a classification (extractive QA, issue 19) will add to TaskKind,
 * because the two classification kinds share it today and the code still assumes it:
 * - the row: activities read and write `Example` ({id, text, text_pair?, label}); a QA row
 *   ({id, context, question, answers}) needs TaskKind to carry its row schema (generic over the
 *   row) where activities now name ExampleSchema;
 * - predictions: trainAndEvaluate decodes the student's class probabilities by argmax, and the
 *   acquisition functions score class probabilities; a span student answers spans, so the kind
 *   will decode predictions and say which acquisition functions apply;
 * - metrics: SplitMetrics is accuracy / macro-F1 (reports print them); QA reports EM / F1;
 * - the Python worker picks its default preset by task.kind (s3_finetune/contract.py).
 * Prompts, the seed condition (a context and an answer span), cleaning of the question, what
 * "misclassified" means (EM = 0) and loading checks (answers are spans) fit TaskKind as it is.
 * Pure module.
 */
import type { Template, TemplateName } from '../domain/prompts.js';
import { TASK_KIND_NAMES, type TaskKindName } from './names.js';
import { pair } from './pair.js';
import { qa } from './qa.js';
import { single } from './single.js';
import type { PromptOverrides, TaskKind } from './types.js';

export { TASK_KIND_NAMES, type TaskKindName } from './names.js';
export type * from './types.js';

/** Every task kind by its name (config task.kind). */
export const TASK_KINDS: Readonly<Record<TaskKindName, TaskKind>> = { single, pair, qa };

/**
 * The task kind of a task configuration.
 * @param task a task section (only `kind` is read; absent: "single", the schema's default)
 * @throws Error for a name that is not registered (the configuration schema rejects it first)
 */
export function taskKindOf(task: { kind?: string }): TaskKind {
  const name = task.kind ?? 'single';
  const kind = (TASK_KINDS as Record<string, TaskKind | undefined>)[name];
  if (!kind) throw new Error(`unknown task kind "${name}" (one of ${TASK_KIND_NAMES.join(', ')})`);
  return kind;
}

/**
 * The template of one prompt type of a task kind: the override if any, else its default.
 * @example getTemplate('pair', 'mis') // {id: "pair.mis.table1", text: …}
 */
export function getTemplate(kind: TaskKindName, name: TemplateName, overrides: PromptOverrides = {}): Template {
  return taskKindOf({ kind }).template(name, overrides);
}
