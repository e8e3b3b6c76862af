/**
 * What `s3 export` (scripts/export.ts) shares between the classification export and the
 * extractive-QA export (scripts/exportQa.ts): the formats, the summary it returns, reading a run
 * folder (config.json, synthetic/final.jsonl, gold/<split>.jsonl, report.json or an experiment
 * arm's arm-result.json) — a local folder, or a folder of the artifact store (`s3://…/<runId>/`,
 * read through store/ with each file's sha256 checked) — and the lines of the dataset card that
 * do not depend on the task kind.
 */
import type { LabelAgreement } from '../domain/labelAgreement.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { S3Config } from '../config/schema.js';
import type { Example, SyntheticExample } from '../domain/types.js';
import type { ArtifactStore } from '../store/types.js';

/** "hf": the datasets layout with JSONL data files and a card; "parquet": the same with Parquet data
 * files; "jsonl": plain train/validation/test .jsonl (classification: `label` as the label name). */
export type ExportFormat = 'hf' | 'parquet' | 'jsonl';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['hf', 'parquet', 'jsonl'];

/** What `exportRun` wrote. */
export interface ExportSummary {
  /** the run folder exported: a local path, or its store URI (RunFolder.dir) */
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
 * Parses JSONL text (blank lines skipped).
 * @param name the file or URI, for messages
 * @throws Error naming `name` and the 1-based line of a row that is not JSON
 */
export function parseJsonl<T>(text: string, name: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as T;
      } catch (err) {
        throw new Error(`${name}:${i + 1}: not JSON (${(err as Error).message})`, { cause: err });
      }
    });
}

/** Writes rows as JSONL (one JSON object a line, a newline after the last). */
export const writeJsonl = (file: string, rows: unknown[]) =>
  writeFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

/** A run folder to export: where it is and the text of the files an export reads. */
export interface RunFolder {
  /** the run folder: a local path, or the store URI of the folder without its final "/"
   * (`s3://bucket/runs/my-run`); printed in the summary, its last two segments named in the card */
  dir: string;
  /** the UTF-8 text of the file at `rel` ('/'-separated, under the folder), undefined when it does not exist */
  text(rel: string): string | undefined;
  /** how the file at `rel` is named in messages (a local path or a URI) */
  name(rel: string): string;
}

/** The files of a run folder an export reads (a store run folder is read once, these only). */
export const RUN_FILES = [
  'config.json',
  'synthetic/final.jsonl',
  'gold/validation.jsonl',
  'gold/test.jsonl',
  'report.json',
  'arm-result.json',
] as const;

/** A local run folder, read as it is asked (fs). */
export function localRunFolder(dir: string): RunFolder {
  const name = (rel: string) => path.join(dir, ...rel.split('/'));
  return {
    dir,
    name,
    text: (rel) => (existsSync(name(rel)) ? readFileSync(name(rel), 'utf8') : undefined),
  };
}

const asFolder = (run: RunFolder | string): RunFolder => (typeof run === 'string' ? localRunFolder(run) : run);

/**
 * A run folder in the artifact store, rooted at the run's folder (`openStore({uri:
 * 's3://bucket/runs/my-run/', …})`): the RUN_FILES it holds are read now, each checked against
 * the sha256 the object store recorded with it and against the references report.json /
 * arm-result.json carry (store/pull.ts), so the export itself reads from memory.
 * @returns the folder; `dir` is the store's root URI without its final "/"
 * @throws Error "nothing under <uri>" when the store holds no file there; IntegrityError
 *   (store/types.ts) on a sha256 mismatch; StoreAccessError (unreachable store, no credentials,
 *   no bucket)
 */
export async function storedRunFolder(store: ArtifactStore): Promise<RunFolder> {
  const { recordedSha256, referencesInBytes } = await import('../store/pull.js');
  const { IntegrityError } = await import('../store/types.js');
  const { createHash } = await import('node:crypto');
  const keys = new Set(await store.list(''));
  if (keys.size === 0) throw new Error(`nothing under ${store.rootUri}: check the URI, the endpoint and the run id`);
  const files = new Map<string, Buffer>();
  for (const key of RUN_FILES) {
    if (!keys.has(key)) continue;
    const stored = await recordedSha256(store, key);
    files.set(key, await store.get(key, stored ? { sha256: stored } : {}));
  }
  for (const where of ['report.json', 'arm-result.json'])
    for (const ref of referencesInBytes(files.get(where) ?? Buffer.alloc(0), where)) {
      const key = store.keyOf(ref.uri);
      const bytes = key === undefined ? undefined : files.get(key);
      if (!bytes) continue;
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== ref.sha256) throw new IntegrityError(ref.uri, ref.sha256, actual);
    }
  return {
    dir: store.rootUri.replace(/\/+$/, ''),
    name: (rel) => store.uriOf(rel),
    text: (rel) => files.get(rel)?.toString('utf8'),
  };
}

/** The run folder's config.json, or undefined when it has none. */
export function readRunConfig(run: RunFolder | string): S3Config | undefined {
  const text = asFolder(run).text('config.json');
  return text === undefined ? undefined : (JSON.parse(text) as S3Config);
}

/**
 * The synthetic training set and the gold splits the run folder has: `{train, validation?, test?}`.
 * @throws Error when the folder has no synthetic/final.jsonl, or naming the file and line of a row that is not JSON
 */
export function readRunSplits(run: RunFolder | string): {
  train: SyntheticExample[];
  splits: Record<string, Example[]>;
} {
  const folder = asFolder(run);
  const rows = <T>(rel: string) => {
    const text = folder.text(rel);
    return text === undefined ? undefined : parseJsonl<T>(text, folder.name(rel));
  };
  const train = rows<SyntheticExample>('synthetic/final.jsonl');
  if (!train)
    throw new Error(
      `${folder.name('synthetic/final.jsonl')} does not exist: the run has not finished (or this is not a run folder)`,
    );
  const splits: Record<string, Example[]> = { train };
  for (const split of ['validation', 'test']) {
    const gold = rows<Example>(`gold/${split}.jsonl`);
    if (gold) splits[split] = gold;
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
  /** how often a gold-trained reference agrees with the synthetic labels (classification runs) */
  labelAgreement?: LabelAgreement;
}

/** report.json of a single run, else the result in an experiment arm's arm-result.json, else undefined. */
export function readRunReport(run: RunFolder | string): RunReport | undefined {
  const folder = asFolder(run);
  const json = <T>(rel: string) => {
    const text = folder.text(rel);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  };
  return json<RunReport>('report.json') ?? json<{ result?: RunReport }>('arm-result.json')?.result;
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

/**
 * The YAML front matter of a dataset card, as the Hub and `datasets` read it: name, license,
 * task categories, size category, tags, the `default` config (one data file per split) and the
 * `provenance` config, and the default config's features.
 * @param o.splits split names in order; o.ext the data files' extension; o.trainRows sizes the category
 */
export function cardHeader(o: {
  prettyName: string;
  taskCategories: string[];
  taskIds?: string[];
  splits: string[];
  ext: 'jsonl' | 'parquet';
  trainRows: number;
  features: unknown;
}): Record<string, unknown> {
  return {
    pretty_name: o.prettyName,
    license: 'unknown',
    task_categories: o.taskCategories,
    ...(o.taskIds ? { task_ids: o.taskIds } : {}),
    size_categories: [sizeCategory(o.trainRows)],
    tags: ['synthetic', 's3-synth', 'llm-generated'],
    configs: [
      {
        config_name: 'default',
        data_files: o.splits.map((s) => ({ split: s, path: `data/${s}.${o.ext}` })),
        default: true,
      },
      { config_name: 'provenance', data_files: [{ split: 'train', path: 'provenance/train.jsonl' }] },
    ],
    dataset_info: { config_name: 'default', features: o.features },
  };
}

/** The end of every dataset card: its Limitations paragraph, then how to cite S3. */
export function cardTail(limitations: string): string[] {
  return ['', '## Limitations', '', limitations, '', '## Citation', '', '```bibtex', S3_BIBTEX, '```', ''];
}
