/** The dataset card's label-agreement bullet (scripts/export.ts labelAgreementLine) against known values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabelAgreement } from '../../domain/labelAgreement.js';
import { labelAgreementLine } from '../../scripts/export.js';

test('the card states the measured label agreement overall, per class and per origin', () => {
  const a: LabelAgreement = {
    reference: {
      student: 'tfidf-logreg',
      trainedOn: 'gold-train',
      examples: 4653,
      heldOut: { on: 'gold-validation', count: 200, accuracy: 0.98 },
    },
    overall: { count: 330, agree: 175, rate: 175 / 330 },
    byOrigin: { seed: { count: 200, agree: 75, rate: 0.375 }, 'ees-1': { count: 80, agree: 72, rate: 0.9 } },
    byClass: { ham: { count: 168, agree: 108, rate: 108 / 168 }, spam: { count: 162, agree: 67, rate: 67 / 162 } },
  };
  const line = labelAgreementLine(a);
  assert.match(
    line,
    /^- \*\*Label agreement\*\*: a reference classifier \(tfidf-logreg, trained on 4653 gold-train examples; 98\.0% accurate on gold-validation\)/,
  );
  assert.match(line, /gives 53\.0% of the 330 synthetic examples/);
  assert.match(line, /ham 64\.3% of 168, spam 41\.4% of 162/);
  assert.match(line, /By origin: seed 37\.5% of 200, ees-1 90\.0% of 80\./);
});

test('a run without label agreement says the labels were not re-checked', () => {
  assert.match(labelAgreementLine(undefined), /were not re-checked by a second model/);
});
