/**
 * Activities of the experiment harness that are not teacher or student work: the gold data
 * of the reference arms, the merged training set of an arm, persisting finished arms (so a
 * re-started experiment reuses them), and the experiment report.
 */
import { createHash } from 'node:crypto';
import type { ExperimentConfig } from '../config/experiment.js';
import type { S3Config } from '../config/schema.js';
import { FINISHED_FILE, type ArmSeedResult, type ExperimentSummary } from '../domain/experiment.js';
import { Rng } from '../domain/rng.js';
import type { LabelAgreement } from '../domain/labelAgreement.js';
import { ExampleSchema, type DatasetRef, type Example, type Provenance } from '../domain/types.js';
import { writeExperimentReport } from '../report/experimentReport.js';
import type { TaskRefs } from './prepare.js';
import { invalidInput, runActivity } from './context.js';
import type { StoreDeps } from './deps.js';
import { experimentArtifacts, runArtifacts } from './paths.js';
import { referenceVerdicts } from './labelAgreement.js';

/**
 * The human-labeled training data of a reference arm.
 * @param input.which `{train: n}`: a seeded sample (Rng(seed, "gold-train-sample")) of n gold
 *   train examples, written to gold/train-<n>.jsonl; `{train: "all"}`: the whole gold train
 *   split; `"validation"`: the gold validation set itself
 * @returns the reference to train on
 * @throws ApplicationFailure InvalidInput when the task has no gold train split, or n exceeds it
 */
export async function useGoldData(
  input: {
    config: S3Config;
    task: TaskRefs;
    which: { train: number | 'all' } | 'validation';
  },
  deps: StoreDeps = {},
): Promise<DatasetRef> {
  return runActivity(
    input.config,
    () => ({ phase: 'gold data' }),
    async () => {
      const { task, which, config } = input;
      if (which === 'validation') return task.validation;
      if (!task.train)
        throw invalidInput('this task has no gold train split (set task.source.train to a labeled file)');
      if (which.train === 'all') return task.train;
      const run = runArtifacts(deps, config);
      const rows = await run.store.getJsonl(task.train, ExampleSchema);
      if (which.train > rows.length)
        throw invalidInput(`gold arm wants ${which.train} gold train examples, the split has ${rows.length}`);
      const sample = new Rng(config.seed, 'gold-train-sample').sample(rows, which.train);
      return run.store.putJsonl(run.key('gold', `train-${which.train}.jsonl`), sample);
    },
  );
}

/**
 * Writes the final student's training set (synthetic and gold parts, in order) as one file.
 * @returns reference to <runDir>/synthetic/final.jsonl
 */
export async function mergeTrainingSet(
  input: {
    config: S3Config;
    task: TaskRefs;
    train: DatasetRef[];
  },
  deps: StoreDeps = {},
): Promise<DatasetRef & { labelAgreement?: LabelAgreement }> {
  return runActivity(
    input.config,
    () => ({ phase: 'merge' }),
    async () => {
      const run = runArtifacts(deps, input.config);
      const rows: (Example & { provenance?: Provenance })[] = [];
      for (const ref of input.train)
        rows.push(...(await run.store.getJsonl(ref, ExampleSchema.passthrough(), { allowEmpty: true })));
      // label agreement with a gold-trained reference (issue 18), per example in provenance
      const agreed = await referenceVerdicts(run.store, input.config, input.task, rows, deps);
      const ref = await run.store.putJsonl(run.key('synthetic', 'final.jsonl'), (agreed?.rows ?? rows) as never[]);
      return agreed ? { ...ref, labelAgreement: agreed.agreement } : ref;
    },
  );
}

/** Hex sha256 of the JSON of what determines an arm's result: its child workflow input (run
 * configuration, arm options, budget, quality study). */
export function armFingerprint(childInput: unknown): string {
  return createHash('sha256').update(JSON.stringify(childInput)).digest('hex');
}

/**
 * Persists a finished arm as <runDir>/arm-result.json with the fingerprint of its input,
 * atomically (the store writes a temporary file and renames it).
 */
export async function saveArmResult(
  input: {
    config: S3Config;
    result: ArmSeedResult;
    /** the child's input (fingerprinted; absent: the run configuration alone) */
    armInput?: unknown;
  },
  deps: StoreDeps = {},
): Promise<void> {
  return runActivity(
    input.config,
    () => ({ phase: 'save' }),
    async () => {
      const run = runArtifacts(deps, input.config);
      const body = { fingerprint: armFingerprint(input.armInput ?? input.config), result: input.result };
      await run.store.put(run.key(FINISHED_FILE), JSON.stringify(body, null, 2));
    },
  );
}

/**
 * A finished arm from an earlier start of the same experiment, when its input (run
 * configuration, arm options, budget) is unchanged (same fingerprint); null otherwise (not
 * finished, changed, unreadable).
 */
export async function findFinishedArm(
  input: {
    config: S3Config;
    /** the child's input: a finished arm is reused only when it ran with exactly this input */
    armInput?: unknown;
  },
  deps: StoreDeps = {},
): Promise<ArmSeedResult | null> {
  return runActivity(
    input.config,
    () => ({ phase: 'look up' }),
    async () => {
      try {
        const run = runArtifacts(deps, input.config);
        const body = JSON.parse((await run.store.get(run.key(FINISHED_FILE))).toString('utf8')) as {
          fingerprint?: string;
          result?: ArmSeedResult;
        };
        return body.fingerprint === armFingerprint(input.armInput ?? input.config) &&
          body.result?.status === 'completed'
          ? body.result
          : null;
      } catch {
        return null;
      }
    },
  );
}

/**
 * Writes the experiment's report.html, report.md, results.jsonl and results.json into
 * <runRoot>/<experimentId>/ (report/experimentReport.ts).
 * @param input.anyArm the run configuration of one arm (for heartbeats and redaction)
 * @returns the paths written
 */
export async function reportExperiment(
  input: {
    experiment: ExperimentConfig;
    anyArm: S3Config;
    summary: ExperimentSummary;
  },
  deps: StoreDeps = {},
): Promise<{ dir: string; html: string; md: string; resultsJsonl: string; resultsJson: string }> {
  return runActivity(
    input.anyArm,
    () => ({ phase: 'report' }),
    async () => {
      const { store, dir } = experimentArtifacts(deps, input.experiment);
      return { dir, ...(await writeExperimentReport(input.summary, dir, store)) };
    },
  );
}
