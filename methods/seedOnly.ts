/**
 * S3 "w/o EES" (S3 Table 3): rationale-based seed data (Alg. 1) for the whole budget, no error
 * extrapolation. Its first seed prompts are exactly those of the s3 arm on the same seed, so
 * they are paid once (per-call cache).
 */
import type { Method } from './types.js';

export const seedOnly: Method = {
  name: 'seed-only',
  source: 'S3 Table 3 ablation "w/o EES"',
  summary: 'T_ration + T_query seed data for the whole budget; no error extrapolation',
  usesTeacher: true,
  rationales: true,
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: false,
  async run(arm) {
    await arm.rationales();
    await arm.seed(arm.portion(1));
    await arm.finish();
  },
};
