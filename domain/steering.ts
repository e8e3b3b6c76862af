/**
 * Steering a running synthesis (issue 20): what the Updates of s3Synthesis and synthesisArm
 * take and answer, the record of every change, and the checks of added gold rows that the
 * workflow's validators run before anything enters history (the activity that merges them,
 * activities/steering.ts, runs the same row checks again and those that need the files).
 *
 * Pure module: safe in workflows (no I/O, no Date, no randomness).
 */
import { ACQUISITION_NAMES, type AcquisitionName } from '../acquisition/types.js';
import { taskKindOf, type TaskKindName } from '../tasks/index.js';

/** The Updates of a run, by name (`temporal workflow update execute --name <name>`). */
export const STEERING_UPDATES = [
  'pause',
  'resume',
  'setBudget',
  'setAcquisition',
  'finishAfterRound',
  'addGold',
  'setReview',
  'review',
] as const;
export type SteeringUpdateName = (typeof STEERING_UPDATES)[number];

/** `setBudget`: the new limit, in the budget's own unit (a single run: teacher tokens). */
export interface SetBudgetInput {
  /** an experiment arm under an examples budget: synthetic examples in all */
  examples?: number;
  /** a token budget, or a single run's cap (budget.teacherTokens): prompt + completion tokens in all */
  teacherTokens?: number;
}

/** `setAcquisition`: the acquisition rule of the rounds from the next one on. */
export interface SetAcquisitionInput {
  acquisition: AcquisitionName;
}

/** One human-labeled row for `addGold` (the gold file format: id, text, [text_pair], label). */
export interface GoldRowInput {
  id: string;
  text: string;
  text_pair?: string;
  label: string;
}

/** `addGold`: rows, or a gold file (JSONL/CSV, read with the run's field names) the worker can read. */
export interface AddGoldInput {
  rows?: GoldRowInput[];
  file?: string;
  /** why they were added (recorded), e.g. "relabelled the round-2 errors" */
  note?: string;
}

/** One review decision on a synthetic example of the round under review. */
export interface ReviewDecision {
  /** the synthetic example's id (synthetic/round-q/… rows' `id`) */
  id: string;
  /** "reject": it does not train the student; "relabel": it trains with `label`, a human label */
  action: 'reject' | 'relabel';
  label?: string;
  reason?: string;
}

/** `review`: the decisions on the round waiting for review; every other example is approved. */
export interface ReviewInput {
  decisions?: ReviewDecision[];
  /** who reviewed (recorded) */
  by?: string;
}

/** `setReview`: whether the run waits for a review of each round's synthetic data. */
export interface SetReviewInput {
  mode: 'none' | 'each-round';
  /** approve a round nobody reviewed within this many minutes (absent: wait for ever) */
  timeoutMin?: number;
}

/** One accepted change, as recorded in progress, the result and the report. */
export interface SteeringRecord {
  update: SteeringUpdateName;
  /** workflow time (ISO 8601) when it was accepted */
  at: string;
  /** the loop's phase and round when it was accepted */
  phase: string;
  round: number;
  /** what it changed, in words */
  detail: string;
  /** the round from which it applies, once applied */
  appliedAt?: number;
}

/** What every Update answers and the `progress` query shows under `steering`. */
export interface SteeringState {
  /** a pause was asked and not resumed (the loop waits at the next step boundary) */
  paused: boolean;
  /** what the loop waits for now: a resume, a review, or nothing */
  waiting: 'resume' | 'review' | null;
  /** the loop stops after the round being made now (finishAfterRound) */
  finishAfterRound: boolean;
  /** the budget in force: examples or tokens (a single run: its token cap), spent so far */
  budget: { kind: 'examples' | 'tokens'; limit: number | null; spent: number };
  /** the acquisition rule in force */
  acquisition: string;
  /** gold validation rows in the pool the next student is scored on */
  validation: number;
  /** review mode; the round waiting for a review, its examples and the files that hold them */
  review: {
    mode: 'none' | 'each-round';
    timeoutMin?: number;
    round: number | null;
    examples: number;
    data: string[];
  };
  /** accepted changes that take effect at the next round (acquisition, gold rows) */
  pending: string[];
  /** every accepted change, oldest first */
  log: SteeringRecord[];
  /** the run no longer takes changes (its rounds are over) */
  closed: boolean;
}

/** Most rows one addGold Update may carry inline (larger sets: a file). */
export const MAX_INLINE_GOLD_ROWS = 5000;

/**
 * The reason `input` cannot be an addGold Update, or null: exactly one of rows / file; rows
 * with a non-empty id, text and label, a label of the task, a text pair for pair tasks, ids
 * unique within the rows and not among `knownIds` (rows added earlier).
 */
export function addGoldProblem(
  input: unknown,
  task: { labels: readonly string[]; kind: TaskKindName },
  knownIds: ReadonlySet<string> = new Set(),
): string | null {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return 'addGold takes {rows: [...]} or {file: "…"}';
  const { rows, file, note } = input as Record<string, unknown>;
  if (note !== undefined && typeof note !== 'string') return 'note must be a string';
  if ((rows === undefined) === (file === undefined)) return 'addGold takes exactly one of rows or file';
  if (file !== undefined) return typeof file === 'string' && file.trim() ? null : 'file must be a non-empty path';
  if (!Array.isArray(rows) || rows.length === 0) return 'rows must be a non-empty array';
  if (rows.length > MAX_INLINE_GOLD_ROWS)
    return `at most ${MAX_INLINE_GOLD_ROWS} rows inline (${rows.length} given); pass a file instead`;
  const seen = new Set<string>();
  for (const [i, r] of rows.entries()) {
    const at = `row ${i + 1}`;
    if (!r || typeof r !== 'object') return `${at} is not an object`;
    const row = r as Record<string, unknown>;
    if (typeof row.id !== 'string' || !row.id) return `${at} has no id`;
    const missing = taskKindOf(task).inputProblem(row); // text; a pair's text_pair too
    if (missing) return `${at} (${row.id}) ${missing}`;
    if (typeof row.label !== 'string' || !task.labels.includes(row.label))
      return `${at} (${row.id}) has label ${JSON.stringify(row.label)}, not one of ${task.labels.join(', ')}`;
    if (seen.has(row.id)) return `${at}: duplicate id ${row.id}`;
    if (knownIds.has(row.id)) return `${at}: id ${row.id} was already added`;
    seen.add(row.id);
  }
  return null;
}

/** The reason `input` cannot be a setBudget Update of a loop with this budget, or null. */
export function setBudgetProblem(
  input: unknown,
  budget: { kind: 'examples' | 'tokens' | null; spent: number },
): string | null {
  if (!input || typeof input !== 'object') return 'setBudget takes {teacherTokens: N} or {examples: N}';
  const { examples, teacherTokens } = input as SetBudgetInput;
  if ((examples === undefined) === (teacherTokens === undefined))
    return 'setBudget takes exactly one of teacherTokens or examples';
  const kind = examples !== undefined ? 'examples' : 'tokens';
  const value = examples ?? teacherTokens;
  if (budget.kind === null && kind === 'examples')
    return 'a single run is sized by its configuration; it takes a teacher-token cap (teacherTokens) only';
  if (budget.kind !== null && budget.kind !== kind)
    return `this arm's budget is in ${budget.kind}; set ${budget.kind === 'tokens' ? 'teacherTokens' : 'examples'}`;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    return `${kind === 'examples' ? 'examples' : 'teacherTokens'} must be a whole number ≥ 0`;
  if (value < budget.spent) return `${value} is below what is already spent (${budget.spent} ${kind})`;
  return null;
}

/**
 * The reason `input` cannot be a review of the round waiting for one (`round`; null: none), or
 * null. Whether the ids are the round's is checked by the applyReview activity.
 */
export function reviewProblem(input: unknown, round: number | null, labels: readonly string[]): string | null {
  if (round === null) return 'no round is waiting for review';
  if (input !== undefined && (input === null || typeof input !== 'object')) return 'review takes {decisions: [...]}';
  const { decisions = [], by } = (input ?? {}) as ReviewInput;
  if (by !== undefined && typeof by !== 'string') return 'by must be a string';
  if (!Array.isArray(decisions)) return 'decisions must be an array';
  const seen = new Set<string>();
  for (const [i, d] of decisions.entries()) {
    const at = `decision ${i + 1}`;
    if (!d || typeof d !== 'object') return `${at} is not an object`;
    if (typeof d.id !== 'string' || !d.id) return `${at} has no example id`;
    if (seen.has(d.id)) return `${at}: ${d.id} is decided twice`;
    seen.add(d.id);
    if (d.action === 'relabel') {
      if (typeof d.label !== 'string' || !labels.includes(d.label))
        return `${at}: relabel needs a label, one of ${labels.join(', ')}`;
    } else if (d.action !== 'reject') return `${at}: action must be "reject" or "relabel"`;
  }
  return null;
}

/** Whether `name` is an acquisition rule. */
export function isAcquisitionName(name: unknown): name is AcquisitionName {
  return typeof name === 'string' && (ACQUISITION_NAMES as readonly string[]).includes(name);
}
