/**
 * `s3 export` of an extractive QA run (task.kind "qa"): SQuAD-style rows, the columns Hugging
 * Face's `squad` / `adversarial_qa` datasets have:
 *
 *   id        string
 *   title     string, only when the rows carry one (run folders written today do not: the gold
 *             loader keeps context, question and answers)
 *   context   string  (the passage; Example.text)
 *   question  string  (Example.text_pair)
 *   answers   {text: [string], answer_start: [int32]}  (a sequence of text / answer_start, start in
 *             code points as Python indexes a str)
 *
 * train = the synthetic questions (synthetic/final.jsonl), validation / test = the gold splits.
 *
 * - `--format hf` / `parquet`: DIR/data/<split>.jsonl or .parquet, DIR/provenance/train.jsonl (how
 *   each synthetic question was made, same order, keyed by id) and DIR/README.md, a dataset card whose
 *   YAML declares the features as the SQuAD card does (`answers` as a `sequence` of `text` /
 *   `answer_start`), so `load_dataset(DIR)` gives `answers` as {text: [...], answer_start: [...]}.
 *   The Parquet files also carry the features in their "huggingface" metadata (the `Sequence` form,
 *   which `datasets` 2.x to 5.x read), so `load_dataset("parquet", data_dir=DIR + "/data")` agrees.
 * - `--format jsonl`: DIR/<split>.jsonl with the same rows and DIR/provenance/train.jsonl, no card.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { stringify } from 'yaml';
import type { S3Config } from '../config/schema.js';
import type { Example, SyntheticExample } from '../domain/types.js';
import {
  cardHeader,
  joinCard,
  localRunFolder,
  methodOf,
  provenanceLines,
  readRunReport,
  readRunSplits,
  cardTail,
  writeJsonl,
  type ExportFormat,
  type ExportSummary,
  type RunFolder,
  type RunReport,
} from './exportCommon.js';

/** A Parquet schema element as hyparquet-writer takes it. */
type SchemaElement = NonNullable<Parameters<typeof parquetWriteFile>[0]['schema']>[number];

/** One exported QA row (SQuAD's columns). */
export interface SquadRow {
  id: string;
  title?: string;
  context: string;
  question: string;
  answers: { text: string[]; answer_start: number[] };
}

/**
 * An Example of a QA run as a SQuAD row: its `answers`, else its label as the one answer at its
 * first occurrence in the context (code points).
 * @param withTitle whether the row gets a `title` column ('' when the example has none)
 * @throws Error naming `where` when the example has no question, or no answers and its label is
 *   not a span of the context
 */
export function squadRow(e: Example, where: string, withTitle: boolean): SquadRow {
  if (e.text_pair === undefined) throw new Error(`${where}: a QA row needs a question (text_pair)`);
  let answers = e.answers;
  if (!answers) {
    const at = e.text.indexOf(e.label);
    if (at < 0) throw new Error(`${where}: answer "${e.label}" is not a span of its context`);
    answers = { text: [e.label], answer_start: [[...e.text.slice(0, at)].length] };
  }
  return {
    id: e.id,
    ...(withTitle ? { title: titleOf(e) ?? '' } : {}),
    context: e.text,
    question: e.text_pair,
    answers: { text: [...answers.text], answer_start: [...answers.answer_start] },
  };
}

const titleOf = (e: Example): string | undefined => {
  const t = (e as { title?: unknown }).title;
  return typeof t === 'string' ? t : undefined;
};

/** The string columns before `answers`, in order. */
const stringColumns = (withTitle: boolean) => ['id', ...(withTitle ? ['title'] : []), 'context', 'question'];

/**
 * The `datasets` features of the rows, as the card's YAML lists them (SQuAD's card: `answers` is a
 * `sequence` of `text` (string) and `answer_start` (int32)).
 */
export function squadCardFeatures(withTitle: boolean): unknown[] {
  return [
    ...stringColumns(withTitle).map((name) => ({ name, dtype: 'string' })),
    {
      name: 'answers',
      sequence: [
        { name: 'text', dtype: 'string' },
        { name: 'answer_start', dtype: 'int32' },
      ],
    },
  ];
}

/**
 * Writes the run's QA dataset into `outDir` (see the module comment for the layout).
 * @param run a local run folder (path) or a RunFolder (exportCommon.ts; e.g. one in the artifact store)
 * @param format "hf" and "parquet": the datasets layout with a card; "jsonl": plain SQuAD rows
 * @returns what was written; `labels` is the task's (["answer"]), `labelCounts` empty
 * @throws Error as {@link squadRow} for a row that is not a QA row; fs errors
 */
export function exportQaRun(
  run: string | RunFolder,
  outDir: string,
  config: S3Config,
  format: ExportFormat,
): ExportSummary {
  const folder = typeof run === 'string' ? localRunFolder(run) : run;
  const runDir = folder.dir;
  const { train, splits } = readRunSplits(folder);
  const withTitle = Object.values(splits).some((rows) => rows.some((e) => titleOf(e) !== undefined));
  const card = format !== 'jsonl';
  const ext = format === 'parquet' ? 'parquet' : 'jsonl';
  const dataDir = card ? path.join(outDir, 'data') : outDir;
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(path.join(outDir, 'provenance'), { recursive: true });
  const files: string[] = [];
  const counts: Record<string, number> = {};
  for (const [split, rows] of Object.entries(splits)) {
    const file = path.join(dataDir, `${split}.${ext}`);
    const out = rows.map((e, i) => squadRow(e, `${split} row ${i + 1} (${e.id})`, withTitle));
    if (ext === 'parquet') writeSquadParquet(file, out, withTitle);
    else writeJsonl(file, out);
    files.push(file);
    counts[split] = rows.length;
  }
  const prov = path.join(outDir, 'provenance', 'train.jsonl');
  writeJsonl(
    prov,
    train.map((e) => ({ id: e.id, ...e.provenance })),
  );
  files.push(prov);
  if (card) {
    const readme = path.join(outDir, 'README.md');
    const report = readRunReport(folder);
    writeFileSync(readme, qaDatasetCard({ runDir, config, train, counts, ext, withTitle, report }));
    files.push(readme);
  }
  return { runDir, outDir, format, splits: counts, labels: config.task.labels, labelCounts: {}, files };
}

/**
 * One split as Parquet (hyparquet-writer, explicit schema): the string columns, and `answers` as
 * struct<text: list<string>, answer_start: list<int32>> (Arrow's layout of a `datasets` sequence
 * of a dict), with the features in the file's "huggingface" metadata.
 */
function writeSquadParquet(file: string, rows: readonly SquadRow[], withTitle: boolean): void {
  const strings = stringColumns(withTitle);
  const utf8 = (name: string): SchemaElement => ({
    name,
    type: 'BYTE_ARRAY',
    converted_type: 'UTF8',
    repetition_type: 'REQUIRED',
  });
  const list = (name: string, element: SchemaElement): SchemaElement[] => [
    { name, repetition_type: 'REQUIRED', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    element,
  ];
  const schema: SchemaElement[] = [
    { name: 'root', num_children: strings.length + 1 },
    ...strings.map(utf8),
    { name: 'answers', repetition_type: 'REQUIRED', num_children: 2 },
    ...list('text', utf8('element')),
    ...list('answer_start', { name: 'element', type: 'INT32', repetition_type: 'REQUIRED' }),
  ];
  const value = { dtype: 'string', _type: 'Value' };
  const features = {
    ...Object.fromEntries(strings.map((c) => [c, value])),
    answers: {
      feature: { text: value, answer_start: { dtype: 'int32', _type: 'Value' } },
      _type: 'Sequence',
    },
  };
  parquetWriteFile({
    filename: file,
    schema,
    columnData: [
      ...strings.map((c) => ({ name: c, data: rows.map((r) => String(r[c as keyof SquadRow] ?? '')) })),
      { name: 'answers', data: rows.map((r) => r.answers) },
    ],
    kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }],
  });
}

/** The dataset card of a QA export: YAML front matter for the Hub / `datasets`, then how the data was made. */
export function qaDatasetCard(input: {
  /** the run folder (a local path or a store URI): its last two segments are named */
  runDir: string;
  config: S3Config;
  train: readonly SyntheticExample[];
  counts: Record<string, number>;
  ext: 'jsonl' | 'parquet';
  withTitle: boolean;
  /** the run's report (exportCommon.ts readRunReport); absent: read from the local folder `runDir` */
  report?: RunReport;
}): string {
  const { runDir, config, train, counts, ext } = input;
  const report = 'report' in input ? input.report : readRunReport(runDir);
  const splitNames = Object.keys(counts);
  const header = cardHeader({
    prettyName: `s3-synth: synthetic extractive QA questions (${config.runId})`,
    taskCategories: ['question-answering'],
    taskIds: ['extractive-qa'],
    splits: splitNames,
    ext,
    trainRows: counts.train ?? 0,
    features: squadCardFeatures(input.withTitle),
  });
  const made = provenanceLines({ runDir, config, train, report });
  const method = methodOf(config);
  const s = config.synthesis;
  const rounds = report?.rounds ?? [];
  const last = rounds[rounds.length - 1];
  const pct = (x: number | undefined) => (x === undefined ? '?' : `${(100 * x).toFixed(1)}%`);
  const lines = [
    '---',
    stringify(header, { lineWidth: 0 }).trimEnd(),
    '---',
    '',
    `# ${String(header.pretty_name)}`,
    '',
    'Synthetic extractive question answering data in the SQuAD layout: for each passage and answer span, a teacher language model wrote the question, with [s3-synth](https://arxiv.org/abs/2310.13671) ("Let\'s Synthesize Step by Step", S3). The validation and test splits are the human-written gold questions the run used.',
    '',
    '## Use',
    '',
    '```python',
    'from datasets import load_dataset',
    'ds = load_dataset("path/to/this/folder")                 # train / validation / test, SQuAD columns',
    `ds = load_dataset("${ext === 'parquet' ? 'parquet' : 'json'}", data_dir="path/to/this/folder/data")   # the same data files without the card`,
    'prov = load_dataset("path/to/this/folder", "provenance")  # how each training question was made',
    '```',
    '',
    "`answers` holds every gold answer of a question: `text` and its `answer_start`, the offset in the context in characters (code points, as Python indexes a `str`); a synthetic question has one answer, the span it was written for. Columns and answers are what `transformers`' `run_qa` reads.",
    '',
    '## Splits',
    '',
    '| split | questions | source |',
    '|---|---|---|',
    ...splitNames.map(
      (sp) =>
        `| ${sp} | ${counts[sp]} | ${sp === 'train' ? 'synthetic (teacher-written questions)' : `gold ${sp} (human-written)`} |`,
    ),
    '',
    '## How it was made',
    '',
    made.run,
    made.teacher,
    method === 's3'
      ? `- **Method**: S3 for extractive QA (no rationales, as S3 §2.4 does for long contexts): the teacher writes ${s.seedSize} seed questions, each for a passage of the contexts pool and an answer span (given with the passage, or proposed by the teacher and kept only when it occurs verbatim), then up to ${s.rounds} round(s) of error extrapolation: a ${config.student.kind} span-extraction student is trained, and for each gold validation question it answers wrongly (exact match 0; acquisition: ${s.acquisition}) the teacher writes a new question with the same answer in the same passage.`
      : `- **Method**: \`${method}\` (s3-synth's docs/experiments.md describes each method), acquisition ${s.acquisition}, a ${config.student.kind} span-extraction student.`,
    made.rounds,
    made.origins,
    made.usage,
    last
      ? `- **Student trained on it**: ${config.student.kind}, gold test SQuAD exact match ${pct(last.test.exactMatch ?? last.test.accuracy)}, F1 ${pct(last.test.f1 ?? last.test.macroF1)} on ${last.test.count} questions${last.validation ? `, gold validation exact match ${pct(last.validation.exactMatch ?? last.validation.accuracy)} (the set the rounds extrapolated: optimistic)` : ''}.`
      : '',
    '- **Answers**: every answer is a span of its passage (checked when the run read or wrote it); the questions were not re-checked by people.',
    ...cardTail(
      'The questions are machine-written and may be vague, answerable by another span, or not answered by their span at all; a small teacher writes poor questions. The gold validation split steered the extrapolation rounds, so scores on it are optimistic; the gold test split shares no passage with the other splits and was never used for a choice. The license of the data is unknown: it follows the teacher model’s and the gold data’s terms.',
    ),
  ];
  return joinCard(lines);
}
