/**
 * GoldGen (S3 §3.2): seed data as in S3, then one extrapolation pass (T_mis) over **every** gold
 * validation example, not only the misclassified ones; when the budget left is smaller than the
 * validation set, a seeded uniform sample of it (choosing by loss would be S3's error-driven
 * selection again). Then fill-up.
 */
import { eesRounds } from './ees.js';
import type { Method } from './types.js';

export const goldgen: Method = {
  name: 'goldgen',
  source: 'GoldGen, S3 §3.2',
  summary:
    'T_ration + T_query seed data, then T_mis on every gold validation example (a uniform sample within the budget)',
  usesTeacher: true,
  rationales: true,
  ownAcquisition: false,
  qualityStudy: true,
  needsBudget: false,
  async run(arm) {
    await arm.rationales();
    await arm.seed(arm.portion(arm.options.seedShare));
    await eesRounds(arm, { all: true, rounds: 1 });
    await arm.finish();
  },
};
