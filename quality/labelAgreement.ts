/**
 * Label agreement (issue 18): how often a reference classifier trained on human-labeled gold
 * data gives a synthetic example the label the teacher was asked for. A teacher that writes
 * about the request instead of writing an example of the label, or writes an example of the
 * other label, lowers it; it says how trustworthy the synthetic labels are before any student
 * is trained on them.
 *
 * The reference: TF-IDF + logistic regression (student/, kind "tfidf-logreg"), and, when the
 * run's student is the frozen encoder ("encoder-logreg", whose embeddings the run computes
 * anyway), that student as a second candidate; each is trained on
 * - the gold train split when the task has one (its held-out accuracy: on gold validation), or
 * - the gold validation set, its held-out accuracy by 5-fold cross-fitting (each fold scored
 *   by a reference trained on the other four; folds from a seeded shuffle);
 * never on the gold test split. The candidate with the higher held-out accuracy is the
 * reference (ties: TF-IDF). TF-IDF is at chance on some pair tasks (QNLI: 45–56% held out,
 * docs/results/experiment-qnli.md), where the encoder is not. Its held-out accuracy is reported
 * beside every agreement rate: an agreement is only as meaningful as the reference is accurate.
 *
 * Agreement is reported overall, per origin ("seed" for seed and fill-up data, "ees-<q>" for
 * the EES round q additions, "icl-<q>" for ProGen rounds) and per asked label.
 */
import { StudentSchema } from '../config/schema.js';
import { argmax } from '../domain/metrics.js';
import { Rng } from '../domain/rng.js';
import type { Example, Provenance } from '../domain/types.js';
import type { AgreementCell, LabelAgreement, ReferenceInfo, ReferenceVerdict } from '../domain/labelAgreement.js';
import type { EmbeddingCacheLocation } from '../student/encoder.js';
import { createStudent, type Student, type StudentConfig } from '../student/index.js';

export type { AgreementCell, LabelAgreement, ReferenceInfo, ReferenceVerdict } from '../domain/labelAgreement.js';

/** A fitted reference classifier. */
export interface Reference {
  info: ReferenceInfo;
  /** the reference's label and p(asked label) per example, aligned with `rows` */
  judge(rows: Example[]): Promise<ReferenceVerdict[]>;
}

/** Folds for cross-fitting when the reference is trained on gold validation. */
export const CROSS_FIT_FOLDS = 5;

/** A reference classifier kind and a factory of fresh, untrained ones. */
export interface ReferenceCandidate {
  student: ReferenceInfo['student'];
  make: () => Student;
}

/** TF-IDF + logistic regression: always a candidate, and the only one by default. */
export const TFIDF_REFERENCE: ReferenceCandidate = {
  student: 'tfidf-logreg',
  make: () => createStudent(StudentSchema.parse({ kind: 'tfidf-logreg' }), { cacheDir: '' }),
};

/**
 * The reference candidates of a run: TF-IDF, plus the run's own student when it is the frozen
 * encoder (same encoder folder, head settings and embedding cache, so no text is embedded twice).
 * @param student the run's student settings with an absolute encoderPath (activities/paths.ts
 *   studentConfigOf); a finetune student is not a candidate (it trains on the Python worker)
 * @param cache where the encoder's embeddings are cached (activities/paths.ts embeddingCacheOf)
 */
export function referenceCandidates(student: StudentConfig, cache: EmbeddingCacheLocation): ReferenceCandidate[] {
  if (student.kind !== 'encoder-logreg' || !student.encoderPath) return [TFIDF_REFERENCE];
  return [TFIDF_REFERENCE, { student: 'encoder-logreg', make: () => createStudent(student, cache) }];
}

/** Most gold train examples the reference is fitted on (a seeded sample of larger splits),
 * so that its cost stays seconds on one CPU core. */
export const REFERENCE_MAX_TRAIN = 5000;

/**
 * Fits the reference classifier: every candidate on the same gold data, keeping the one with the
 * higher held-out accuracy (ties: the earlier candidate).
 * @param gold.train the gold train split (null or empty: none; a split larger than
 *   REFERENCE_MAX_TRAIN is sampled down, seeded), gold.validation the gold validation set
 * @param labels the task's labels (class order)
 * @param seed the run's seed (the train sample and the fold assignment for cross-fitting)
 * @param candidates the classifiers to choose from (referenceCandidates; default TF-IDF only).
 *   With more than one, `info.candidates` lists each one's held-out accuracy.
 * @throws Error when there is no gold data to train on (an empty validation set and no train split)
 */
export async function fitReference(
  gold: { train: Example[] | null; validation: Example[] },
  labels: string[],
  seed: number,
  candidates: readonly ReferenceCandidate[] = [TFIDF_REFERENCE],
): Promise<Reference> {
  if (!candidates.length) throw new Error('fitReference: no reference candidate');
  let best: { model: Student; info: ReferenceInfo } | null = null;
  const tried: { student: ReferenceInfo['student']; accuracy: number }[] = [];
  for (const c of candidates) {
    const fitted = await fitCandidate(gold, labels, seed, c);
    tried.push({ student: c.student, accuracy: fitted.info.heldOut.accuracy });
    if (!best || fitted.info.heldOut.accuracy > best.info.heldOut.accuracy) best = fitted;
  }
  const { model } = best!;
  const info: ReferenceInfo = tried.length > 1 ? { ...best!.info, candidates: tried } : best!.info;
  return {
    info,
    async judge(rows) {
      if (!rows.length) return [];
      const p = await model.predictProba(rows);
      return rows.map((x, i) => ({ label: labels[argmax(p[i])], p: p[i][labels.indexOf(x.label)] ?? 0 }));
    },
  };
}

/** One candidate fitted as fitReference describes, with its held-out accuracy. */
async function fitCandidate(
  gold: { train: Example[] | null; validation: Example[] },
  labels: string[],
  seed: number,
  candidate: ReferenceCandidate,
): Promise<{ model: Student; info: ReferenceInfo }> {
  const accuracy = (pred: number[][], rows: Example[]) =>
    rows.length ? rows.filter((x, i) => labels[argmax(pred[i])] === x.label).length / rows.length : 0;
  let info: ReferenceInfo;
  let model: Student;
  const train =
    gold.train && gold.train.length > REFERENCE_MAX_TRAIN
      ? new Rng(seed, 'reference-train').sample(gold.train, REFERENCE_MAX_TRAIN)
      : gold.train;
  if (train && train.length > 0) {
    model = candidate.make();
    await model.fit(train, labels);
    const pv = gold.validation.length ? await model.predictProba(gold.validation) : [];
    info = {
      student: candidate.student,
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
      const m = candidate.make();
      await m.fit(fit, labels);
      const p = await m.predictProba(held);
      correct += held.filter((x, i) => labels[argmax(p[i])] === x.label).length;
      scored += held.length;
    }
    model = candidate.make();
    await model.fit(gold.validation, labels);
    info = {
      student: candidate.student,
      trainedOn: 'gold-validation',
      examples: gold.validation.length,
      heldOut: { on: 'gold-validation (5-fold cross-fit)', count: scored, accuracy: scored ? correct / scored : 0 },
    };
  }
  return { model, info };
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
 * @param candidates the reference candidates (fitReference)
 * @returns null when there is no synthetic row; else the agreement and the verdicts, aligned
 *   with the synthetic rows (`synthetic`)
 */
export async function labelAgreementOf<R extends { label: string; provenance?: Pick<Provenance, 'origin' | 'round'> }>(
  rows: (R & Example)[],
  gold: { train: Example[] | null; validation: Example[] },
  labels: string[],
  seed: number,
  candidates: readonly ReferenceCandidate[] = [TFIDF_REFERENCE],
): Promise<{ agreement: LabelAgreement; synthetic: (R & Example)[]; verdicts: ReferenceVerdict[] } | null> {
  const synthetic = rows.filter((x) => x.provenance !== undefined);
  if (!synthetic.length) return null;
  const reference = await fitReference(gold, labels, seed, candidates);
  const verdicts = await reference.judge(synthetic);
  const agreement = agreementOf(
    synthetic.map((x) => ({ label: x.label, provenance: x.provenance! })),
    verdicts,
    labels,
    reference.info,
  );
  return { agreement, synthetic, verdicts };
}
