/**
 * ZeroGen (Ye et al. 2022a; S3 §3.2): the label-conditioned plain prompt (S3 Table 1's query
 * without rationales, T_plain), the whole budget at once, no feedback from the student.
 */
import type { Method } from './types.js';

export const zerogen: Method = {
  name: 'zerogen',
  source: 'ZeroGen (Ye et al. 2022a), S3 §3.2',
  summary: 'plain label-conditioned prompt for the whole budget; no rationales, no error extrapolation',
  usesTeacher: true,
  rationales: false,
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: false,
  async run(arm) {
    await arm.seed(arm.portion(1));
    await arm.finish();
  },
};
