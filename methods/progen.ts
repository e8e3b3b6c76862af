/**
 * ProGen (Ye et al. 2022b, "ProGen: Progressive Zero-shot Dataset Generation via In-context
 * Feedback"): plain seed data for `seedShare` of the budget; then R rounds, each scoring the
 * synthetic examples by their influence on the gold-validation loss of the student
 * (student/influence.ts, Koh & Liang 2017) and showing the `topK` most helpful ones (balanced
 * over labels) as in-context examples in the next round's plain prompts (T_icl). The rest of
 * the budget is split evenly over the rounds; then fill-up.
 */
import type { Method } from './types.js';

export const progen: Method = {
  name: 'progen',
  source: 'ProGen (Ye et al. 2022b)',
  summary: 'plain seed data, then rounds of T_icl prompts showing the top-k synthetic examples by influence',
  usesTeacher: true,
  rationales: false,
  ownAcquisition: false,
  qualityStudy: false,
  needsBudget: true,
  async run(arm) {
    const B = arm.portion(1);
    const seedLimit = arm.portion(arm.options.seedShare);
    await arm.seed(seedLimit);
    for (let q = 1; q <= arm.rounds && arm.left() > 0; q++) {
      await arm.train(q - 1);
      // a user's stop (finishAfterRound) only: left() > 0 held before training, which spends nothing
      const stopped = arm.budgetStop();
      if (stopped) {
        arm.stop(stopped);
        break;
      }
      const top = await arm.influence(q - 1, arm.options.topK);
      await arm.seed(seedLimit + ((B - seedLimit) * q) / arm.rounds, { ref: top, round: q });
    }
    await arm.finish();
  },
};
