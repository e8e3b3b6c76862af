/**
 * What single-text and sentence-pair classification share (tasks/single.ts, tasks/pair.ts):
 * labels as answers, seeded unstratified samples of a split, every label present in a gold
 * split, accuracy and macro-F1, "misclassified" = the predicted label is not the gold one, and
 * the teacher reply read with domain/cleaning.ts. A kind that is not a classification (QA)
 * writes its own.
 * Pure module.
 */
import { cleanOutput, judgeOutput, normalizeForCompare } from '../domain/cleaning.js';
import { scoreSplit } from '../domain/metrics.js';
import { templateFrom, type TemplateName } from '../domain/prompts.js';
import { takeSample } from '../data/split.js';
import type { TaskKind, TaskKindName, PromptOverrides } from './types.js';

/** Whether `v` is a string with something besides whitespace. */
export const nonBlank = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';

/** The members of TaskKind that every classification kind implements the same way. */
export type ClassificationParts = Pick<
  TaskKind,
  'sample' | 'checkSplit' | 'score' | 'isMisclassified' | 'readOutput' | 'compareKey' | 'template'
>;

/**
 * The shared members, with the kind's default templates.
 * @param name the kind's name (template ids are "<name>.<template>.table1" / ".custom")
 * @param defaults the kind's Table 1 templates
 */
export function classificationParts(
  name: TaskKindName,
  defaults: Readonly<Record<TemplateName, string>>,
): ClassificationParts {
  return {
    template: (t: TemplateName, overrides: PromptOverrides = {}) => templateFrom(name, defaults, t, overrides),
    sample: (rows, n, rng) => takeSample(rows, n, rng),
    checkSplit(split, rows, labels) {
      const present = new Set(rows.map((r) => r.label));
      const missing = labels.filter((l) => !present.has(l));
      return missing.length ? `gold ${split} split has no example of label(s) ${missing.join(', ')}` : null;
    },
    score: (gold, predicted, labels) =>
      scoreSplit(
        gold.map((x) => x.label),
        predicted,
        labels,
      ),
    isMisclassified: (predicted, x) => predicted !== x.label,
    readOutput(raw, opts) {
      const text = cleanOutput(raw);
      const verdict = judgeOutput(text, { promptExample: opts.promptExample, seen: opts.seen });
      return { text, verdict, key: normalizeForCompare(text) };
    },
    compareKey: normalizeForCompare,
  };
}
