/**
 * Teacher activities: rationales (S3 Alg. 1 lines 1-2), seed data (Alg. 1 lines 3-8; §2.4
 * for sentence pairs) and error extrapolation (Alg. 2 lines 8-10; Alg. 3 for pairs).
 *
 * Each reads its inputs from JSONL artifacts, calls the worker's shared teacher backend
 * (persisted per-call cache + in-flight de-duplication: a retry never pays twice), heartbeats
 * its progress on a timer and writes its output as JSONL, returning only a reference and counts.
 * Built from their dependencies: `createSynthesisActivities({ teachers })`.
 */
import { z } from 'zod';
import type { S3Config } from '../config/schema.js';
import { normalizeForCompare, parseRationales } from '../domain/cleaning.js';
import { scoreSummary } from '../acquisition/summary.js';
import { parseRating, pickTeacherJudge } from '../acquisition/teacherJudge.js';
import { labelWord, renderPrompt } from '../domain/prompts.js';
import { Rng } from '../domain/rng.js';
import {
  emptyUsage,
  ExampleSchema,
  sampleIndexOf,
  MisclassifiedRowSchema,
  SyntheticExampleSchema,
  type DatasetRef,
  type AcquisitionRecord,
  type Rejection,
  type SamplingParams,
  type SyntheticExample,
  type TeacherUsage,
} from '../domain/types.js';
import { deadlinesOf } from '../config/deadlines.js';
import {
  completeAll,
  isRefusal,
  TeacherCache,
  type TeacherBackend,
  type TeacherCall,
  type TeacherRefusal,
  type TeacherReply,
} from '../teacher/index.js';
import { taskKindOf, type PromptPlan, type StudentInput } from '../tasks/index.js';
import { copiesDemo, pickDemos, withDemos } from '../domain/demos.js';
import { seedDemosOf } from '../methods/index.js';
import { OutputFilters, type FilterCandidate } from './filters.js';
import type { TaskRefs } from './prepare.js';
import { cancellationSignal, warn, runActivity, workflowIdOf } from './context.js';
import type { ActivityDeps } from './deps.js';
import { runArtifacts, teacherCacheOf, type RunArtifacts } from './paths.js';
import { teacherConfigOf } from './preflight.js';

export interface SynthesisResult {
  /** the synthesized examples (JSONL of SyntheticExample) */
  ref: DatasetRef;
  /** rejected teacher outputs with reasons (JSONL of Rejection) */
  rejectedRef: DatasetRef;
  usage: TeacherUsage;
  /** things the user should know, e.g. a fallback to the plain template (also logged) */
  warnings?: string[];
  /** with a token limit: whether it was reached before every wanted example was written */
  budgetExhausted?: boolean;
  /** judgeDifficulty: what the teacher-judge acquisition picked (min / median / max rating) */
  acquisition?: AcquisitionRecord;
}

/** One rationale list per label, as stored in rationales.jsonl. */
export const RationaleRowSchema = z.object({
  label: z.string(),
  rationales: z.array(z.string()),
  raw: z.array(z.string()),
});
export type RationaleRow = z.infer<typeof RationaleRowSchema>;

const samplingOf = (c: S3Config): SamplingParams => ({
  temperature: c.teacher.temperature,
  topP: c.teacher.topP,
  maxTokens: c.teacher.maxTokens,
});

/**
 * The teacher as one activity sees it: the worker's shared backend for this run's model,
 * the persisted cache, deadlines, the fairness key, the cancellation signal, and the
 * progress that the heartbeat timer reports.
 */
class TeacherSession {
  readonly backend: TeacherBackend;
  readonly cache: TeacherCache;
  readonly sampling: SamplingParams;
  readonly deadlines: ReturnType<typeof deadlinesOf>;
  /** heartbeat details, updated as calls finish */
  progress: Record<string, unknown> = {};
  retries = 0;
  private run_?: RunArtifacts;

  constructor(
    private readonly deps: ActivityDeps,
    readonly config: S3Config,
  ) {
    this.backend = deps.teachers.backend(teacherConfigOf(config));
    this.cache = teacherCacheOf(deps, config);
    this.sampling = samplingOf(config);
    this.deadlines = deadlinesOf(config);
  }

  /** The run's artifact store and keys (opened inside the activity body, where a bad runId is an input error). */
  get artifacts(): RunArtifacts {
    return (this.run_ ??= runArtifacts(this.deps, this.config));
  }

  /** Runs an activity body under the heartbeat timer reporting `progress` (runActivity). */
  run<T>(body: () => Promise<T>): Promise<T> {
    return runActivity(this.config, () => ({ ...this.progress, retries: this.retries }), body);
  }

  /**
   * One batch of calls, each stamped with the run's seed (so experiment seeds sample
   * independently); adds the wait to `usage.teacherMs` (calls and tokens: `tally`).
   * @returns one reply or context-length refusal per call, in order
   */
  async ask(
    calls: TeacherCall[],
    usage: TeacherUsage,
    beat: Record<string, unknown>,
    sampling: SamplingParams = this.sampling,
  ): Promise<(TeacherReply | TeacherRefusal)[]> {
    const t0 = Date.now();
    this.progress = { ...beat, done: 0, total: calls.length };
    const seeded = calls.map((c) => ({ ...c, seed: this.config.seed }));
    const outcomes = await completeAll(this.backend, seeded, sampling, {
      cache: this.cache,
      client: workflowIdOf(),
      callTimeoutMs: this.deadlines.callTimeoutMs,
      maxRetries: this.config.teacher.maxRetries,
      signal: cancellationSignal(),
      onProgress: (done, total) => (this.progress = { ...beat, done, total }),
      onRetry: () => this.retries++,
    });
    usage.teacherMs += Date.now() - t0;
    return outcomes;
  }

  /**
   * Calls in order, counted into `usage` (calls, cached calls, tokens) and against a token
   * budget: with `budget.limit` they go in chunks of 2 × concurrency, and the first call that
   * would pass the limit ends it (that call and the rest of its chunk stay in the cache,
   * uncounted: `budget.discarded`). `budget` carries over between calls of one activity.
   * @param sampling the sampling of these calls (default the run's; the self-check filter asks greedily)
   * @returns the counted outcomes, a prefix of `calls` (all of them without a limit)
   */
  async askWithin(
    calls: TeacherCall[],
    usage: TeacherUsage,
    beat: Record<string, unknown>,
    budget: TokenBudget = tokenBudget(undefined),
    sampling: SamplingParams = this.sampling,
  ): Promise<(TeacherReply | TeacherRefusal)[]> {
    const chunk =
      budget.limit === undefined ? Math.max(calls.length, 1) : Math.max(4, 2 * this.config.teacher.concurrency);
    const counted: (TeacherReply | TeacherRefusal)[] = [];
    for (let c = 0; c < calls.length && !budget.exhausted; c += chunk) {
      const out = await this.ask(calls.slice(c, c + chunk), usage, { ...beat, done: c }, sampling);
      for (const [j, r] of out.entries()) {
        if (budget.limit !== undefined && budget.spent + tokensOf(r) > budget.limit) {
          budget.exhausted = true;
          budget.discarded += out.length - j;
          break;
        }
        budget.spent += tokensOf(r);
        tally(r, usage);
        counted.push(r);
      }
    }
    return counted;
  }
}

/** Token budget of one activity (prompt + completion tokens counted in call order). */
interface TokenBudget {
  limit: number | undefined;
  spent: number;
  exhausted: boolean;
  /** calls answered past the limit (cached, not counted) */
  discarded: number;
}

const tokenBudget = (limit: number | undefined): TokenBudget => ({ limit, spent: 0, exhausted: false, discarded: 0 });

/** Adds one call's outcome to `usage` (calls, cached calls, tokens). */
function tally(r: TeacherReply | TeacherRefusal, usage: TeacherUsage): void {
  usage.calls++;
  if (isRefusal(r)) return;
  if (r.cached) usage.cachedCalls++;
  usage.promptTokens += r.promptTokens;
  usage.completionTokens += r.completionTokens;
}

/** Prompt + completion tokens of one outcome (0 for a refusal, which the backend did not run). */
const tokensOf = (r: TeacherReply | TeacherRefusal) => (isRefusal(r) ? 0 : r.promptTokens + r.completionTokens);

/** Builds the teacher activities from the worker's dependencies. */
export function createSynthesisActivities(deps: ActivityDeps) {
  return {
    synthesizeRationales: (input: { config: S3Config; task: TaskRefs }) => synthesizeRationales(deps, input),
    synthesizeSeed: (input: SeedInput) => synthesizeSeed(deps, input),
    extrapolateErrors: (input: ExtrapolateInput) => extrapolateErrors(deps, input),
    judgeDifficulty: (input: JudgeInput) => judgeDifficulty(deps, input),
  };
}

/**
 * Alg. 1 lines 1-2: for each label y the teacher lists K rationales (prompt T_ration(y)).
 * Extra samples are drawn (up to synthesis.maxAttempts calls per label) until K distinct
 * rationales are parsed. Pair tasks and useRationales=false skip the teacher (§2.4).
 * @returns a reference to rationales.jsonl ({label, rationales[], raw[]} per label)
 */
async function synthesizeRationales(
  deps: ActivityDeps,
  input: { config: S3Config; task: TaskRefs },
): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config } = input;
    const warnings: string[] = [];
    const run = teacher.artifacts;
    const usage = emptyUsage();
    const rows: RationaleRow[] = [];
    const rejected: Rejection[] = [];
    const kind = taskKindOf(config.task);
    const filters = await OutputFilters.open(run.store, config, undefined); // meta-talk of rationales
    if (kind.usesRationales(config)) {
      const K = config.synthesis.numRationales;
      const template = kind.template('ration', config.task.prompts);
      const state = config.task.labels.map((label) => ({
        label,
        prompt: renderPrompt(template, { item: config.task.item, label: labelWord(label, config.task.labelWords), K }),
        rationales: [] as string[],
        raw: [] as string[],
      }));
      for (let attempt = 0; attempt < config.synthesis.maxAttempts; attempt++) {
        const open = state.filter((s) => s.rationales.length < K);
        if (!open.length) break;
        const calls = open.map((s) => ({ prompt: s.prompt, sampleIndex: attempt }));
        const replies = await teacher.askWithin(calls, usage, { phase: 'rationales', attempt });
        replies.forEach((r, i) => {
          const s = open[i];
          if (isRefusal(r)) {
            usage.rejected++;
            rejected.push({
              id: `ration-${s.label}-${attempt}`,
              label: s.label,
              reason: 'context_length',
              prompt: s.prompt,
              rawOutput: '',
            });
            return;
          }
          s.raw.push(r.text);
          const seen = new Set(s.rationales.map(normalizeForCompare));
          const fresh = parseRationales(r.text, K)
            .filter((x) => !seen.has(normalizeForCompare(x)))
            .filter((x) => {
              const why = filters?.rationale(x);
              if (why) {
                usage.rejected++;
                rejected.push({
                  id: `ration-${s.label}-${attempt}`,
                  label: s.label,
                  reason: why,
                  detail: x,
                  prompt: s.prompt,
                  rawOutput: r.text,
                });
              }
              return !why;
            });
          if (!fresh.length) {
            usage.rejected++;
            rejected.push({
              id: `ration-${s.label}-${attempt}`,
              label: s.label,
              reason: 'no_rationales',
              prompt: s.prompt,
              rawOutput: r.text,
            });
          }
          s.rationales.push(...fresh.slice(0, K - s.rationales.length));
        });
      }
      for (const s of state) rows.push({ label: s.label, rationales: s.rationales, raw: s.raw });
      const none = state.filter((s) => s.rationales.length === 0).map((s) => s.label);
      if (none.length) {
        warnings.push(
          `no rationale survived for label(s) ${none.join(', ')} after ${config.synthesis.maxAttempts} attempt(s): ` +
            `their seed prompts will use the plain template (see rationales.rejected.jsonl)`,
        );
        warn(warnings[warnings.length - 1]);
      }
    }
    if (filters?.active.includes('metaTalk')) filters.addTo(usage);
    return {
      ref: await run.store.putJsonl(run.key('synthetic', 'rationales.jsonl'), rows),
      rejectedRef: await run.store.putJsonl(run.key('synthetic', 'rationales.rejected.jsonl'), rejected),
      usage,
      warnings,
    };
  });
}

/** What the teacher is asked for one wanted synthetic example. */
interface Want {
  id: string;
  label: string;
  prompt: string;
  templateId: string;
  rationales: string[];
  /** the new example's input from the cleaned output (a pair task keeps its context) */
  compose: (output: string) => StudentInput;
  misclassifiedId: string | null;
  /** the example shown in the prompt (rejected if the teacher merely copies it) */
  promptExample?: string;
  /** distinguishes samples of the same prompt: sampleIndex = sampleIndexOf(slot, attempt) */
  slot: number;
  /** re-renders the prompt with its long part (the example, or the pair context) cut to
   * `keep` characters, for prompts that do not fit the teacher's context */
  shorten?: (keep: number) => { prompt: string; fromChars: number };
  /** the acquisition function's pick this want came from (recorded in provenance) */
  acquisition?: {
    name: string;
    score: number;
    poolItem: string;
    pool: string;
    candidate?: { index: number; of: number };
  };
  /** synthesis.seedDemos: the gold validation examples shown above the prompt (ids, texts) */
  demos?: { ids: string[]; texts: string[] };
  /** set once the prompt was shortened */
  truncated?: { reason: 'context_length' | 'prompt_budget'; keptChars: number; fromChars: number };
}

/** Input of synthesizeSeed. Only `config`, `task` and `rationales` are in old histories. */
export interface SeedInput {
  config: S3Config;
  task: TaskRefs;
  /** rationales.jsonl from synthesizeRationales */
  rationales: DatasetRef;
  /** first seed index to synthesize (default 0): fill-up batches continue the same seeded
   * sequence of labels / rationales / contexts, so index i always asks the same prompt */
  from?: number;
  /** how many seed examples (default synthesis.seedSize) */
  count?: number;
  /** ProGen: JSONL of in-context examples ({label, text, text_pair?}); each prompt shows the
   * ones of its label with template T_icl (single text) instead of T_query */
  inContext?: DatasetRef;
  /** round recorded in provenance and used to tell the prompts of ProGen rounds apart (default 0) */
  round?: number;
  /** output file name under synthetic/ without extension (default "seed") */
  file?: string;
  /** stop once this many prompt + completion tokens were spent (token budgets) */
  tokenLimit?: number;
  /** the training data so far (fill-up batches): only the near-duplicate filter compares with
   * it (synthesis.filters.nearDuplicates); without it a seed batch is compared with itself */
  train?: DatasetRef[];
}

/**
 * Alg. 1 lines 3-8: N_seed examples; each samples a label uniformly and k of its rationales
 * (T_query^(1)), or, for pair tasks (§2.4), a context and a label (T_query^(2)).
 * All sampling comes from Rng(config.seed, "seed-data") (ProGen round q: "icl-<q>"), in index
 * order, so indices [from, from + count) of a longer run ask exactly the same prompts.
 * @returns reference to synthetic/<file>.jsonl (SyntheticExample with provenance, origin
 *   "seed" — "icl" when inContext is given — and round `round`)
 */
async function synthesizeSeed(deps: ActivityDeps, input: SeedInput): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config, task } = input;
    const { labels, item, labelWords, prompts } = config.task;
    const kind = taskKindOf(config.task);
    const from = input.from ?? 0;
    const count = input.count ?? config.synthesis.seedSize;
    const round = input.round ?? 0;
    const icl = new Map<string, string[]>();
    if (input.inContext)
      for (const r of await teacher.artifacts.store.getJsonl(input.inContext, ExampleSchema, { allowEmpty: true }))
        icl.set(r.label, [...(icl.get(r.label) ?? []), kind.target(r)]);
    const byLabel = new Map(
      (await teacher.artifacts.store.getJsonl(input.rationales, RationaleRowSchema, { allowEmpty: true })).map((r) => [
        r.label,
        r.rationales,
      ]),
    );
    const contexts = task.contexts
      ? (
          await teacher.artifacts.store.getJsonl(task.contexts, ExampleSchema.pick({ id: true, text: true }), {
            allowEmpty: true,
          })
        ).map((c) => c.text)
      : [];
    const plain = kind.template('queryPlain', prompts);
    const rng = new Rng(config.seed, input.inContext ? `icl-${round}` : 'seed-data');
    const wants: Want[] = [];
    const prefix = input.inContext ? `icl${round}` : 'seed';
    // ProGen rounds get their own slots so that their samples never collide with seed data
    const slotBase = input.inContext ? round * 1_000_000 : 0;
    const pools = { rationales: byLabel, contexts, rationalesPerExample: config.synthesis.rationalesPerExample };
    // synthesis.seedDemos (s3-demos): k gold validation examples of the asked label above the prompt
    const k = input.inContext ? 0 : seedDemosOf(config);
    const gold = new Map<string, { id: string; text: string }[]>();
    if (k > 0)
      for (const x of await teacher.artifacts.store.getJsonl(task.validation, ExampleSchema, { allowEmpty: true }))
        gold.set(x.label, [...(gold.get(x.label) ?? []), { id: x.id, text: kind.target(x) }]);
    for (let i = 0; i < from + count; i++) {
      const label = rng.pick(labels); // y_curr ~ U_1(Y)
      const condition = kind.drawSeed(rng, label, pools); // rationales, or a pair's context
      if (i < from) continue;
      const plan = kind.seedPrompt(condition, {
        prompts,
        item,
        label: labelWord(label, labelWords),
        examples: icl.get(label) ?? [],
      });
      const want: Want = { id: `${prefix}-${i}`, label, misclassifiedId: null, slot: slotBase + i, ...planned(plan) };
      const demos = k > 0 ? pickDemos(gold.get(label) ?? [], k, config.seed, i) : null;
      if (demos?.ids.length) {
        const vars = { item, label: labelWord(label, labelWords) };
        const shorten = want.shorten;
        Object.assign(want, {
          demos,
          prompt: withDemos(want.prompt, demos.texts, vars),
          templateId: `${want.templateId}+demos`,
          ...(shorten
            ? {
                shorten: (keep: number) => {
                  const cut = shorten(keep);
                  return { ...cut, prompt: withDemos(cut.prompt, demos.texts, vars) };
                },
              }
            : {}),
        });
      }
      wants.push(want);
    }
    const warnings: string[] = [];
    const plainLabels = [...new Set(wants.filter((w) => w.templateId === plain.id).map((w) => w.label))];
    if (kind.usesRationales(config) && plainLabels.length) {
      warnings.push(
        `seed prompts for label(s) ${plainLabels.join(', ')} fell back to the plain template: no rationales for them`,
      );
      warn(warnings[0]);
    }
    const filterSeen: string[] = [];
    if (input.train && config.synthesis.filters?.nearDuplicates)
      for (const ref of input.train)
        for (const r of await teacher.artifacts.store.getJsonl(ref, SyntheticExampleSchema, { allowEmpty: true }))
          filterSeen.push(kind.target(r));
    const result = await synthesizeExamples(teacher, wants, {
      origin: input.inContext ? 'icl' : 'seed',
      gold: task,
      filterSeen,
      round,
      file: ['synthetic', input.file ?? 'seed'],
      tokenLimit: input.tokenLimit,
    });
    return { ...result, warnings: [...(result.warnings ?? []), ...warnings] };
  });
}

/** Input of extrapolateErrors (`tokenLimit` and `file` are absent in old histories). */
export interface ExtrapolateInput {
  config: S3Config;
  task: TaskRefs;
  round: number;
  /** JSONL of MisclassifiedRow: the gold validation examples to extrapolate */
  misclassified: DatasetRef;
  /** the current training data (its texts count as already seen for de-duplication) */
  train: DatasetRef[];
  /** stop once this many prompt + completion tokens were spent (token budgets) */
  tokenLimit?: number;
}

/** Slot offset of candidate j (generate–evaluate–select): slot + j · 1e9, beyond any round's
 * slots (round · 1e6 + pool index), so candidates never share a sample index. */
const CANDIDATE_SLOT_STRIDE = 1_000_000_000;

/**
 * Alg. 2 lines 8-10 (Alg. 3 for pairs): for each misclassified gold validation example
 * (x, y) the teacher writes one new example similar to x with label y (T_mis); pair tasks
 * keep the context c and synthesize only the target sentence.
 * @param input.misclassified reference to round-(q-1)/misclassified.jsonl
 * @param input.train the current training data (its texts count as already seen for de-duplication)
 * With synthesis.candidatesPerPick = m > 1 the teacher writes m candidates per row (ids
 * `<id>-c<j>`, provenance.acquisition.candidate), all counted in the usage; the workflow then
 * has the student keep one per row (selectCandidates).
 * @returns reference to synthetic/ees-round-<q>.jsonl (origin "ees", round q)
 */
async function extrapolateErrors(deps: ActivityDeps, input: ExtrapolateInput): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config, round } = input;
    const { item, labelWords, prompts } = config.task;
    const kind = taskKindOf(config.task);
    const picked = await teacher.artifacts.store.getJsonl(input.misclassified, MisclassifiedRowSchema, {
      allowEmpty: true,
    });
    const m = config.synthesis.candidatesPerPick;
    const base: Want[] = picked.map(({ index, example: x, acquisition, score, pool, rationales }) => ({
      ...(acquisition !== undefined && score !== undefined
        ? { acquisition: { name: acquisition, score, poolItem: x.id, pool: pool ?? 'gold-validation' } }
        : {}),
      id: `ees${round}-${x.id}`,
      label: x.label,
      misclassifiedId: x.id,
      slot: round * 1_000_000 + index,
      // T_mis with x; for a synthetic pool item of a kind with rationales, T_query with its rationales
      ...planned(kind.eesPrompt(x, rationales, { prompts, item, label: labelWord(x.label, labelWords) })),
    }));
    // generate–evaluate–select: m candidates per pick (candidate j > 0 in its own slot range),
    // the student keeps one of them later (selectCandidates)
    const wants: Want[] =
      m === 1
        ? base
        : base.flatMap((w) =>
            Array.from({ length: m }, (_, j) => ({
              ...w,
              id: `${w.id}-c${j}`,
              slot: w.slot + j * CANDIDATE_SLOT_STRIDE,
              ...(w.acquisition ? { acquisition: { ...w.acquisition, candidate: { index: j, of: m } } } : {}),
            })),
          );
    const seen: string[] = [];
    for (const ref of input.train)
      for (const r of await teacher.artifacts.store.getJsonl(ref, SyntheticExampleSchema, { allowEmpty: true }))
        seen.push(kind.target(r));
    return synthesizeExamples(teacher, wants, {
      origin: 'ees',
      gold: input.task,
      round,
      file: ['synthetic', `ees-round-${round}`],
      seen,
      tokenLimit: input.tokenLimit,
    });
  });
}

/**
 * The prompt fields of a want from a task kind's plan: the rendered prompt and its template,
 * the rationales, how the output becomes an example, the example a copy is judged against,
 * and, when the plan names a long part, how to re-render the prompt with it cut.
 */
function planned(
  plan: PromptPlan,
): Pick<Want, 'prompt' | 'templateId' | 'rationales' | 'compose' | 'promptExample' | 'shorten'> {
  const { template, vars, long } = plan;
  const longText = long === undefined ? undefined : (vars[long] ?? '');
  return {
    prompt: renderPrompt(template, vars),
    templateId: template.id,
    rationales: plan.rationales,
    compose: plan.compose,
    ...(plan.promptExample !== undefined ? { promptExample: plan.promptExample } : {}),
    ...(long !== undefined && longText !== undefined
      ? {
          shorten: (keep: number) => ({
            prompt: renderPrompt(template, { ...vars, [long]: longText.slice(0, keep) }),
            fromChars: longText.length,
          }),
        }
      : {}),
  };
}

/**
 * Asks the teacher for every wanted example, cleans each output and keeps it unless it is
 * empty, a copy of the prompt's example, or a duplicate. A rejected want is asked again
 * (next sampleIndex) up to synthesis.maxAttempts times. Outputs are judged in want order,
 * so the result does not depend on which call finished first.
 *
 * Prompts that do not fit the teacher's context are never cut silently by the backend:
 * - embedded teacher (it counts tokens): a prompt over `contextTokens - maxTokens` has its
 *   example shortened before the call (`promptTruncated.reason = "prompt_budget"`);
 * - a context-length refusal from the backend costs only that example: its example is cut
 *   to half and asked once more (`"context_length"`), and a second refusal is a counted
 *   rejection (reason `context_length`).
 */
async function synthesizeExamples(
  teacher: TeacherSession,
  wants: Want[],
  opts: {
    origin: 'seed' | 'ees' | 'icl';
    round: number;
    /** where the output goes in the run, without ".jsonl": e.g. ['synthetic', 'seed'] */
    file: string[];
    seen?: string[];
    tokenLimit?: number;
    /** the task's gold data (the reference filter's training data) */
    gold?: TaskRefs;
    /** texts only the near-duplicate filter compares with (default `seen`) */
    filterSeen?: string[];
  },
): Promise<SynthesisResult> {
  const { config, sampling } = teacher;
  const run = teacher.artifacts;
  const stem = run.key(...opts.file);
  const teacherModel = teacher.backend.teacher.modelId;
  const maxAttempts = config.synthesis.maxAttempts;
  const usage = emptyUsage();
  const task = taskKindOf(config.task);
  const seen = new Set((opts.seen ?? []).map(task.compareKey));
  const kept = new Map<string, SyntheticExample>();
  const rejected: Rejection[] = [];
  // synthesis.filters: null without any (then every output is judged as before)
  const filters = await OutputFilters.open(run.store, config, opts.gold, opts.filterSeen ?? opts.seen);
  const order = new Map(wants.map((w, i) => [w, i]));
  const keep = (w: Want, text: string, rawOutput: string, sampleIndex: number) =>
    kept.set(w.id, {
      id: w.id,
      ...w.compose(text),
      label: w.label,
      provenance: {
        origin: opts.origin,
        round: opts.round,
        rationales: w.rationales,
        misclassifiedId: w.misclassifiedId,
        templateId: w.templateId,
        prompt: w.prompt,
        teacherModel,
        sampling,
        sampleIndex,
        rawOutput,
        ...(w.truncated ? { promptTruncated: w.truncated } : {}),
        ...(w.acquisition ? { acquisition: w.acquisition } : {}),
        ...(w.demos ? { demos: w.demos.ids } : {}),
      },
    });
  await fitPromptBudget(teacher, wants);
  let pending = wants;
  // Token budget: calls are counted in want order (TeacherSession.askWithin)
  const budget = tokenBudget(opts.tokenLimit);
  for (let attempt = 0; attempt < maxAttempts && pending.length && !budget.exhausted; attempt++) {
    const calls = pending.map((w) => ({ prompt: w.prompt, sampleIndex: sampleIndexOf(w.slot, attempt) }));
    const replies = await teacher.askWithin(calls, usage, { phase: opts.origin, round: opts.round, attempt }, budget);
    const retry: Want[] = [];
    const candidates: (FilterCandidate & { w: Want; key: string; raw: string })[] = [];
    replies.forEach((reply, i) => {
      const w = pending[i];
      if (isRefusal(reply)) {
        usage.rejected++;
        rejected.push({
          id: `${w.id}#${attempt}`,
          label: w.label,
          reason: 'context_length',
          prompt: w.prompt,
          rawOutput: '',
        });
        if (w.shorten && w.truncated?.reason !== 'context_length') {
          const keep = Math.floor((w.truncated?.keptChars ?? w.shorten(Infinity).fromChars) / 2);
          const { prompt, fromChars } = w.shorten(keep);
          w.prompt = prompt;
          w.truncated = { reason: 'context_length', keptChars: keep, fromChars };
          retry.push(w);
        }
        return;
      }
      const read = task.readOutput(reply.text, { promptExample: w.promptExample, seen });
      const { text, key } = read;
      const verdict =
        read.verdict.ok && w.demos && copiesDemo(text, w.demos.texts)
          ? { ok: false as const, reason: 'copy_of_demo' }
          : read.verdict;
      if (!verdict.ok) {
        usage.rejected++;
        rejected.push({
          id: `${w.id}#${attempt}`,
          label: w.label,
          reason: verdict.reason,
          prompt: w.prompt,
          rawOutput: reply.text,
        });
        retry.push(w);
        return;
      }
      seen.add(key);
      const sampleIndex = calls[i].sampleIndex;
      if (filters)
        candidates.push({
          w,
          key,
          raw: reply.text,
          id: w.id,
          label: w.label,
          output: text,
          input: w.compose(text),
          sampleIndex,
        });
      else keep(w, text, reply.text, sampleIndex);
    });
    if (filters && candidates.length) {
      // the configured quality filters (activities/filters.ts); the self-check asks through this
      // session, counted into this activity's usage and token budget
      const ask = (c: TeacherCall[], params: SamplingParams) =>
        teacher.askWithin(c, usage, { phase: 'self-check', round: opts.round, attempt }, budget, params);
      const drops = await filters.check(candidates, ask);
      candidates.forEach((c, j) => {
        const d = drops[j];
        if (!d) return void keep(c.w, c.output, c.raw, c.sampleIndex);
        seen.delete(c.key);
        usage.rejected++;
        rejected.push({
          id: `${c.w.id}#${attempt}`,
          label: c.w.label,
          reason: d.reason,
          detail: d.detail,
          prompt: c.w.prompt,
          rawOutput: c.raw,
        });
        retry.push(c.w);
      });
      retry.sort((a, b) => order.get(a)! - order.get(b)!);
    }
    pending = retry;
  }
  if (filters) filters.addTo(usage);
  const rows = wants.flatMap((w) => kept.get(w.id) ?? []);
  const truncated = wants.filter((w) => w.truncated).length;
  const warnings = truncated
    ? [`${truncated} prompt(s) had their example shortened to fit the teacher's context (provenance.promptTruncated)`]
    : [];
  if (budget.exhausted)
    warnings.push(
      `token budget of ${budget.limit} reached after ${rows.length} of ${wants.length} wanted examples ` +
        `(${budget.discarded} call(s) past it were not counted and are kept in the cache)`,
    );
  return {
    ref: await run.store.putJsonl(`${stem}.jsonl`, rows),
    rejectedRef: await run.store.putJsonl(`${stem}.rejected.jsonl`, rejected),
    usage,
    warnings,
    ...(budget.limit !== undefined ? { budgetExhausted: budget.exhausted } : {}),
  };
}

/**
 * For a teacher that counts prompt tokens (the embedded model): shortens the example of every
 * prompt whose tokens plus `maxTokens` exceed the context, proportionally, re-counting
 * (at most 4 passes), and records `truncated` on the want. Prompts without a long part
 * (`shorten` unset) are left to the backend's refusal.
 */
async function fitPromptBudget(teacher: TeacherSession, wants: Want[]): Promise<void> {
  const t = teacher.backend.teacher;
  if (!t.countPromptTokens || !t.contextTokens) return;
  const budget = t.contextTokens - teacher.sampling.maxTokens;
  for (const w of wants) {
    if (!w.shorten) continue;
    let tokens = await t.countPromptTokens(w.prompt);
    const fromChars = w.shorten(Infinity).fromChars;
    let keep = fromChars;
    for (let pass = 0; tokens > budget && pass < 4 && keep > 0; pass++) {
      keep = Math.max(0, Math.floor(keep * (budget / tokens) * 0.9));
      w.prompt = w.shorten(keep).prompt;
      w.truncated = { reason: 'prompt_budget', keptChars: keep, fromChars };
      tokens = await t.countPromptTokens(w.prompt);
    }
  }
}

/** Input of judgeDifficulty. */
export interface JudgeInput {
  config: S3Config;
  task: TaskRefs;
  round: number;
  /** every pool candidate (JSONL of MisclassifiedRow, from trainAndEvaluate with teacher-judge) */
  candidates: DatasetRef;
  /** B: how many to pick (default: as many as the student misclassifies among the candidates) */
  batch?: number;
  /** stop asking once this many prompt + completion tokens were spent (token budgets) */
  tokenLimit?: number;
}

/**
 * The teacher-judge acquisition (Kessler et al. 2025's LLM-specific kind of selector): the
 * teacher rates each candidate's difficulty 1 (easy) … 5 (hard) with T_judge, and the B
 * hardest are picked (acquisition/teacherJudge.ts; unparsable answers are skipped and counted).
 * Its calls count against the budget like any other: with a token limit the candidates are
 * asked in a seeded random order until it is reached, and only the ones rated by then can be
 * picked.
 * @returns reference to round-<q>/judged.jsonl (the picked rows, hardest first, score =
 *   rating) and the usage;
 *   every rating is in round-<q>/judge-ratings.jsonl
 */
async function judgeDifficulty(deps: ActivityDeps, input: JudgeInput): Promise<SynthesisResult> {
  const teacher = new TeacherSession(deps, input.config);
  return teacher.run(async () => {
    const { config, round } = input;
    const { item, labelWords, prompts } = config.task;
    const kind = taskKindOf(config.task);
    const judge = kind.template('judge', prompts);
    const run = teacher.artifacts;
    const pool = await run.store.getJsonl(input.candidates, MisclassifiedRowSchema, { allowEmpty: true });
    // under a token limit only the candidates rated before it is reached can be picked: rate
    // them in a seeded random order, not always the first items of the pool
    const rows = input.tokenLimit === undefined ? pool : new Rng(config.seed, `judge-order-${round}`).shuffle(pool);
    const calls = rows.map((r) => {
      const label = labelWord(r.example.label, labelWords);
      const vars = kind.showExample(r.example, { item, label });
      return { prompt: renderPrompt(judge, vars), sampleIndex: sampleIndexOf(round * 1_000_000 + r.index, 0) };
    });
    const usage = emptyUsage();
    const ratings: (number | null)[] = rows.map(() => null);
    const budget = tokenBudget(input.tokenLimit);
    const counted = await teacher.askWithin(calls, usage, { phase: 'judge', round }, budget);
    counted.forEach((r, i) => (ratings[i] = isRefusal(r) ? null : parseRating(r.text)));
    // asked (within the token limit) but answered without a 1-5 rating
    const unrated = counted.filter((_, i) => ratings[i] === null).length;
    const unasked = rows.length - counted.length;
    const wrong = rows.filter((r) => kind.isMisclassified(r.predicted, r.example)).length;
    const picks = pickTeacherJudge({
      ids: rows.map((r) => r.example.id),
      probs: rows.map(() => [1]),
      labels: rows.map(() => null),
      batch: Math.min(input.batch ?? wrong, rows.length),
      seed: config.seed,
      judgeScores: ratings,
    });
    await run.store.putJsonl(
      run.key(`round-${round}`, 'judge-ratings.jsonl'),
      rows.map((r, i) => ({ id: r.example.id, label: r.example.label, rating: ratings[i] })),
    );
    // hardest first: a token-limited extrapolation expands them in this order
    const picked = picks.map((p) => ({ ...rows[p.index], acquisition: 'teacher-judge', score: p.score }));
    const warnings = [
      ...(unrated
        ? [
            `teacher-judge round ${round}: ${unrated} of ${counted.length} rated candidates got no 1-5 rating (not picked)`,
          ]
        : []),
      ...(unasked
        ? [
            `teacher-judge round ${round}: ${counted.length} of ${rows.length} candidates rated within the round's token share`,
          ]
        : []),
    ];
    return {
      ref: await run.store.putJsonl(run.key(`round-${round}`, 'judged.jsonl'), picked, {
        labelOf: (r) => r.example.label,
      }),
      rejectedRef: await run.store.putJsonl(run.key(`round-${round}`, 'judge.rejected.jsonl'), []),
      usage,
      warnings,
      ...(budget.limit !== undefined ? { budgetExhausted: budget.exhausted } : {}),
      acquisition: {
        name: 'teacher-judge',
        pool: rows[0]?.pool ?? 'gold-validation',
        candidates: rows.length,
        picked: scoreSummary(picks),
      },
    };
  });
}
