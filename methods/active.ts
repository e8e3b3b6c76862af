/**
 * Active synthetic data generation (Kessler et al. 2025, "Towards Active Synthetic Data
 * Generation"): S3's loop with its fixed rule replaced by an acquisition function on the
 * student (acquisition/: loss, least-confidence, entropy, margin, random, badge, coreset,
 * lion, or S3's misclassified) over a pool (gold validation, or the synthetic examples made so
 * far). Seed data as in S3 for `seedShare` of the budget; then R rounds, each picking
 * ⌈budget left / rounds left⌉ pool items for the teacher to expand (T_mis for gold items,
 * T_query with the item's rationales for synthetic ones); then fill-up.
 * The arm's `acquisition`, `pool` and `validationHoldout` set synthesis.* for its runs.
 */
import { eesRounds } from './ees.js';
import type { Method } from './types.js';

export const active: Method = {
  name: 'active',
  source: 'Kessler et al. 2025 (arXiv 2512.00884)',
  summary: 'S3 seed data, then R rounds expanding the pool items an acquisition function picks',
  usesTeacher: true,
  rationales: true,
  ownAcquisition: true,
  qualityStudy: false,
  needsBudget: true,
  async run(arm) {
    await arm.rationales();
    await arm.seed(arm.portion(arm.options.seedShare));
    await eesRounds(arm, { spread: true });
    await arm.finish();
  },
};
