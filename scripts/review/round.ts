/**
 * The round waiting for a human review (issue 20; the `review` Update of workflows/steering.ts),
 * as the review page and the automated reviewer see it: each synthetic example with its
 * provenance joined to the gold validation example it extrapolates and the student's prediction
 * on that example (round-<q>/picked.jsonl, written by trainAndEvaluate).
 *
 * Reads the run's local folder (`progress.runDir`, the data files of `steering.review.data`):
 * a run whose artifacts live in an object store cannot be reviewed here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonl } from '../../data/jsonl.js';
import { ExampleSchema, PickedRowSchema, SyntheticExampleSchema, type Example } from '../../domain/types.js';

/** The gold example a synthetic example extrapolates (EES), with what the student made of it. */
export interface ExtrapolatedGold {
  id: string;
  text: string;
  text_pair?: string;
  /** the human (gold) label */
  label: string;
  /** the student's label for it in the round that picked it (absent: not recorded) */
  predicted?: string;
  /** cross-entropy of the gold label under that student, nats */
  loss?: number;
  /** the acquisition rule that picked it and its score */
  acquisition?: { name: string; score?: number };
}

/** One synthetic example of the round under review, as the page shows it. Never holds the
 * teacher's prompt, raw output or anything of the configuration. */
export interface ReviewItem {
  id: string;
  /** the label the teacher was asked for (the example's label) */
  label: string;
  text: string;
  text_pair?: string;
  /** "seed" (seed and fill-up data), "ees" (error extrapolation), "icl" (ProGen) */
  origin: string;
  /** the synthesis round that wrote it */
  round: number;
  rationales: string[];
  /** the gold validation example it extrapolates (EES), when known */
  extrapolates?: ExtrapolatedGold;
  /** the gold-trained reference classifier's verdict, when the row carries one */
  reference?: { label: string; p: number };
}

/** The round waiting for a review. */
export interface ReviewRound {
  round: number;
  /** the task's labels, in the configuration's order (relabel shortcut n = labels[n-1]) */
  labels: string[];
  examples: ReviewItem[];
}

const PickedFileSchema = PickedRowSchema.passthrough();
const ConfigLabelsSchema = z.object({ task: z.object({ labels: z.array(z.string()).min(1) }) });

/**
 * The task's labels from `<runDir>/config.json` (written by prepareTask).
 * @throws Error when the file is missing or has no task.labels
 */
export function labelsOfRun(runDir: string): string[] {
  const file = path.join(runDir, 'config.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: the run has not prepared its data yet`);
  const r = ConfigLabelsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!r.success) throw new Error(`${file} has no task.labels`);
  return r.data.task.labels;
}

/**
 * Every pick the run's rounds recorded (round-<q>/picked.jsonl, or misclassified.jsonl of runs
 * recorded before the rename), by the picked example's id; a later round's pick of the same id
 * wins.
 */
async function picksOf(runDir: string): Promise<Map<string, z.infer<typeof PickedFileSchema>>> {
  const picks = new Map<string, z.infer<typeof PickedFileSchema>>();
  const rounds = readdirSync(runDir)
    .map((d) => /^round-(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const q of rounds) {
    const dir = path.join(runDir, `round-${q}`);
    const file = ['picked.jsonl', 'misclassified.jsonl'].map((f) => path.join(dir, f)).find((f) => existsSync(f));
    if (file)
      for (const row of await readJsonl(file, PickedFileSchema, { allowEmpty: true })) picks.set(row.example.id, row);
  }
  return picks;
}

/**
 * Loads the round waiting for review.
 * @param review `steering.review` of the progress query (round: the round waiting; data: the
 *   local JSONL files of its synthetic examples)
 * @param runDir the run's local folder (`progress.runDir`): config.json for the labels,
 *   round-<q>/picked.jsonl for the student's predictions, gold/validation.jsonl for a gold
 *   example no pick names
 * @returns the examples in file order, each joined to the gold example it extrapolates
 * @throws Error when no round waits; DatasetError (data/jsonl.ts) naming the file when a data
 *   file is missing or malformed
 */
export async function loadReviewRound(
  review: { round: number | null; data: string[] },
  runDir: string,
): Promise<ReviewRound> {
  if (review.round === null) throw new Error('no round is waiting for review');
  const labels = labelsOfRun(runDir);
  const rows = [];
  for (const file of review.data) rows.push(...(await readJsonl(file, SyntheticExampleSchema, { allowEmpty: true })));
  const picks = await picksOf(runDir);
  let gold: Map<string, Example> | undefined;
  const goldOf = async (id: string) => {
    if (!gold) {
      const file = path.join(runDir, 'gold', 'validation.jsonl');
      gold = new Map(
        existsSync(file) ? (await readJsonl(file, ExampleSchema, { allowEmpty: true })).map((x) => [x.id, x]) : [],
      );
    }
    return gold.get(id);
  };
  const examples: ReviewItem[] = [];
  for (const r of rows) {
    const p = r.provenance;
    const goldId = p.misclassifiedId ?? p.acquisition?.poolItem ?? null;
    let extrapolates: ExtrapolatedGold | undefined;
    if (goldId !== null) {
      const pick = picks.get(goldId);
      const g = pick?.example ?? (await goldOf(goldId));
      if (g)
        extrapolates = {
          id: g.id,
          text: g.text,
          ...(g.text_pair !== undefined ? { text_pair: g.text_pair } : {}),
          label: g.label,
          ...(pick ? { predicted: pick.predicted, loss: pick.loss } : {}),
          ...(p.acquisition
            ? { acquisition: { name: p.acquisition.name, score: p.acquisition.score } }
            : pick?.acquisition
              ? { acquisition: { name: pick.acquisition, score: pick.score } }
              : {}),
        };
    }
    examples.push({
      id: r.id,
      label: r.label,
      text: r.text,
      ...(r.text_pair !== undefined ? { text_pair: r.text_pair } : {}),
      origin: p.origin,
      round: p.round,
      rationales: p.rationales,
      ...(extrapolates ? { extrapolates } : {}),
      ...(p.reference ? { reference: p.reference } : {}),
    });
  }
  return { round: review.round, labels, examples };
}
