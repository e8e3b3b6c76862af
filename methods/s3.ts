/**
 * S3 (Wang et al. 2023, Alg. 1-3): rationales per label (T_ration), seed data from sampled
 * rationales (T_query) up to `seedShare` of the budget, then EES rounds: one new example
 * (T_mis) per misclassified gold validation example — a seeded uniform sample of them when the
 * budget left cannot cover them all (the errors' class mix in expectation, as the paper's
 * expand-all; acquisition/misclassified.ts) — until R rounds, convergence or the budget; then
 * fill-up to the budget.
 */
import { eesRounds } from './ees.js';
import type { Method } from './types.js';

export const s3: Method = {
  name: 's3',
  source: 'S3 Alg. 1-3 (Wang, Zhou, Sachan 2023)',
  summary: 'T_ration + T_query seed data, then EES on the misclassified gold validation examples (T_mis)',
  usesTeacher: true,
  rationales: true,
  ownAcquisition: false,
  qualityStudy: true,
  needsBudget: false,
  async run(arm) {
    await arm.rationales(); // Alg. 1 lines 1-2
    await arm.seed(arm.portion(arm.options.seedShare)); // Alg. 1 lines 3-8
    await eesRounds(arm); // Alg. 2
    await arm.finish();
  },
};
