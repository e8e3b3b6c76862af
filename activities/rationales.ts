/** S3 Alg. 1 lines 1-2: K rationales per label (T_ration). */
import { z } from 'zod';
import type { S3Config } from '../config/schema.js';
import { normalizeForCompare, parseRationales } from '../domain/cleaning.js';
import { labelWord, renderPrompt } from '../domain/prompts.js';
import { emptyUsage, type Rejection } from '../domain/types.js';
import { isRefusal } from '../teacher/index.js';
import { taskKindOf } from '../tasks/index.js';
import { OutputFilters } from './filters.js';
import type { TaskRefs } from './prepare.js';
import { warn } from './context.js';
import type { ActivityDeps } from './deps.js';
import { TeacherSession, type SynthesisResult } from './teacherSession.js';

/** One rationale list per label, as stored in rationales.jsonl. */
export const RationaleRowSchema = z.object({
  label: z.string(),
  rationales: z.array(z.string()),
  raw: z.array(z.string()),
});

export type RationaleRow = z.infer<typeof RationaleRowSchema>;

/**
 * Alg. 1 lines 1-2: for each label y the teacher lists K rationales (prompt T_ration(y)).
 * Extra samples are drawn (up to synthesis.maxAttempts calls per label) until K distinct
 * rationales are parsed. Pair tasks and useRationales=false skip the teacher (§2.4).
 * @returns a reference to rationales.jsonl ({label, rationales[], raw[]} per label)
 */
export async function synthesizeRationales(
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
