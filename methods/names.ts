/**
 * The names of the synthesis methods (config `method`, an experiment arm's `method`): the keys
 * of the registry `METHODS` (methods/index.ts), which must have one `Method` per name (its type
 * is `Record<MethodName, Method>`, and tests/unit/methods.test.ts checks each declaration). A
 * module of its own, without imports, so that domain/ and the configuration schema can list the
 * names without loading the methods (which import domain/ themselves).
 * Pure module.
 *
 * - s3: rationales + seed data + EES (S3 Alg. 1-3)
 * - s3-demos: S3 whose seed prompts show k gold validation examples of the asked label
 *   (synthesis.seedDemos, default 2; spends gold examples as GoldGen does)
 * - zerogen: plain label-conditioned prompt, whole budget at once (S3 §3.2, Ye et al. 2022a)
 * - seed-only: rationale prompts, no EES, same size ("w/o EES", S3 Table 3)
 * - no-rationales: plain seed prompt, then EES (S3 Table 4 direction)
 * - goldgen: seed data, then extrapolate every gold validation example (S3 §3.2)
 * - progen: plain seed, then rounds whose prompts show the most helpful synthetic examples by
 *   influence on the gold-validation loss (ProGen, Ye et al. 2022b)
 * - active: S3's loop with an acquisition function over a pool choosing what the teacher
 *   expands (Kessler et al. 2025)
 * - gold / gold-all: the student on N / all human-labeled gold train examples ("gold data")
 * - gold-validation: the student on the gold validation examples themselves
 * - s3+gold-validation: S3's synthetic data together with the gold validation examples
 */
export const METHOD_NAMES = [
  's3',
  's3-demos',
  'zerogen',
  'seed-only',
  'no-rationales',
  'goldgen',
  'progen',
  'active',
  'gold',
  'gold-all',
  'gold-validation',
  's3+gold-validation',
] as const;
export type MethodName = (typeof METHOD_NAMES)[number];
