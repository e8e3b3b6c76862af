/**
 * The human-labeled references (no teacher):
 * - gold: the student on N gold train examples, N = the budget in examples (S3's "gold data");
 * - gold-all: on the whole gold train split;
 * - gold-validation: on the gold validation examples every S3 run already holds ("why not just
 *   train on my labeled examples?"); its validation scores are not reported (it trained on them);
 * - s3+gold-validation: S3's synthetic data (the s3 arm's, served from the cache) together
 *   with the gold validation examples.
 */
import { s3 } from './s3.js';
import type { Method } from './types.js';

export const gold: Method = {
  name: 'gold',
  source: 'S3 §3.2 "gold data"',
  summary: 'N human-labeled gold train examples, N = the budget in examples',
  usesTeacher: false,
  rationales: true, // no prompts; keeps synthesis.useRationales as configured
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: true,
  async run(arm) {
    const n = arm.options.goldExamples ?? arm.portion(1);
    await arm.useGold({ train: n });
    await arm.train(0);
  },
};

export const goldAll: Method = {
  name: 'gold-all',
  source: 'S3 §3.2 "gold data"',
  summary: 'the whole human-labeled gold train split',
  usesTeacher: false,
  rationales: true, // no prompts; keeps synthesis.useRationales as configured
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: false,
  async run(arm) {
    await arm.useGold({ train: 'all' });
    await arm.train(0);
  },
};

export const goldValidation: Method = {
  name: 'gold-validation',
  source: 'the labeled examples a user already has',
  summary: 'the gold validation examples themselves (validation scores not reported)',
  usesTeacher: false,
  rationales: true, // no prompts; keeps synthesis.useRationales as configured
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: false,
  async run(arm) {
    await arm.useGold('validation');
    await arm.train(0);
  },
};

export const s3PlusGoldValidation: Method = {
  name: 's3+gold-validation',
  source: 'S3 data + the labeled examples a user already has',
  summary: "S3's synthetic data (same calls as the s3 arm) plus the gold validation examples",
  usesTeacher: true,
  rationales: true,
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: false,
  async run(arm) {
    await s3.run(arm);
    await arm.useGold('validation');
    await arm.finish();
  },
};
