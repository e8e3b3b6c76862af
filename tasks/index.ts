/**
 * The registry of task kinds: `taskKindOf(config.task)` is how the rest of the code asks what
 * a task kind does (tasks/types.ts). A new kind is one module here, one entry in TASK_KINDS
 * and its name in tasks/names.ts (and, for a new student, the Python side).
 *
 * Extractive QA (tasks/qa.ts, issue 19) fits TaskKind as a row in `Example`'s shape (text =
 * context, text_pair = question, label = answer, answers = every gold span): gold rows are read by
 * data/qa.ts (`rowFormat: "squad"`), the reply's own checks go through `PromptPlan.check`, and the
 * span student is the Python worker's (s3_finetune/qa_activity.py; docs/qa.md).
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
