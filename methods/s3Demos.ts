/**
 * S3 with demonstrations (issue 18 item 4): S3 (methods/s3.ts) whose seed prompts show k gold
 * validation examples of the asked label above T_query (synthesis.seedDemos, default
 * DEFAULT_SEED_DEMOS = 2; domain/demos.ts). Meant for small teachers that write about the
 * request instead of writing an example of the label. Unlike plain S3 it spends gold examples
 * in its prompts, as GoldGen's T_mis prompts do: the gold validation set it already holds for
 * EES, shown to the teacher (never the test split).
 */
import { DEFAULT_SEED_DEMOS } from '../domain/demos.js';
import { eesRounds } from './ees.js';
import type { Method } from './types.js';

export const s3Demos: Method = {
  name: 's3-demos',
  source: 'S3 Alg. 1-3 (Wang, Zhou, Sachan 2023) with in-context demonstrations in the seed prompts',
  summary:
    'S3 whose T_ration + T_query seed prompts show k gold validation examples of the asked label (synthesis.seedDemos, default 2: spends gold examples as GoldGen does), then EES on the misclassified gold validation examples (T_mis)',
  usesTeacher: true,
  rationales: true,
  ownAcquisition: false,
  qualityStudy: true,
  needsBudget: false,
  seedDemos: DEFAULT_SEED_DEMOS,
  async run(arm) {
    await arm.rationales();
    await arm.seed(arm.portion(arm.options.seedShare)); // seed prompts with demonstrations
    await eesRounds(arm);
    await arm.finish();
  },
};
