/**
 * Label agreement (issue 18): how often a reference classifier trained on human-labeled gold
 * data gives a synthetic example the label the teacher was asked for. A teacher that writes
 * about the request instead of writing an example of the label, or writes an example of the
 * other label, lowers it; it says how trustworthy the synthetic labels are before any student
 * is trained on them.
 *
 * The reference: TF-IDF + logistic regression (student/, kind "tfidf-logreg"), trained on
 * - the gold train split when the task has one (its held-out accuracy: on gold validation), or
 * - the gold validation set, its held-out accuracy by 5-fold cross-fitting (each fold scored
 *   by a reference trained on the other four; folds from a seeded shuffle);
 * never on the gold test split. Its held-out accuracy is reported beside every agreement rate:
 * an agreement is only as meaningful as the reference is accurate.
 *
 * Agreement is reported overall, per origin ("seed" for seed and fill-up data, "ees-<q>" for
 * the EES round q additions, "icl-<q>" for ProGen rounds) and per asked label.
 */
import { StudentSchema } from '../config/schema.js';
import { argmax } from '../domain/metrics.js';
import { Rng } from '../domain/rng.js';
import type { Example, Provenance } from '../domain/types.js';
import type { AgreementCell, LabelAgreement, ReferenceInfo, ReferenceVerdict } from '../domain/labelAgreement.js';
import { createStudent, type Student } from '../student/index.js';

export type { AgreementCell, LabelAgreement, ReferenceInfo, ReferenceVerdict } from '../domain/labelAgreement.js';

/** A fitted reference classifier. */
export interface Reference {
  info: ReferenceInfo;
  /** the reference's label and p(asked label) per example, aligned with `rows` */
  judge(rows: Example[]): Promise<ReferenceVerdict[]>;
}

/** Folds for cross-fitting when the reference is trained on gold validation. */
export const CROSS_FIT_FOLDS = 5;

const referenceStudent = (): Student => createStudent(StudentSchema.parse({ kind: 'tfidf-logreg' }), { cacheDir: '' });

/** Most gold train examples the reference is fitted on (a seeded sample of larger splits),
 * so that its cost stays seconds on one CPU core. */
export const REFERENCE_MAX_TRAIN = 5000;

/**
 * Fits the reference classifier.
 * @param gold.train the gold train split (null or empty: none; a split larger than
 *   REFERENCE_MAX_TRAIN is sampled down, seeded), gold.validation the gold validation set
 * @param labels the task's labels (class order)
 * @param seed the run's seed (the train sample and the fold assignment for cross-fitting)
 * @throws Error when there is no gold data to train on (an empty validation set and no train split)
 */
export async function fitReference(
  gold: { train: Example[] | null; validation: Example[] },
  labels: string[],
  seed: number,
): Promise<Reference> {
  const accuracy = (pred: number[][], rows: Example[]) =>
    rows.length ? rows.filter((x, i) => labels[argmax(pred[i])] === x.label).length / rows.length : 0;
  let info: ReferenceInfo;
  let model: Student;
  const train =
    gold.train && gold.train.length > REFERENCE_MAX_TRAIN
      ? new Rng(seed, 'reference-train').sample(gold.train, REFERENCE_MAX_TRAIN)
      : gold.train;
  if (train && train.length > 0) {
    model = referenceStudent();
    await model.fit(train, labels);
    const pv = gold.validation.length ? await model.predictProba(gold.validation) : [];
    info = {
      student: 'tfidf-logreg',
      trainedOn: 'gold-train',
      examples: train.length,
      heldOut: { on: 'gold-validation', count: gold.validation.length, accuracy: accuracy(pv, gold.validation) },
    };
  } else {
    if (gold.validation.length === 0) throw new Error('fitReference: no gold data to train a reference on');
    const order = new Rng(seed, 'reference-folds').shuffle(gold.validation.map((_, i) => i));
    const fold = new Array<number>(gold.validation.length);
    order.forEach((i, r) => (fold[i] = r % CROSS_FIT_FOLDS));
    let correct = 0;
    let scored = 0;
    for (let f = 0; f < CROSS_FIT_FOLDS; f++) {
      const fit = gold.validation.filter((_, i) => fold[i] !== f);
      const held = gold.validation.filter((_, i) => fold[i] === f);
      if (!held.length || new Set(fit.map((x) => x.label)).size < 2) continue;
      const m = referenceStudent();
      await m.fit(fit, labels);
      const p = await m.predictProba(held);
      correct += held.filter((x, i) => labels[argmax(p[i])] === x.label).length;
      scored += held.length;
    }
    model = referenceStudent();
    await model.fit(gold.validation, labels);
    info = {
      student: 'tfidf-logreg',
      trainedOn: 'gold-validation',
      examples: gold.validation.length,
      heldOut: { on: 'gold-validation (5-fold cross-fit)', count: scored, accuracy: scored ? correct / scored : 0 },
    };
  }
  return {
    info,
    async judge(rows) {
      if (!rows.length) return [];
      const p = await model.predictProba(rows);
      return rows.map((x, i) => ({ label: labels[argmax(p[i])], p: p[i][labels.indexOf(x.label)] ?? 0 }));
    },
  };
}

/** The origin group of a synthetic example: "seed", or "<origin>-<round>". */
export function originKey(p: Pick<Provenance, 'origin' | 'round'>): string {
  return p.origin === 'seed' ? 'seed' : `${p.origin}-${p.round}`;
}

/**
 * Agreement of the asked labels with the reference's verdicts.
 * @param rows synthetic examples (label = the asked label) with their provenance
 * @param verdicts the reference's verdicts, aligned with rows
 * @param labels the task's labels (every one gets a byClass cell)
 */
export function agreementOf(
  rows: { label: string; provenance: Pick<Provenance, 'origin' | 'round'> }[],
  verdicts: ReferenceVerdict[],
  labels: string[],
  reference: ReferenceInfo,
): LabelAgreement {
  const cell = (): AgreementCell => ({ count: 0, agree: 0, rate: null });
  const overall = cell();
  const byOrigin: Record<string, AgreementCell> = {};
  const byClass: Record<string, AgreementCell> = Object.fromEntries(labels.map((l) => [l, cell()]));
  rows.forEach((x, i) => {
    const ok = verdicts[i].label === x.label ? 1 : 0;
    for (const c of [overall, (byOrigin[originKey(x.provenance)] ??= cell()), (byClass[x.label] ??= cell())]) {
      c.count++;
      c.agree += ok;
    }
  });
  for (const c of [overall, ...Object.values(byOrigin), ...Object.values(byClass)])
    c.rate = c.count ? c.agree / c.count : null;
  return { reference, overall, byOrigin, byClass };
}

/**
 * Label agreement of a synthetic training set, with the reference's verdict per example.
 * Gold rows (no provenance: human labels) are skipped; they are not synthetic.
 * @param rows the training set as written (synthetic rows carry provenance)
 * @param gold the gold train split (null: none) and the gold validation set
 * @returns null when there is no synthetic row; else the agreement and the verdicts, aligned
 *   with the synthetic rows (`synthetic`)
 */
export async function labelAgreementOf<R extends { label: string; provenance?: Pick<Provenance, 'origin' | 'round'> }>(
  rows: (R & Example)[],
  gold: { train: Example[] | null; validation: Example[] },
  labels: string[],
  seed: number,
): Promise<{ agreement: LabelAgreement; synthetic: (R & Example)[]; verdicts: ReferenceVerdict[] } | null> {
  const synthetic = rows.filter((x) => x.provenance !== undefined);
  if (!synthetic.length) return null;
  const reference = await fitReference(gold, labels, seed);
  const verdicts = await reference.judge(synthetic);
  const agreement = agreementOf(
    synthetic.map((x) => ({ label: x.label, provenance: x.provenance! })),
    verdicts,
    labels,
    reference.info,
  );
  return { agreement, synthetic, verdicts };
}
