/**
 * The experiment configuration: one task + teacher + student shared by every arm, a list of
 * arms (a synthesis method and its options), the seeds, and the budget every arm must meet.
 * Validated by `parseExperiment` at every entry point (our CLI, `temporal workflow start
 * --type s3Experiment --input-file …`, tests), strict like the run configuration.
 *
 * Each (arm, seed) becomes one `s3Synthesis`-style run configuration (`armConfig`), so every
 * setting of a run (teacher, student, synthesis, timeouts, …) means the same in an experiment.
 *
 * Pure module (zod only): the workflows import it.
 */
import { z } from 'zod';
import { AcquisitionNameSchema } from '../acquisition/types.js';
import { ClassCapSchema } from '../acquisition/classCap.js';
import { ArmFiltersSchema, mergeFilters } from '../quality/filters/schema.js';
import { MethodNameSchema, type Budget } from '../domain/experiment.js';
import { METHODS } from '../methods/index.js';
import { checkStudent, checkTask, parseStrict, S3ConfigSchema, type S3Config } from './schema.js';

const NAME = /^[A-Za-z0-9._+-]+$/;

/** One arm: a method with its options. */
export const ArmSchema = z.strictObject({
  /** unique name in the experiment (default: the method name); names the child workflow
   * `<experiment>/<arm>/seed-<s>` and its run directory */
  name: z.string().regex(NAME, 'arm names may only contain letters, digits, ".", "_", "+" and "-"').optional(),
  /** the synthesis method (methods/): s3, zerogen, seed-only, no-rationales, goldgen, progen, active, or a
   * gold reference (gold, gold-all, gold-validation, s3+gold-validation) */
  method: MethodNameSchema,
  /** methods with rounds (s3, no-rationales, goldgen, progen): share of the budget spent on
   * seed data before the rounds spend the rest */
  seedShare: z.number().gt(0).max(1).default(0.5),
  /** progen: in-context examples shown per prompt (balanced over labels) */
  topK: z.number().int().positive().default(4),
  /** gold: number of gold train examples (default: the budget in examples; needed with a token budget) */
  goldExamples: z.number().int().positive().optional(),
  /** active: the acquisition function, the pool and the validation holdout (synthesis.*) */
  acquisition: AcquisitionNameSchema.optional(),
  /** active: the candidates, "gold-validation" or "synthetic" (default: synthesis.pool) */
  pool: z.enum(['gold-validation', 'synthetic']).optional(),
  /** active: share of gold validation held out as a dev split (default: synthesis.validationHoldout) */
  validationHoldout: z.number().min(0).max(0.9).optional(),
  /** active: m candidates per pick, the student keeps one (synthesis.candidatesPerPick) */
  candidatesPerPick: z.number().int().min(1).max(8).optional(),
  /** any arm that picks (EES or an acquisition rule): per-class cap on each round's picks
   * (synthesis.classCap: "balanced", "prior" or "none"; default the experiment's) */
  classCap: ClassCapSchema.optional(),
  /** any arm that calls the teacher: quality filters over the experiment's synthesis.filters
   * (each key optional: metaTalk, nearDuplicates, reference, selfCheck and their settings) */
  filters: ArmFiltersSchema.optional(),
  /** methods with seed prompts: k gold validation examples of the asked label shown in each
   * (synthesis.seedDemos; default the experiment's, else the method's: 2 for s3-demos, 0 others) */
  seedDemos: z.number().int().min(0).max(8).optional(),
});
export type ArmConfig = z.infer<typeof ArmSchema>;

/** The default arms (issue "Experiments" §7): the references first, then the synthesis methods. */
export const DEFAULT_ARMS: z.input<typeof ArmSchema>[] = [
  { method: 'gold' },
  { method: 'gold-validation' },
  { method: 'zerogen' },
  { method: 'seed-only' },
  { method: 'goldgen' },
  { method: 's3' },
  { method: 's3+gold-validation' },
];

export const BudgetSchema = z
  .strictObject({
    /** synthetic examples in the final training set of every arm */
    examples: z.number().int().positive().optional(),
    /** teacher tokens (prompt + completion) every arm may spend */
    tokens: z.number().int().positive().optional(),
  })
  .refine((b) => (b.examples === undefined) !== (b.tokens === undefined), {
    message: 'give exactly one of budget.examples and budget.tokens',
  });

/** Figures published elsewhere for some arms (a paper's table), shown beside this experiment's
 * in its report (report/published.ts); text, never computed with. */
export const PublishedSchema = z.strictObject({
  /** where the figures come from and under which conditions (student, teacher, data size) */
  source: z.string().min(1),
  /** arm name → the figure as published ("79.92", "12.50 / 24.38") */
  arms: z.record(z.string(), z.string().min(1)),
});
export type Published = z.infer<typeof PublishedSchema>;

export const ExperimentConfigSchema = S3ConfigSchema.omit({ runId: true, seed: true, method: true }).extend({
  /** names the parent workflow id and the folder <runRoot>/<experimentId>/ */
  experimentId: z
    .string()
    .regex(NAME, 'experimentId may only contain letters, digits, ".", "_", "+" and "-"')
    .refine((id) => id !== '.' && id !== '..', 'experimentId may not be "." or ".."')
    .default('experiment'),
  /** one child per (arm, seed); a seed fixes the gold split and every random choice of a run */
  seeds: z.array(z.number().int()).min(1).default([1, 2, 3]),
  /** what every arm spends: `{"examples": N}` synthetic examples or `{"tokens": N}` teacher tokens */
  budget: BudgetSchema.default({ examples: 200 }),
  arms: z.array(ArmSchema).min(1).prefault(DEFAULT_ARMS),
  /** children running at once (1: the embedded teacher shares the CPU) */
  parallelism: z.number().int().positive().default(1),
  /** bootstrap resamples of the paired differences */
  bootstrapResamples: z.number().int().min(100).default(2000),
  /** the data-quality study (S3 Tables 6 and 8) for the s3 and goldgen arms */
  quality: z.boolean().default(true),
  /** published figures to show beside some arms' results in the report: `{"source": "…",
   * "arms": {"s3": "79.92", …}}` (every key an arm name) */
  published: PublishedSchema.optional(),
});

/** Validated experiment configuration, defaults filled in. */
export type ExperimentConfig = z.infer<typeof ExperimentConfigSchema>;
/** Experiment configuration as a user writes it. */
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;

/**
 * Validates a raw experiment configuration.
 * @throws Error listing every invalid field (unknown keys with did-you-mean), duplicate arm
 *   names or seeds, a published figure for an arm that does not exist, a gold arm without a gold train split, or a token budget with a gold arm
 *   that has no goldExamples, or an arm whose selection the student cannot compute (checkStudent)
 */
export function parseExperiment(raw: unknown, source = 'experiment config'): ExperimentConfig {
  const cfg = parseStrict(ExperimentConfigSchema, raw, source);
  checkTask(cfg.task, source);
  const names = cfg.arms.map(armName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`invalid ${source}: two arms are named "${dup}" (give one a "name")`);
  if (new Set(cfg.seeds).size !== cfg.seeds.length) throw new Error(`invalid ${source}: seeds has duplicates`);
  for (const name of Object.keys(cfg.published?.arms ?? {}))
    if (!names.includes(name))
      throw new Error(`invalid ${source}: published.arms names "${name}", which is not an arm (${names.join(', ')})`);
  const src = cfg.task.source;
  for (const arm of cfg.arms) {
    if ((arm.method === 'gold' || arm.method === 'gold-all') && src.type === 'files' && !src.train)
      throw new Error(`invalid ${source}: arm "${armName(arm)}" needs a gold train split (task.source.train)`);
    if (
      !METHODS[arm.method].ownAcquisition &&
      (arm.acquisition || arm.pool || arm.validationHoldout !== undefined || arm.candidatesPerPick !== undefined)
    )
      throw new Error(
        `invalid ${source}: arm "${armName(arm)}": acquisition, pool, validationHoldout and candidatesPerPick are options of method "active"`,
      );
    if (
      METHODS[arm.method].ownAcquisition &&
      (arm.candidatesPerPick ?? cfg.synthesis.candidatesPerPick) > 1 &&
      (arm.acquisition ?? cfg.synthesis.acquisition) === 'teacher-judge'
    )
      throw new Error(
        `invalid ${source}: arm "${armName(arm)}": candidatesPerPick > 1 needs an acquisition function the student computes, not teacher-judge`,
      );
    const armSynthesis = armConfig(cfg, arm, cfg.seeds[0]).synthesis;
    if (armSynthesis.classCap !== 'none' && armSynthesis.acquisition === 'teacher-judge')
      throw new Error(
        `invalid ${source}: arm "${armName(arm)}": classCap needs an acquisition function the student computes, not teacher-judge`,
      );
    if (!METHODS[arm.method].usesTeacher && (arm.filters || arm.seedDemos !== undefined))
      throw new Error(
        `invalid ${source}: arm "${armName(arm)}": filters and seedDemos act on the teacher's prompts and outputs; method "${arm.method}" calls no teacher`,
      );
    if (arm.method === 'gold' && cfg.budget.tokens !== undefined && arm.goldExamples === undefined)
      throw new Error(`invalid ${source}: arm "${armName(arm)}" needs goldExamples with a token budget`);
    checkStudent(armConfig(cfg, arm, cfg.seeds[0]), `${source}: arm "${armName(arm)}"`);
  }
  return cfg;
}

/** The arm's name (its method unless named). */
export const armName = (arm: Pick<ArmConfig, 'name' | 'method'>): string => arm.name ?? arm.method;

/** The budget as the workflows use it. */
export function budgetOf(cfg: ExperimentConfig): Budget {
  return cfg.budget.tokens !== undefined
    ? { kind: 'tokens', limit: cfg.budget.tokens }
    : { kind: 'examples', limit: cfg.budget.examples ?? 200 };
}

/** `<experiment>/<arm>/seed-<s>`: the child workflow id (stable, so a re-started experiment finds it). */
export const childWorkflowId = (experimentId: string, arm: string, seed: number) =>
  `${experimentId}/${arm}/seed-${seed}`;

/**
 * The run configuration of one (arm, seed): the experiment's shared settings, run directory
 * `<runRoot>/<experimentId>/<arm>/seed-<s>`, seed `s`, and the method's prompt choice
 * (rationales or plain). Pure: no paths are resolved here.
 */
export function armConfig(cfg: ExperimentConfig, arm: ArmConfig, seed: number): S3Config {
  const base = S3ConfigSchema.omit({ runId: true, seed: true, method: true }).strip().parse(pickRunFields(cfg));
  const { experimentId } = cfg;
  const method = METHODS[arm.method];
  return {
    ...base,
    runRoot: `${cfg.runRoot.replace(/\/+$/, '')}/${experimentId}/${armName(arm)}`,
    ...(cfg.artifacts ? { artifacts: armArtifacts(cfg.artifacts, experimentId, armName(arm)) } : {}),
    runId: `seed-${seed}`,
    seed,
    method: arm.method,
    synthesis: {
      ...cfg.synthesis,
      useRationales: cfg.synthesis.useRationales && method.rationales,
      classCap: arm.classCap ?? cfg.synthesis.classCap,
      ...filtersAndDemos(cfg, arm),
      ...(method.ownAcquisition
        ? {
            acquisition: arm.acquisition ?? cfg.synthesis.acquisition,
            pool: arm.pool ?? cfg.synthesis.pool,
            validationHoldout: arm.validationHoldout ?? cfg.synthesis.validationHoldout,
            candidatesPerPick: arm.candidatesPerPick ?? cfg.synthesis.candidatesPerPick,
          }
        : // every other arm runs its method's own rule (S3's EES stays exactly S3's)
          { acquisition: 'misclassified' as const, pool: 'gold-validation' as const, candidatesPerPick: 1 }),
    },
  };
}

/** An arm's synthesis.filters and synthesis.seedDemos (absent when neither the experiment nor
 * the arm sets them, so other arms' run configurations are unchanged). */
function filtersAndDemos(cfg: ExperimentConfig, arm: ArmConfig): Partial<S3Config['synthesis']> {
  const filters = mergeFilters(cfg.synthesis.filters, arm.filters);
  const seedDemos = arm.seedDemos ?? cfg.synthesis.seedDemos;
  return { ...(filters ? { filters } : {}), ...(seedDemos !== undefined ? { seedDemos } : {}) };
}

/** The fields of an experiment configuration that a run configuration also has. */
type Artifacts = NonNullable<S3Config['artifacts']>;

/**
 * An arm's artifact store: `<uri>/<experimentId>/<arm>/` (as its runRoot), with the teacher cache
 * kept where the experiment's is (`<uri>/cache/` for an object store), so every arm and seed
 * shares one cache. Pure (runs in workflows).
 */
function armArtifacts(a: Artifacts, experimentId: string, arm: string): Artifacts {
  if (a.uri === undefined) return a;
  const root = a.uri.replace(/\/+$/, '');
  const cacheUri = a.cacheUri ?? (/^s3:\/\//i.test(root) ? `${root}/cache/` : undefined);
  return { ...a, uri: `${root}/${experimentId}/${arm}/`, ...(cacheUri ? { cacheUri } : {}) };
}

function pickRunFields(cfg: ExperimentConfig): Record<string, unknown> {
  // the experiment's own budget replaces a run's (every arm runs under it)
  const keys = Object.keys(S3ConfigSchema.shape).filter((k) => k !== 'budget');
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => keys.includes(k)));
}
