/**
 * Teacher activities: rationales (S3 Alg. 1 lines 1-2), seed data (Alg. 1 lines 3-8; §2.4
 * for sentence pairs) and error extrapolation (Alg. 2 lines 8-10; Alg. 3 for pairs).
 *
 * Each reads its inputs from JSONL artifacts, calls the teacher through the persisted
 * per-call cache (a retry never pays twice), heartbeats its progress and writes its output
 * as JSONL, returning only a reference and counts.
 */
import path from 'node:path';
import { z } from 'zod';
import type { S3Config } from '../config/schema.js';
import { readJsonl, writeJsonl } from '../data/jsonl.js';
import { cleanOutput, judgeOutput, normalizeForCompare, parseRationales } from '../domain/cleaning.js';
import { getTemplate, labelWord, renderPrompt } from '../domain/prompts.js';
import { Rng } from '../domain/rng.js';
import {
  emptyUsage,
  ExampleSchema,
  SyntheticExampleSchema,
  type DatasetRef,
  type Rejection,
  type SamplingParams,
  type SyntheticExample,
  type TeacherUsage,
} from '../domain/types.js';
import { completeAll } from '../teacher/index.js';
import { TeacherCache } from '../teacher/cache.js';
import type { TeacherCall, TeacherReply } from '../teacher/types.js';
import type { TaskRefs } from './prepare.js';
import { cacheDirOf, cancellationSignal, guard, heartbeat, teacherFor } from './run.js';

export interface SynthesisResult {
  /** the synthesized examples (JSONL of SyntheticExample) */
  ref: DatasetRef;
  /** rejected teacher outputs with reasons (JSONL of Rejection) */
  rejectedRef: DatasetRef;
  usage: TeacherUsage;
}

/** One rationale list per label, as stored in rationales.jsonl. */
export const RationaleRowSchema = z.object({
  label: z.string(),
  rationales: z.array(z.string()),
  raw: z.array(z.string()),
});
export type RationaleRow = z.infer<typeof RationaleRowSchema>;

/** Rows of round-q/misclassified.jsonl written by trainAndEvaluate. */
export const MisclassifiedRowSchema = z.object({
  index: z.number().int(),
  loss: z.number(),
  predicted: z.string(),
  example: ExampleSchema,
});
export type MisclassifiedRow = z.infer<typeof MisclassifiedRowSchema>;

const samplingOf = (c: S3Config): SamplingParams => ({
  temperature: c.teacher.temperature,
  topP: c.teacher.topP,
  maxTokens: c.teacher.maxTokens,
});

/**
 * Alg. 1 lines 1-2: for each label y the teacher lists K rationales (prompt T_ration(y)).
 * Extra samples are drawn (up to synthesis.maxAttempts calls per label) until K distinct
 * rationales are parsed. Pair tasks and useRationales=false skip the teacher (§2.4).
 * @returns a reference to rationales.jsonl ({label, rationales[], raw[]} per label)
 */
export async function synthesizeRationales(input: { config: S3Config; task: TaskRefs }): Promise<SynthesisResult> {
  return guard(async () => {
    const { config, task } = input;
    const dir = path.join(task.runDir, 'synthetic');
    const usage = emptyUsage();
    const rows: RationaleRow[] = [];
    const rejected: Rejection[] = [];
    if (config.task.kind === 'single' && config.synthesis.useRationales) {
      const K = config.synthesis.numRationales;
      const template = getTemplate(config.task.kind, 'ration', config.task.prompts);
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
        const replies = await askTeacher(config, calls, usage, { phase: 'rationales', attempt });
        replies.forEach((r, i) => {
          const s = open[i];
          s.raw.push(r.text);
          const seen = new Set(s.rationales.map(normalizeForCompare));
          const fresh = parseRationales(r.text, K).filter((x) => !seen.has(normalizeForCompare(x)));
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
    }
    return {
      ref: await writeJsonl(path.join(dir, 'rationales.jsonl'), rows),
      rejectedRef: await writeJsonl(path.join(dir, 'rationales.rejected.jsonl'), rejected),
      usage,
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
  /** context kept from a pair task (premise), null for single text */
  context: string | null;
  misclassifiedId: string | null;
  /** the example shown in the prompt (rejected if the teacher merely copies it) */
  promptExample?: string;
  /** distinguishes samples of the same prompt: sampleIndex = slot * maxAttempts + attempt */
  slot: number;
}

/**
 * Alg. 1 lines 3-8: N_seed examples; each samples a label uniformly and k of its rationales
 * (T_query^(1)), or, for pair tasks (§2.4), a context and a label (T_query^(2)).
 * All sampling comes from Rng(config.seed, "seed-data").
 * @param input.rationales reference to rationales.jsonl from synthesizeRationales
 * @returns reference to synthetic/seed.jsonl (SyntheticExample with provenance, origin "seed", round 0)
 */
export async function synthesizeSeed(input: {
  config: S3Config;
  task: TaskRefs;
  rationales: DatasetRef;
}): Promise<SynthesisResult> {
  return guard(async () => {
    const { config, task } = input;
    const { labels, kind, item, labelWords, prompts } = config.task;
    const byLabel = new Map(
      (await readJsonl(input.rationales.path, RationaleRowSchema, { allowEmpty: true })).map((r) => [
        r.label,
        r.rationales,
      ]),
    );
    const contexts = task.contexts
      ? (await readJsonl(task.contexts.path, ExampleSchema.pick({ id: true, text: true }), { allowEmpty: true })).map(
          (c) => c.text,
        )
      : [];
    const query = getTemplate(kind, 'query', prompts);
    const plain = getTemplate(kind, 'queryPlain', prompts);
    const rng = new Rng(config.seed, 'seed-data');
    const wants: Want[] = [];
    for (let i = 0; i < config.synthesis.seedSize; i++) {
      const label = rng.pick(labels); // y_curr ~ U_1(Y)
      const word = labelWord(label, labelWords);
      if (kind === 'pair') {
        const context = rng.pick(contexts); // c_curr ~ U_1(C)
        wants.push({
          id: `seed-${i}`,
          label,
          prompt: renderPrompt(query, { context, label: word }),
          templateId: query.id,
          rationales: [],
          context,
          misclassifiedId: null,
          slot: i,
        });
        continue;
      }
      const r = rng.sample(byLabel.get(label) ?? [], config.synthesis.rationalesPerExample); // r_curr ~ U_k(r_y)
      const t = r.length ? query : plain;
      wants.push({
        id: `seed-${i}`,
        label,
        prompt: renderPrompt(t, { item, label: word, rationales: r }),
        templateId: t.id,
        rationales: r,
        context: null,
        misclassifiedId: null,
        slot: i,
      });
    }
    return synthesizeExamples(config, wants, {
      origin: 'seed',
      round: 0,
      file: path.join(task.runDir, 'synthetic', 'seed'),
    });
  });
}

/**
 * Alg. 2 lines 8-10 (Alg. 3 for pairs): for each misclassified gold validation example
 * (x, y) the teacher writes one new example similar to x with label y (T_mis); pair tasks
 * keep the context c and synthesize only the target sentence.
 * @param input.misclassified reference to round-(q-1)/misclassified.jsonl
 * @param input.train the current training data (its texts count as already seen for de-duplication)
 * @returns reference to synthetic/ees-round-<q>.jsonl (origin "ees", round q)
 */
export async function extrapolateErrors(input: {
  config: S3Config;
  task: TaskRefs;
  round: number;
  misclassified: DatasetRef;
  train: DatasetRef[];
}): Promise<SynthesisResult> {
  return guard(async () => {
    const { config, task, round } = input;
    const { kind, item, labelWords, prompts } = config.task;
    const mis = getTemplate(kind, 'mis', prompts);
    const wants: Want[] = (await readJsonl(input.misclassified.path, MisclassifiedRowSchema, { allowEmpty: true })).map(
      ({ index, example: x }) => {
        const label = labelWord(x.label, labelWords);
        const target = kind === 'pair' ? (x.text_pair ?? '') : x.text;
        return {
          id: `ees${round}-${x.id}`,
          label: x.label,
          prompt: renderPrompt(
            mis,
            kind === 'pair' ? { context: x.text, example: target, label } : { item, example: target, label },
          ),
          templateId: mis.id,
          rationales: [],
          context: kind === 'pair' ? x.text : null,
          misclassifiedId: x.id,
          promptExample: target,
          slot: round * 1_000_000 + index,
        };
      },
    );
    const seen: string[] = [];
    for (const ref of input.train)
      for (const r of await readJsonl(ref.path, SyntheticExampleSchema, { allowEmpty: true }))
        seen.push(kind === 'pair' ? (r.text_pair ?? '') : r.text);
    return synthesizeExamples(config, wants, {
      origin: 'ees',
      round,
      file: path.join(task.runDir, 'synthetic', `ees-round-${round}`),
      seen,
    });
  });
}

/**
 * Asks the teacher for every wanted example, cleans each output and keeps it unless it is
 * empty, a copy of the prompt's example, or a duplicate. A rejected want is asked again
 * (next sampleIndex) up to synthesis.maxAttempts times. Outputs are judged in want order,
 * so the result does not depend on which call finished first.
 */
async function synthesizeExamples(
  config: S3Config,
  wants: Want[],
  opts: { origin: 'seed' | 'ees'; round: number; file: string; seen?: string[] },
): Promise<SynthesisResult> {
  const sampling = samplingOf(config);
  const teacherModel = teacherFor(config).modelId;
  const maxAttempts = config.synthesis.maxAttempts;
  const usage = emptyUsage();
  const seen = new Set((opts.seen ?? []).map(normalizeForCompare));
  const kept = new Map<string, SyntheticExample>();
  const rejected: Rejection[] = [];
  let pending = wants;
  for (let attempt = 0; attempt < maxAttempts && pending.length; attempt++) {
    const calls = pending.map((w) => ({ prompt: w.prompt, sampleIndex: w.slot * maxAttempts + attempt }));
    const replies = await askTeacher(config, calls, usage, { phase: opts.origin, round: opts.round, attempt });
    const retry: Want[] = [];
    replies.forEach((reply, i) => {
      const w = pending[i];
      const text = cleanOutput(reply.text);
      const verdict = judgeOutput(text, { promptExample: w.promptExample, seen });
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
      seen.add(normalizeForCompare(text));
      kept.set(w.id, {
        id: w.id,
        ...(w.context === null ? { text } : { text: w.context, text_pair: text }),
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
          sampleIndex: calls[i].sampleIndex,
          rawOutput: reply.text,
        },
      });
    });
    pending = retry;
  }
  const rows = wants.flatMap((w) => kept.get(w.id) ?? []);
  return {
    ref: await writeJsonl(`${opts.file}.jsonl`, rows),
    rejectedRef: await writeJsonl(`${opts.file}.rejected.jsonl`, rejected),
    usage,
  };
}

/**
 * One batch of teacher calls through the per-call cache, with bounded concurrency and a
 * heartbeat after each call; adds the calls, tokens and wall time to `usage`.
 */
async function askTeacher(
  config: S3Config,
  calls: TeacherCall[],
  usage: TeacherUsage,
  beat: Record<string, unknown>,
): Promise<TeacherReply[]> {
  const t0 = Date.now();
  const replies = await completeAll(teacherFor(config), calls, samplingOf(config), {
    cache: new TeacherCache(path.join(cacheDirOf(config), 'teacher')),
    concurrency: config.teacher.concurrency,
    signal: cancellationSignal(),
    onProgress: (done, total) => heartbeat({ ...beat, done, total }),
  });
  usage.teacherMs += Date.now() - t0;
  for (const r of replies) {
    usage.calls++;
    if (r.cached) usage.cachedCalls++;
    usage.promptTokens += r.promptTokens;
    usage.completionTokens += r.completionTokens;
  }
  return replies;
}
