/**
 * The teacher session every teacher activity runs in: the worker's shared backend with the
 * persisted per-call cache (a retry never pays twice), the sampling parameters, token budgets
 * and their accounting, and `synthesizeExamples`, which asks the teacher for a list of wanted
 * examples (with re-asks on rejection, the output filters and provenance) and writes them as JSONL.
 */

import type { S3Config } from '../config/schema.js';
import { renderPrompt } from '../domain/prompts.js';
import {
  emptyUsage,
  sampleIndexOf,
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
import { taskKindOf, type ComposedInput, type PromptPlan } from '../tasks/index.js';
import { copiesDemo } from '../domain/demos.js';
import { OutputFilters, type FilterCandidate } from './filters.js';
import type { TaskRefs } from './prepare.js';
import { cancellationSignal, runActivity, workflowIdOf } from './context.js';
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

export const samplingOf = (c: S3Config): SamplingParams => ({
  temperature: c.teacher.temperature,
  topP: c.teacher.topP,
  maxTokens: c.teacher.maxTokens,
});

/**
 * The teacher as one activity sees it: the worker's shared backend for this run's model,
 * the persisted cache, deadlines, the fairness key, the cancellation signal, and the
 * progress that the heartbeat timer reports.
 */
export class TeacherSession {
  readonly backend: TeacherBackend;
  readonly cache: TeacherCache;
  readonly sampling: SamplingParams;
  readonly deadlines: ReturnType<typeof deadlinesOf>;
  /** heartbeat details, updated as calls finish */
  progress: Record<string, unknown> = {};
  retries = 0;
  private run_?: RunArtifacts;

  constructor(
    readonly deps: ActivityDeps,
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
export interface TokenBudget {
  limit: number | undefined;
  spent: number;
  exhausted: boolean;
  /** calls answered past the limit (cached, not counted) */
  discarded: number;
}

export const tokenBudget = (limit: number | undefined): TokenBudget => ({
  limit,
  spent: 0,
  exhausted: false,
  discarded: 0,
});

/** Adds one call's outcome to `usage` (calls, cached calls, tokens). */
export function tally(r: TeacherReply | TeacherRefusal, usage: TeacherUsage): void {
  usage.calls++;
  if (isRefusal(r)) return;
  if (r.cached) usage.cachedCalls++;
  usage.promptTokens += r.promptTokens;
  usage.completionTokens += r.completionTokens;
}

/** Prompt + completion tokens of one outcome (0 for a refusal, which the backend did not run). */
export const tokensOf = (r: TeacherReply | TeacherRefusal) => (isRefusal(r) ? 0 : r.promptTokens + r.completionTokens);

/** What the teacher is asked for one wanted synthetic example. */
export interface Want {
  id: string;
  label: string;
  prompt: string;
  templateId: string;
  rationales: string[];
  /** the new example's input from the cleaned output (a pair task keeps its context) */
  compose: (output: string) => ComposedInput;
  /** the task kind's check of a reply against the prompt's condition (PromptPlan.check) */
  check?: (output: string) => string | null;
  misclassifiedId: string | null;
  /** the example shown in the prompt (rejected if the teacher merely copies it) */
  promptExample?: string;
  /** distinguishes samples of the same prompt: sampleIndex = sampleIndexOf(slot, attempt) */
  slot: number;
  /** the plan's reply grammar (PromptPlan.grammar), sent only when `teacher.grammar` is on */
  grammar?: string;
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

/**
 * The prompt fields of a want from a task kind's plan: the rendered prompt and its template,
 * the rationales, how the output becomes an example, the example a copy is judged against,
 * and, when the plan names a long part, how to re-render the prompt with it cut.
 */
export function planned(
  plan: PromptPlan,
): Pick<Want, 'prompt' | 'templateId' | 'rationales' | 'compose' | 'check' | 'promptExample' | 'shorten' | 'grammar'> {
  const { template, vars, long } = plan;
  const longText = long === undefined ? undefined : (vars[long] ?? '');
  return {
    prompt: renderPrompt(template, vars),
    templateId: template.id,
    rationales: plan.rationales,
    compose: plan.compose,
    ...(plan.check ? { check: plan.check } : {}),
    ...(plan.promptExample !== undefined ? { promptExample: plan.promptExample } : {}),
    ...(plan.grammar !== undefined ? { grammar: plan.grammar } : {}),
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
export async function synthesizeExamples(
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
  // teacher.grammar: constrained decoding with the task kind's reply grammar (llama.cpp backends)
  const constrained = 'grammar' in config.teacher && config.teacher.grammar;
  const usage = emptyUsage();
  const task = taskKindOf(config.task);
  const seen = new Set((opts.seen ?? []).map(task.compareKey));
  const kept = new Map<string, SyntheticExample>();
  const rejected: Rejection[] = [];
  // synthesis.filters: null without any (then every output is judged as before)
  const filters = await OutputFilters.open(run.store, config, opts.gold, opts.filterSeen ?? opts.seen, teacher.deps);
  const order = new Map(wants.map((w, i) => [w, i]));
  const keep = (w: Want, text: string, rawOutput: string, sampleIndex: number) => {
    const input = w.compose(text);
    // a QA example carries its own answer (label); a classification's label is the want's
    return kept.set(w.id, {
      id: w.id,
      ...input,
      label: input.label ?? w.label,
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
  };
  await fitPromptBudget(teacher, wants);
  let pending = wants;
  // Token budget: calls are counted in want order (TeacherSession.askWithin)
  const budget = tokenBudget(opts.tokenLimit);
  for (let attempt = 0; attempt < maxAttempts && pending.length && !budget.exhausted; attempt++) {
    const calls: TeacherCall[] = pending.map((w) => ({
      prompt: w.prompt,
      sampleIndex: sampleIndexOf(w.slot, attempt),
      ...(constrained && w.grammar !== undefined ? { grammar: w.grammar } : {}),
    }));
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
      const checked = read.verdict.ok && w.check ? w.check(text) : null;
      const verdict =
        read.verdict.ok && w.demos && copiesDemo(text, w.demos.texts)
          ? { ok: false as const, reason: 'copy_of_demo' }
          : checked
            ? { ok: false as const, reason: checked }
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
export async function fitPromptBudget(teacher: TeacherSession, wants: Want[]): Promise<void> {
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
