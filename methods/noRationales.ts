/**
 * S3 "w/o rationales" (S3 Table 4 direction): plain seed prompt (T_plain) for `seedShare` of the
 * budget, then EES rounds exactly as in S3.
 */
import { eesRounds } from './ees.js';
import type { Method } from './types.js';

export const noRationales: Method = {
  name: 'no-rationales',
  source: 'S3 Table 4 ablation "w/o rationales"',
  summary: 'plain seed prompt, then EES on the misclassified gold validation examples',
  usesTeacher: true,
  rationales: false,
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: false,
  async run(arm) {
    await arm.seed(arm.portion(arm.options.seedShare));
    await eesRounds(arm);
    await arm.finish();
  },
};
