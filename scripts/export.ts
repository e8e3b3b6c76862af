/**
 * `s3 export <runId|runDir> --out DIR`: a run's final training set as a Hugging Face `datasets`
 * folder: JSONL data files (`--format hf`, default) or Parquet (`--format parquet`, written with
 * hyparquet-writer), or plain JSONL (`--format jsonl`).
 *
 *   DIR/data/train.jsonl          the synthetic training set (synthetic/final.jsonl): text, [text_pair], label
 *   DIR/data/validation.jsonl     the gold validation split (when the run has one)
 *   DIR/data/test.jsonl           the gold test split
 *   DIR/provenance/train.jsonl    how each training row was made (origin, round, teacher, prompt, …), same order
 *   DIR/README.md                 the dataset card: YAML header (configs, features with the label names,
 *                                 license, size category) and how the data was made
 *
 * `label` is the index into the task's labels (a `ClassLabel` whose names the card declares), so
 * `load_dataset(DIR)` gives a ClassLabel column and `load_dataset("json", data_dir=DIR + "/data")` the
 * same integers. Reads the run folder as the activities wrote it (config.json, synthetic/final.jsonl,
 * gold/*.jsonl, report.json or, for an experiment arm, arm-result.json): a local folder, or a
 * folder of the artifact store read directly (`s3://bucket/prefix/<runId>/`, or a run id with
 * `--config FILE` whose `artifacts.uri` is an object store; each file's sha256 checked, see
 * exportCommon.ts storedRunFolder). Both give the same files, byte for byte.
 *
 * An extractive QA run (task.kind "qa") exports SQuAD-style columns instead (scripts/exportQa.ts).
 * What the two share (formats, reading the run folder, the card's provenance lines) is in
 * scripts/exportCommon.ts.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { parquetWriteFile } from 'hyparquet-writer';
import { stringify } from 'yaml';
import { agreementSentence, type LabelAgreement } from '../domain/labelAgreement.js';
import type { S3Config } from '../config/schema.js';
import type { Example, SyntheticExample } from '../domain/types.js';
import type { ArtifactStore, StoreConfig } from '../store/types.js';
import { taskKindOf } from '../tasks/index.js';
import {
  EXPORT_FORMATS,
  joinCard,
  localRunFolder,
  methodOf,
  cardHeader,
  provenanceLines,
  readRunConfig,
  readRunReport,
  readRunSplits,
  cardTail,
  storedRunFolder,
  writeJsonl,
  type ExportFormat,
  type ExportSummary,
  type RunFolder,
  type RunReport,
} from './exportCommon.js';
import { exportQaRun } from './exportQa.js';
import { addStoreOptions, artifactsLocationOf, type StoreCliOptions } from './storeOptions.js';

export { EXPORT_FORMATS, sizeCategory, type ExportFormat, type ExportSummary } from './exportCommon.js';

/** The run folder a CLI argument names: a folder holding synthetic/final.jsonl, else `<runRoot>/<arg>`. */
export function resolveRunDir(arg: string, runRoot = 'runs'): string {
  const candidates = [...new Set([arg, path.join(runRoot, arg)])];
  for (const dir of candidates) if (existsSync(path.join(dir, 'synthetic', 'final.jsonl'))) return path.resolve(dir);
  const tried = candidates.map((d) => path.join(d, 'synthetic', 'final.jsonl')).join(' or ');
  throw new Error(
    `no finished run at ${arg}: ${candidates.length > 1 ? `neither ${tried} exists` : `${tried} does not exist`} (has the run finished?)`,
  );
}

/**
 * Writes the run's dataset into `outDir`.
 * @param run a local run folder (path), or a RunFolder (exportCommon.ts: `storedRunFolder` reads one
 *   from the artifact store; {@link exportStoredRun} does both steps)
 * @param opts.format "hf" (the datasets layout with a card, default), "parquet" (the same with Parquet
 *   files) or "jsonl" (train/validation/test .jsonl with `text`, [`text_pair`], `label` as the label
 *   name); an extractive QA run writes SQuAD-style rows in every format (scripts/exportQa.ts)
 * @throws Error when the run folder lacks its dataset or configuration, or a label is not the task's
 */
export function exportRun(
  run: string | RunFolder,
  outDir: string,
  opts: { format?: ExportFormat } = {},
): ExportSummary {
  const folder = typeof run === 'string' ? localRunFolder(run) : run;
  const runDir = folder.dir;
  const format = opts.format ?? 'hf';
  const config = readRunConfig(folder);
  if (!config) throw new Error(`${runDir}/config.json is missing: not a run folder written by s3-synth`);
  if (taskKindOf(config.task).rowFormat === 'squad') return exportQaRun(folder, outDir, config, format);
  const labels = config.task.labels;
  const { columns, columnsOf } = taskKindOf(config.task);
  const { train, splits } = readRunSplits(folder);
  const labelIndex = (e: Example, where: string) => {
    const i = labels.indexOf(e.label);
    if (i < 0) throw new Error(`${where}: label "${e.label}" is not one of the task's labels (${labels.join(', ')})`);
    return i;
  };
  const row = (e: Example, where: string) => {
    const index = labelIndex(e, where);
    return { ...columnsOf(e), label: format === 'jsonl' ? e.label : index };
  };
  const card = format !== 'jsonl';
  const ext = format === 'parquet' ? 'parquet' : 'jsonl';
  const dataDir = card ? path.join(outDir, 'data') : outDir;
  mkdirSync(dataDir, { recursive: true });
  const files: string[] = [];
  const counts: Record<string, number> = {};
  for (const [split, rows] of Object.entries(splits)) {
    const file = path.join(dataDir, `${split}.${ext}`);
    const out = rows.map((e, i) => row(e, `${split} row ${i + 1}`));
    if (ext === 'parquet') writeParquet(file, out, labels, columns);
    else writeJsonl(file, out);
    files.push(file);
    counts[split] = rows.length;
  }
  const labelCounts = Object.fromEntries(labels.map((l) => [l, train.filter((e) => e.label === l).length]));
  if (card) {
    const provDir = path.join(outDir, 'provenance');
    mkdirSync(provDir, { recursive: true });
    const prov = path.join(provDir, 'train.jsonl');
    writeJsonl(
      prov,
      train.map((e) => ({ id: e.id, label: e.label, ...e.provenance })),
    );
    files.push(prov);
    const readme = path.join(outDir, 'README.md');
    const report = readRunReport(folder);
    writeFileSync(readme, datasetCard({ runDir, config, train, counts, labelCounts, ext, report }));
    files.push(readme);
  }
  return { runDir, outDir, format, splits: counts, labels, labelCounts, files };
}

/**
 * Writes the dataset of a run whose folder is in the artifact store, read directly (no local
 * copy of the run; the same files as {@link exportRun} of the same run folder on disk).
 * @param from the store rooted at the run's folder, or its configuration (`{uri:
 *   's3://bucket/runs/my-run/', endpoint?, region?, forcePathStyle?}`; credentials from the AWS
 *   environment chain)
 * @throws as exportRun, and as exportCommon.ts storedRunFolder (nothing there, a sha256 mismatch,
 *   StoreAccessError)
 */
export async function exportStoredRun(
  from: ArtifactStore | StoreConfig,
  outDir: string,
  opts: { format?: ExportFormat } = {},
): Promise<ExportSummary> {
  const { openStore } = await import('../store/index.js');
  const store = 'rootUri' in from ? from : openStore(from);
  return exportRun(await storedRunFolder(store), outDir, opts);
}

/**
 * One split as Parquet (hyparquet-writer): the task kind's columns (`text` [, `text_pair`]) as
 * strings and `label` as the label index, with the `datasets` features in the file's
 * "huggingface" metadata, so `load_dataset("parquet", …)` gives a ClassLabel even without the card.
 */
function writeParquet(
  file: string,
  rows: Record<string, string | number>[],
  labels: string[],
  columns: readonly string[],
): void {
  const features: Record<string, unknown> = {
    ...Object.fromEntries(columns.map((c) => [c, { dtype: 'string', _type: 'Value' }])),
    label: { names: labels, _type: 'ClassLabel' },
  };
  parquetWriteFile({
    filename: file,
    columnData: [
      ...columns.map((c) => ({
        name: c,
        data: rows.map((r) => String(r[c] ?? '')),
        type: 'STRING' as const,
        nullable: false,
      })),
      { name: 'label', data: rows.map((r) => BigInt(r.label)), type: 'INT64', nullable: false },
    ],
    kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }],
  });
}

/** The dataset card: YAML front matter for the Hub / `datasets`, then how the data was made. */
export function datasetCard(input: {
  /** the run folder (a local path or a store URI): its last two segments are named */
  runDir: string;
  config: S3Config;
  train: SyntheticExample[];
  counts: Record<string, number>;
  labelCounts: Record<string, number>;
  /** the data files' extension */
  ext?: 'jsonl' | 'parquet';
  /** the run's report (exportCommon.ts readRunReport); absent: read from the local folder `runDir` */
  report?: RunReport;
}): string {
  const { runDir, config, train, counts, labelCounts } = input;
  const ext = input.ext ?? 'jsonl';
  const labels = config.task.labels;
  const kind = taskKindOf(config.task);
  const report = 'report' in input ? input.report : readRunReport(runDir);
  const splitNames = Object.keys(counts);
  const header = cardHeader({
    prettyName: `s3-synth: synthetic ${config.task.item} classification (${config.runId})`,
    taskCategories: ['text-classification'],
    splits: splitNames,
    ext,
    trainRows: counts.train ?? 0,
    features: [
      ...kind.columns.map((name) => ({ name, dtype: 'string' })),
      {
        name: 'label',
        dtype: { class_label: { names: Object.fromEntries(labels.map((l, i) => [String(i), l])) } },
      },
    ],
  });
  const made = provenanceLines({ runDir, config, train, report });
  const method = methodOf(config);
  const s = config.synthesis;
  const rounds = report?.rounds ?? [];
  const last = rounds[rounds.length - 1];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const total = train.length || 1;
  const lines = [
    '---',
    stringify(header, { lineWidth: 0 }).trimEnd(),
    '---',
    '',
    `# ${String(header.pretty_name)}`,
    '',
    `Synthetic training data for ${kind.title} classification of ${config.task.item} into ${labels.map((l) => `\`${l}\``).join(', ')}, written by a teacher language model with [s3-synth](https://arxiv.org/abs/2310.13671) ("Let's Synthesize Step by Step", S3). The validation and test splits are the human-labeled gold data the run used.`,
    '',
    '## Use',
    '',
    '```python',
    'from datasets import load_dataset',
    'ds = load_dataset("path/to/this/folder")                 # train / validation / test, label as a ClassLabel',
    `ds = load_dataset("${ext === 'parquet' ? 'parquet' : 'json'}", data_dir="path/to/this/folder/data")   # the same data files without the card`,
    'prov = load_dataset("path/to/this/folder", "provenance")  # how each training row was made',
    '```',
    '',
    `\`label\` is the index into the label names: ${labels.map((l, i) => `${i} = \`${l}\``).join(', ')}.${kind.columnsNote ? ` ${kind.columnsNote}` : ''}`,
    '',
    '## Splits',
    '',
    '| split | rows | source |',
    '|---|---|---|',
    ...splitNames.map(
      (sp) =>
        `| ${sp} | ${counts[sp]} | ${sp === 'train' ? 'synthetic (teacher-written)' : `gold ${sp} (human labels)`} |`,
    ),
    '',
    '## How it was made',
    '',
    made.run,
    made.teacher,
    method === 's3'
      ? `- **Method**: S3: the teacher lists ${s.numRationales} rationales per label, writes ${s.seedSize} seed examples from sampled rationales${s.useRationales ? '' : ' (plain prompts, without rationales)'}, then up to ${s.rounds} round(s) of error extrapolation: a ${config.student.kind} student is trained, and for each gold validation example it gets wrong (acquisition: ${s.acquisition}) the teacher writes a similar example with the gold label.`
      : `- **Method**: \`${method}\` (s3-synth's docs/experiments.md describes each method), ${s.useRationales ? 'rationale' : 'plain'} prompts, acquisition ${s.acquisition}, a ${config.student.kind} student.`,
    made.rounds,
    made.origins,
    `- **Label distribution (train)**: ${labels.map((l) => `\`${l}\` ${labelCounts[l]} (${((100 * labelCounts[l]) / total).toFixed(1)}%)`).join(', ')}.`,
    made.usage,
    last
      ? `- **Student trained on it**: ${config.student.kind}, gold test accuracy ${pct(last.test.accuracy)} (macro-F1 ${pct(last.test.macroF1)}) on ${last.test.count} examples${last.validation ? `, gold validation accuracy ${pct(last.validation.accuracy)} (the set the rounds extrapolated: optimistic)` : ''}.`
      : '',
    labelAgreementLine(report?.labelAgreement),
    ...cardTail(
      'The text is machine-written and may be repetitive, off-topic or wrongly labeled; a small teacher writes poor data. The gold validation split steered the extrapolation rounds, so scores on it are optimistic; the gold test split was never used for a choice. The license of the data is unknown: it follows the teacher model’s and the gold data’s terms.',
    ),
  ];
  return joinCard(lines);
}

/**
 * The card's label-agreement bullet: the run's measured agreement (report.json `labelAgreement`,
 * quality/labelAgreement.ts) overall, per class and per origin, or, for a run without it, that the
 * labels are the ones the teacher was asked for and were not re-checked.
 */
export function labelAgreementLine(a: LabelAgreement | undefined): string {
  if (!a)
    return '- **Label agreement**: the labels are the ones the teacher was asked to write; they were not re-checked by a second model.';
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`);
  const origins = Object.entries(a.byOrigin)
    .map(([o, c]) => `${o} ${pct(c.rate)} of ${c.count}`)
    .join(', ');
  return `- **${agreementSentence(a).replace(/^Label agreement:/, 'Label agreement**:')} By origin: ${origins}. The labels themselves are the ones the teacher was asked for; rows are not removed by this check.`;
}

/** The `export` command. */
export function exportCommand(name: string): Command {
  const cmd = new Command(name)
    .description('write a run’s dataset as a Hugging Face datasets folder with a dataset card (or plain JSONL)')
    .argument(
      '<run>',
      'run id (a folder under --run-root, or under --config’s store), experiment child (<experimentId>/<arm>/seed-<s>), run folder, or its store URI (s3://bucket/prefix/<runId>/)',
    )
    .requiredOption('--out <dir>', 'output folder (created; files in it are replaced)')
    .option(
      '--format <format>',
      'hf (datasets layout: JSONL + card), parquet (the same, Parquet files) or jsonl (plain rows)',
      'hf',
    )
    .option('--run-root <dir>', 'where run folders are', 'runs')
    .option('--json', 'print what was written as JSON');
  return addStoreOptions(
    cmd,
    'run or experiment configuration whose store holds the run (artifacts.uri with its endpoint, else runRoot)',
  )
    .addHelpText(
      'after',
      `
A run in an object store is read directly (no local copy); credentials come from the AWS environment only
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles).

Examples:
  $ npm run s3 -- export s3-run --out exported/spam
  $ npm run s3 -- export spamassassin/s3/seed-1 --out exported/spam-s3-seed1
  $ npm run s3 -- export s3-run --out exported/spam-parquet --format parquet
  $ npm run s3 -- export runs/my-task --out exported/my-task --format jsonl
  $ npm run s3 -- export adqa --out exported/adqa     (extractive QA: SQuAD columns)
  $ npm run s3 -- export s3://s3-synth/runs/s3-run/ --out exported/spam --endpoint http://127.0.0.1:7070
  $ npm run s3 -- export s3-run --config my-run.json --out exported/spam    (the store of its artifacts.uri)

Then, in Python:  datasets.load_dataset("exported/spam")  or  load_dataset("json", data_dir="exported/spam/data")`,
    )
    .action(
      async (run: string, o: StoreCliOptions & { out: string; format: string; runRoot: string; json?: boolean }) => {
        const format = o.format as ExportFormat;
        if (!EXPORT_FORMATS.includes(format))
          throw new Error(`--format must be one of ${EXPORT_FORMATS.join(', ')}, not "${o.format}"`);
        if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new Error(`--out ${o.out} is not a folder`);
        const where = await artifactsLocationOf(run, o, 'export');
        const summary =
          where?.kind === 'store'
            ? await exportStoredRun(where.store, o.out, { format })
            : exportRun(where ? resolveRunDir(where.dir, '') : resolveRunDir(run, o.runRoot), o.out, { format });
        if (o.json) return console.log(JSON.stringify(summary, null, 2));
        const rows = Object.entries(summary.splits)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ');
        console.log(`exported ${summary.runDir} → ${summary.outDir} (${rows})`);
        for (const f of summary.files) console.log(`  ${f}`);
        if (o.format !== 'jsonl') console.log(`load it: datasets.load_dataset(${JSON.stringify(path.resolve(o.out))})`);
      },
    );
}
