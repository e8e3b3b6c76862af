/**
 * Shapes of the label-agreement metric (computed by quality/labelAgreement.ts; shown in
 * report.json, the round table, arm results and the experiment report), and the sentence
 * report.md and the CLI print. Pure module.
 */

/** Agreement of one group of examples: `agree` of `count` (rate null for an empty group). */
export interface AgreementCell {
  count: number;
  agree: number;
  rate: number | null;
}

/** The reference classifier and how good it is on gold data it was not trained on. */
export interface ReferenceInfo {
  /** the kept candidate (quality/labelAgreement.ts fitReference) */
  student: 'tfidf-logreg' | 'encoder-logreg';
  trainedOn: 'gold-train' | 'gold-validation';
  examples: number;
  /** accuracy on held-out gold data: gold validation (trainedOn gold-train) or 5-fold cross-fitted */
  heldOut: { on: 'gold-validation' | 'gold-validation (5-fold cross-fit)'; count: number; accuracy: number };
  /** with more than one candidate: each one's held-out accuracy, in the order tried (absent in
   * results recorded before 2026-12-05 and when TF-IDF was the only candidate) */
  candidates?: { student: 'tfidf-logreg' | 'encoder-logreg'; accuracy: number }[];
}

/** Label agreement of a synthetic dataset (report.json `labelAgreement`). */
export interface LabelAgreement {
  reference: ReferenceInfo;
  overall: AgreementCell;
  /** "seed", "ees-1", "ees-2", "icl-1", … */
  byOrigin: Record<string, AgreementCell>;
  /** by the label the teacher was asked for */
  byClass: Record<string, AgreementCell>;
}

/** The reference's verdict on one synthetic example (provenance `reference`). */
export interface ReferenceVerdict {
  label: string;
  /** the reference's probability of the asked label */
  p: number;
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);

/** One line for report.md: overall agreement, per class, and the reference's own accuracy (and
 * the other candidates' when there were several), with a warning when the reference is within
 * NEAR_CHANCE_MARGIN of chance. */
export function agreementSentence(a: LabelAgreement): string {
  const classes = Object.entries(a.byClass)
    .map(([l, c]) => `${l} ${pct(c.rate)} of ${c.count}`)
    .join(', ');
  const others = (a.reference.candidates ?? [])
    .filter((c) => c.student !== a.reference.student)
    .map((c) => `${c.student} at ${pct(c.accuracy)}`)
    .join(', ');
  const kept = others ? `, kept over ${others} held out` : '';
  const k = Object.keys(a.byClass).length;
  const nearChance =
    k >= 2 && a.reference.heldOut.accuracy < 1 / k + NEAR_CHANCE_MARGIN
      ? ` The reference is within ${pct(NEAR_CHANCE_MARGIN)} of chance (${pct(1 / k)} for ${k} classes), so this agreement says little about the labels.`
      : '';
  return (
    `Label agreement: a reference classifier (${a.reference.student}${kept}, trained on ${a.reference.examples} ${a.reference.trainedOn} examples; ` +
    `${pct(a.reference.heldOut.accuracy)} accurate on ${a.reference.heldOut.on}) gives ${pct(a.overall.rate)} of the ${a.overall.count} synthetic examples the label the teacher was asked for (${classes}).${nearChance}`
  );
}

/** How far above chance (1 / classes) a reference's held-out accuracy must be for the report
 * sentence not to warn that the agreement says little (QNLI's TF-IDF reference: 45–56% for 2 classes). */
export const NEAR_CHANCE_MARGIN = 0.1;
