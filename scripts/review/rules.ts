/**
 * Rules of the automated reviewer (scripts/dev/auto-review.ts, issue 20 item 4): what a person
 * would decide on a round, made by a rule so that review can be measured on the real teacher.
 *
 * `reference`: the label-agreement reference (quality/labelAgreement.ts fitReference, TF-IDF +
 * logistic regression) fitted on the run's gold validation set (or, with trainOn "train", its
 * gold train split when it has one, as label agreement does), never on test; an example whose
 * label the reference disagrees with is rejected, the rest approved.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonl } from '../../data/jsonl.js';
import type { ReviewDecision } from '../../domain/steering.js';
import { ExampleSchema, type Example } from '../../domain/types.js';
import { fitReference, type Reference, type ReferenceVerdict } from '../../quality/labelAgreement.js';
import type { ReviewItem } from './round.js';

export const REVIEW_RULES = ['reference'] as const;
export type ReviewRule = (typeof REVIEW_RULES)[number];

/**
 * The reference rule's decisions: reject every example whose reference label differs from its
 * label; approve the rest (no decision).
 * @param examples the round's examples (id, label)
 * @param verdicts the reference's verdicts, aligned with `examples` (label; p = its probability
 *   of the example's label)
 * @returns reject decisions in the examples' order, each with the reason
 * @throws RangeError when the two arrays differ in length
 */
export function referenceDecisions(
  examples: readonly Pick<ReviewItem, 'id' | 'label'>[],
  verdicts: readonly ReferenceVerdict[],
): ReviewDecision[] {
  if (examples.length !== verdicts.length)
    throw new RangeError(`referenceDecisions: ${examples.length} examples but ${verdicts.length} verdicts`);
  return examples.flatMap((e, i) =>
    verdicts[i].label === e.label
      ? []
      : [
          {
            id: e.id,
            action: 'reject' as const,
            reason: `reference: ${verdicts[i].label} (p(${e.label}) = ${verdicts[i].p.toFixed(2)})`,
          },
        ],
  );
}

const RunConfigSchema = z.object({ seed: z.number(), task: z.object({ labels: z.array(z.string()).min(2) }) });

/**
 * Fits the reference of a run from its folder: `config.json` (labels, seed), `gold/validation.jsonl`
 * and, with trainOn "train", `gold/train.jsonl` when the run has one. Never the test split.
 * @param runDir the run's local folder
 * @param trainOn "validation" (default: the gold a reviewer's run already holds) or "train"
 * @throws Error when config.json is missing or has no labels / seed; DatasetError when a gold file is malformed
 */
export async function referenceOfRun(
  runDir: string,
  trainOn: 'validation' | 'train' = 'validation',
): Promise<Reference> {
  const configFile = path.join(runDir, 'config.json');
  if (!existsSync(configFile)) throw new Error(`${configFile} is missing`);
  const config = RunConfigSchema.parse(JSON.parse(readFileSync(configFile, 'utf8')));
  const validation = await readJsonl(path.join(runDir, 'gold', 'validation.jsonl'), ExampleSchema);
  const trainFile = path.join(runDir, 'gold', 'train.jsonl');
  const train =
    trainOn === 'train' && existsSync(trainFile)
      ? await readJsonl(trainFile, ExampleSchema, { allowEmpty: true })
      : null;
  return fitReference({ train, validation }, config.task.labels, config.seed);
}

/**
 * The decisions of `rule` on a round.
 * @param reference the fitted reference (rule "reference")
 */
export async function decide(
  rule: ReviewRule,
  examples: ReviewItem[],
  reference: Reference,
): Promise<ReviewDecision[]> {
  switch (rule) {
    case 'reference': {
      const rows: Example[] = examples.map((e) => ({
        id: e.id,
        text: e.text,
        ...(e.text_pair !== undefined ? { text_pair: e.text_pair } : {}),
        label: e.label,
      }));
      return referenceDecisions(examples, await reference.judge(rows));
    }
  }
}
