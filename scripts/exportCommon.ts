/**
 * What `s3 export` (scripts/export.ts) shares between the classification export and the
 * extractive-QA export (scripts/exportQa.ts): the formats, the summary it returns, reading a run
 * folder (config.json, synthetic/final.jsonl, gold/<split>.jsonl, report.json or an experiment
 * arm's arm-result.json) and the lines of the dataset card that do not depend on the task kind.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Config } from '../config/schema.js';
import type { Example, SyntheticExample } from '../domain/types.js';

/** "hf": the datasets layout with JSONL data files and a card; "parquet": the same with Parquet data
 * files; "jsonl": plain train/validation/test .jsonl (classification: `label` as the label name). */
export type ExportFormat = 'hf' | 'parquet' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['hf', 'parquet', 'jsonl'];

/** What `exportRun` wrote. */
export interface ExportSummary {
  runDir: string;
  outDir: string;
  format: ExportFormat;
  /** rows per split written */
  splits: Record<string, number>;
  labels: string[];
  /** training rows per label (empty for extractive QA) */
  labelCounts: Record<string, number>;
  files: string[];
}

/**
 * Reads a JSONL file.
 * @throws Error naming the file and line of a row that is not JSON
 */
export function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (err) {
        throw new Error(`${file}:${i + 1}: not JSON (${(err as Error).message})`, { cause: err });
      }
    });
}

/** A JSON file, or undefined when it does not exist. */
export function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

/** Writes rows as JSONL (one JSON object a line, a newline after the last). */
export const writeJsonl = (file: string, rows: unknown[]) =>
  writeFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

/** The synthetic training set and the gold splits the run folder has: `{train, validation?, test?}`. */
export function readRunSplits(runDir: string): { train: SyntheticExample[]; splits: Record<string, Example[]> } {
  const train = readJsonl<SyntheticExample>(path.join(runDir, 'synthetic', 'final.jsonl'));
  const splits: Record<string, Example[]> = { train };
  for (const split of ['validation', 'test']) {
    const file = path.join(runDir, 'gold', `${split}.jsonl`);
    if (existsSync(file)) splits[split] = readJsonl<Example>(file);
  }
  return { train, splits };
}

/** Hugging Face's size category of a row count. */
export function sizeCategory(n: number): string {
  const bounds: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
  ];
  return bounds.find(([b]) => n < b)?.[1] ?? 'n>10M';
}

/** What report.json (a single run) and arm-result.json (an experiment arm) say about the result
 * (scores are fractions in [0, 1]; extractive QA adds SQuAD EM and F1). */
export interface RunReport {
  teacher?: { provider: string; model: string };
  rounds?: {
    round: number;
    trainSize: number;
    validation?: { accuracy: number; exactMatch?: number; f1?: number };
    test: { accuracy: number; macroF1: number; count: number; exactMatch?: number; f1?: number };
  }[];
  usage?: { calls: number; cachedCalls: number; promptTokens: number; completionTokens: number };
}

/** report.json of a single run, else the result in an experiment arm's arm-result.json, else undefined. */
export function readRunReport(runDir: string): RunReport | undefined {
  return (
    readJson<RunReport>(path.join(runDir, 'report.json')) ??
    readJson<{ result?: RunReport }>(path.join(runDir, 'arm-result.json'))?.result
  );
}

export const S3_BIBTEX = `@inproceedings{wang-etal-2023-lets,
  title = {Let's Synthesize Step by Step: Iterative Dataset Synthesis with Large Language Models by Extrapolating Errors from Small Models},
  author = {Wang, Ruida and Zhou, Wangchunshu and Sachan, Mrinmaya},
  booktitle = {Findings of the Association for Computational Linguistics: EMNLP 2023},
  year = {2023},
  url = {https://arxiv.org/abs/2310.13671}
}`;

/** The method of the run: a single run's `method` (default s3); an experiment arm's run config has its own. */
export const methodOf = (config: S3Config): string => (config as { method?: string }).method ?? 's3';

/**
 * The card's "How it was made" lines every task kind has: the run, the teacher and its sampling,
 * the rounds, the rows by origin and the teacher's usage (empty strings where the run folder
 * lacks the information; the caller drops them).
 */
export function provenanceLines(input: {
  runDir: string;
  config: S3Config;
  train: readonly SyntheticExample[];
  report: RunReport | undefined;
}): { run: string; teacher: string; rounds: string; origins: string; usage: string } {
  const { runDir, config, train, report } = input;
  const byOrigin = new Map<string, number>();
  for (const e of train) {
    const key = `${e.provenance.origin} (round ${e.provenance.round})`;
    byOrigin.set(key, (byOrigin.get(key) ?? 0) + 1);
  }
  const models = [...new Set(train.map((e) => e.provenance.teacherModel))];
  const t = config.teacher;
  const rounds = report?.rounds ?? [];
  return {
    run: `- **Run**: \`${config.runId}\` (run folder \`${path.basename(path.dirname(runDir))}/${path.basename(runDir)}\`), seed ${config.seed}.`,
    teacher: `- **Teacher**: ${report?.teacher ? `${report.teacher.provider} ${report.teacher.model}` : t.provider}${models.length ? ` (rows written by ${models.map((m) => `\`${m}\``).join(', ')})` : ''}; temperature ${t.temperature}, top-p ${t.topP}, at most ${t.maxTokens} tokens per call.`,
    rounds: `- **Rounds run**: ${rounds.length ? rounds.length - 1 : 'unknown'} extrapolation round(s) after the seed round.${config.budget?.teacherTokens ? ` Teacher budget: ${config.budget.teacherTokens} tokens.` : ''}`,
    origins: `- **Rows by origin**: ${[...byOrigin].map(([k, n]) => `${k}: ${n}`).join('; ') || 'none'}.`,
    usage: report?.usage
      ? `- **Teacher usage**: ${report.usage.calls} calls (${report.usage.cachedCalls} from the cache), ${report.usage.promptTokens} prompt and ${report.usage.completionTokens} completion tokens.`
      : '',
  };
}

/** Joins card lines, dropping a blank line that follows another (so empty optional lines vanish). */
export const joinCard = (lines: readonly string[]): string =>
  lines.filter((l, i) => l !== '' || lines[i - 1] !== '').join('\n');
