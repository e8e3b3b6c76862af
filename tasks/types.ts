/**
 * A task kind as a strategy (issue 16 item 3): everything that differs between single-text
 * classification, sentence-pair classification and (next) extractive QA lives behind this
 * interface, so the loop, the activities, acquisition and reports ask the task kind instead of
 * testing `task.kind`. One module per kind (tasks/single.ts, tasks/pair.ts), registered in
 * tasks/index.ts (`taskKindOf(config.task)`).
 *
 * What a task kind owns:
 * - the row: which fields of a gold record it reads (and checks) and what the student reads
 *   (`readInput`, `inputOf`, `columns`);
 * - the gold splits: sampling a split, the per-split check, the key that tells held-out rows
 *   apart, whether it needs a pool of contexts;
 * - the prompts of each step (Table 1 of S3): its templates, the condition of a seed example
 *   (rationales, or a context), T_mis / T_judge, and whether it uses rationales at all;
 * - reading a teacher reply (cleaning and judging) and composing the new example;
 * - metrics on a gold split and what "misclassified" means for EES.
 *
 * Strategies are pure (no I/O, no clocks, randomness only from the Rng they are given), so
 * workflows may import them too.
 */
import type { S3Config } from '../config/schema.js';
import type { Rng } from '../domain/rng.js';
import type { PromptVars, Template, TemplateName } from '../domain/prompts.js';
import type { Example, SplitMetrics } from '../domain/types.js';
import type { TaskKindName } from './names.js';

export type { TaskKindName } from './names.js';

/** The validated `task` section of a run configuration. */
export type TaskConfig = S3Config['task'];
/** The field names of a files source (task.source.fields, defaults filled in). */
export type SourceFields = Extract<TaskConfig['source'], { type: 'files' }>['fields'];
/** The prompt overrides of a task (task.prompts). */
export type PromptOverrides = TaskConfig['prompts'];

/** What the student reads of an example (and what the teacher writes part of). */
export type StudentInput = Pick<Example, 'text' | 'text_pair'>;

/** Original lengths of the fields cut to task.maxChars (Example.truncatedFrom). */
export type TruncatedFrom = NonNullable<Example['truncatedFrom']>;

/**
 * Reads the fields of one gold record. data/gold.ts supplies it, bound to the file and line,
 * so that every error names them.
 */
export interface FieldReader {
  /**
   * A required, non-blank string field, cut to task.maxChars.
   * @param role what the field is, in error messages ("text", "text pair")
   * @returns the (cut) text, and its original length when it was cut
   * @throws DatasetError (file and line) when the field is missing, blank or not a string
   */
  text(field: string, role: string): { text: string; from?: number };
}

/** What a seed example is conditioned on besides its label (drawn by `drawSeed`). */
export interface SeedCondition {
  /** r_curr ~ U_k(r_y) of S3 Alg. 1 line 6 (empty: none, or a task kind without rationales) */
  rationales: string[];
  /** c_curr ~ U_1(C) of S3 §2.4 (a pair's premise); absent for kinds without contexts */
  context?: string;
  /** extractive QA: the answer span of the context the question is written for (start in code
   * points); absent when the teacher proposes it (task.source.answers "teacher") */
  answer?: { text: string; start: number };
}

/** What `drawSeed` draws from. */
export interface SeedPools {
  /** rationales per label (rationales.jsonl); empty without the rationale step */
  rationales: ReadonlyMap<string, readonly string[]>;
  /** the unlabeled contexts of the run (gold/contexts.jsonl); empty for kinds without contexts */
  contexts: readonly string[];
  /** k of S3 Alg. 1: rationales per seed example (synthesis.rationalesPerExample) */
  rationalesPerExample: number;
  /** extractive QA: the pool's passages with their given answer spans (empty or absent: the
   * teacher proposes the answers) */
  spans?: readonly { context: string; answer: string; start: number }[];
}

/** What the prompt of one step is rendered from. */
export interface PromptContext {
  /** task.prompts: the user's template overrides */
  prompts: PromptOverrides;
  /** task.item, e.g. "movie review" */
  item: string;
  /** the word of the asked label (task.labelWords) */
  label: string;
}

/**
 * One prompt before rendering, and how its answer becomes an example. The activity renders
 * `template` with `vars`; when the prompt does not fit the teacher's context it cuts
 * `vars[long]` (and re-renders), never anything else.
 */
export interface PromptPlan {
  template: Template;
  vars: PromptVars;
  /** the long part that may be cut to fit the teacher's context; absent: never shortened */
  long?: 'context' | 'example';
  /** the rationales the prompt shows (recorded in provenance) */
  rationales: string[];
  /** the example shown in the prompt: a reply that merely copies it is rejected */
  promptExample?: string;
  /** a GBNF grammar of a well-formed reply, used when `teacher.grammar` is on (constrained
   * decoding); absent: the kind has none and replies are free text */
  grammar?: string;
  /** the new example's input from the teacher's (cleaned) reply, e.g. a pair keeps its context;
   * a QA example also carries its answer (`label`, `answers`) */
  compose(output: string): ComposedInput;
  /**
   * What the kind's own cleaning finds wrong with a (cleaned) reply that only the prompt's
   * condition can tell (e.g. a QA question containing its answer): a rejection reason, or null.
   * Absent: nothing beyond readOutput's verdict.
   */
  check?(output: string): string | null;
}

/** What `compose` makes of a reply: the input, and for QA the answer it was written for. */
export type ComposedInput = StudentInput & Partial<Pick<Example, 'label' | 'answers'>>;

/** A teacher reply read by a task kind: the cleaned text and the verdict on it. */
export interface ReadOutput {
  /** the cleaned reply (what `compose` gets) */
  text: string;
  verdict: { ok: true } | { ok: false; reason: string };
  /** the comparison form of `text`, added to `seen` once the reply is kept */
  key: string;
}

/** A task kind. See the module comment for what it owns. */
export interface TaskKind {
  /** config task.kind */
  readonly name: TaskKindName;
  /** how messages name it ("single-text", "sentence-pair") */
  readonly title: string;
  /** how gold files are read: labeled rows (data/gold.ts, the default) or SQuAD-style QA rows
   * (data/qa.ts, answers checked to be spans; split by context) */
  readonly rowFormat?: 'labeled' | 'squad';

  // ---- the row
  /** the columns of an exported dataset besides `label`, in order (s3 export) */
  readonly columns: readonly string[];
  /** what the columns are, for the dataset card ('' when `text` says it all) */
  readonly columnsNote: string;
  /**
   * Reads the input fields of one gold record (text; a pair's text pair), in the order its
   * errors are checked. data/gold.ts then adds the label and the id.
   * @returns the input, and the original lengths of the fields that were cut (undefined: none)
   */
  readInput(fields: SourceFields, read: FieldReader): { input: StudentInput; truncatedFrom?: TruncatedFrom };
  /**
   * What an unchecked row (an inline addGold row) lacks of the kind's input fields, e.g.
   * "has no text", or null when they are all there (non-blank strings).
   */
  inputProblem(row: Readonly<Record<string, unknown>>): string | null;
  /** what the student reads of an example (no id, label or provenance) */
  inputOf(x: StudentInput): StudentInput;
  /** the exported columns of an example (s3 export), in `columns` order */
  columnsOf(x: StudentInput): Record<string, string>;
  /** the part of an example the teacher writes (what copies and duplicates are judged on) */
  target(x: StudentInput): string;
  /** the text the data-quality study compares a written example with its original by (Table 6) */
  similarityText(x: StudentInput): string;
  /** the text of an example as one point of the data-quality map (Table 8) */
  mapText(x: StudentInput): string;

  // ---- gold splits
  /** whether the task synthesizes from a pool of unlabeled contexts (gold/contexts.jsonl) */
  readonly usesContexts: boolean;
  /**
   * A seeded subset of a gold split (source validationSize / testSize / trainSize).
   * @param n rows to keep; undefined keeps every row in file order
   */
  sample<T extends Example>(rows: readonly T[], n: number | undefined, rng: Rng): T[];
  /** what is wrong with a gold split for this kind (e.g. a label without an example), or null */
  checkSplit(name: string, rows: readonly Example[], labels: readonly string[]): string | null;
  /** the key under which a gold train row counts as also held out in validation / test */
  heldOutKey(x: StudentInput): string;

  // ---- prompts
  /** the template of one prompt type: the override of task.prompts, else the kind's default */
  template(name: TemplateName, overrides?: PromptOverrides): Template;
  /** whether the rationale step asks the teacher (S3 Alg. 1 lines 1-2; pairs never: §2.4) */
  usesRationales(config: S3Config): boolean;
  /**
   * Draws what seed example i is conditioned on after its label, from `rng`, consuming it the
   * same way every time (so index i always asks the same prompt).
   */
  drawSeed(rng: Rng, label: string, pools: SeedPools): SeedCondition;
  /**
   * The seed prompt (T_query, T_query without rationales, or ProGen's T_icl when `examples`).
   * @param examples in-context examples of the label (targets), empty outside ProGen rounds
   */
  seedPrompt(c: SeedCondition, ctx: PromptContext & { examples: readonly string[] }): PromptPlan;
  /**
   * The EES prompt for one picked example x (S3 Alg. 2 line 8, T_mis; Alg. 3 for pairs). With
   * `rationales` (a synthetic-pool pick), kinds that use rationales ask T_query with them.
   */
  eesPrompt(x: Example, rationales: readonly string[] | undefined, ctx: PromptContext): PromptPlan;
  /** the variables that show example x with a label word (T_mis, T_judge) */
  showExample(x: StudentInput, ctx: Omit<PromptContext, 'prompts'>): PromptVars;

  // ---- teacher outputs
  /**
   * Cleans a raw teacher reply and judges it (empty, too short, a copy of the prompt's
   * example, a duplicate of `seen`). Does not modify `seen`.
   */
  readOutput(raw: string, opts: { promptExample?: string; seen: ReadonlySet<string> }): ReadOutput;
  /** the comparison form of a text (for `seen`) */
  compareKey(text: string): string;

  // ---- metrics and EES
  /**
   * Scores predictions on a gold split.
   * @param predicted the student's answer per row (a label)
   * @throws Error when the lengths differ or the split is empty
   */
  score(gold: readonly Example[], predicted: readonly string[], labels: readonly string[]): SplitMetrics;
  /** whether the student got x wrong (S3 Alg. 2 line 6: x goes to D_mis) */
  isMisclassified(predicted: string, x: Pick<Example, 'label' | 'answers'>): boolean;
}
