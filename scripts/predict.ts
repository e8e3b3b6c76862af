/**
 * `s3 predict FOLDER FILE.jsonl`: class predictions of an exported finetune student (the ONNX
 * folder the Python worker writes into runs/<runId>/student/, transformers.js layout) through
 * @huggingface/transformers on onnxruntime-node (CPU). Prints one JSON line per example:
 * {id, predicted, probs: {label: p}, label?}, then a summary line with the accuracy when the file
 * has gold labels. Inputs are cut to the student's maxChars and maxLength (s3-student.json) as in
 * training; pairs (text_pair) are encoded as pairs.
 *
 * An extractive-QA student (s3-student.json `task: "qa"`) reads rows {id?, context, question,
 * answers?} and prints the answer span of each (scripts/predictQa.ts: the windows and span decoding
 * of the Python worker, student/qaSpans.ts), then EM / F1 when the rows have gold answers.
 *
 * FOLDER and FILE may be in the artifact store, read directly: `s3://bucket/prefix/<runId>/student/`
 * (or `<runId>/student` with `--config FILE`, whose `artifacts.uri` names the store) and
 * `s3://…/gold/test.jsonl`. onnxruntime loads a model from local files, so a student folder in the
 * store is copied into a local cache folder first (store/pull.ts: each file's sha256 checked
 * against the store's record; a rerun rewrites only what changed); a JSONL file is read from the
 * store. Endpoint, region and path style: `--endpoint` / `--region` / `--path-style`, else the
 * configuration's artifacts section, else AWS_ENDPOINT_URL_S3; credentials from the AWS environment.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  Tensor,
} from '@huggingface/transformers';
import { readJsonl } from '../data/jsonl.js';
import { ExampleSchema, type Example } from '../domain/types.js';
import type { z } from 'zod';
import type { StoreConfig } from '../store/types.js';
import { schemeOf } from '../store/uri.js';
import { addStoreOptions, artifactsLocationOf, connectionOfOptions, type StoreCliOptions } from './storeOptions.js';

/** s3-student.json, written next to the model by the Python exporter (a QA student's: predictQa.ts). */
interface StudentMeta {
  labels: string[];
  maxLength?: number;
  maxChars?: number;
  /** "qa" for the extractive-QA span student; absent for a classifier */
  task?: string;
}

/**
 * The kind of the exported student in FOLDER, from its s3-student.json: "qa" (span student) or
 * "classifier".
 * @throws Error when s3-student.json is missing or not JSON
 */
export function exportedStudentKind(folder: string): 'qa' | 'classifier' {
  const file = path.join(path.resolve(folder), 's3-student.json');
  if (!existsSync(file))
    throw new Error(`${path.resolve(folder)} is not an exported finetune student: no s3-student.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as StudentMeta).task === 'qa' ? 'qa' : 'classifier';
}

/**
 * Hugging Face tokenizers' `longest_first` split of a token budget between a pair
 * (tokenizers/src/utils/truncation.rs): with n1 the shorter length, keep the shorter whole and
 * cut the longer to budget − n1 when the shorter fits in half the budget; otherwise give the
 * shorter ⌊budget/2⌋ and the longer the rest. Nothing is cut when both fit.
 * @param lenA tokens of the first text; @param lenB of the second; @param budget ≥ 0 (max length minus special tokens)
 * @returns [tokens kept of the first, tokens kept of the second]
 */
export function longestFirst(lenA: number, lenB: number, budget: number): [number, number] {
  if (lenA + lenB <= budget) return [lenA, lenB];
  const swap = lenA > lenB;
  let n1 = swap ? lenB : lenA;
  let n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

const startOf = (hay: number[], needle: number[], from: number) => {
  for (let i = from; i + needle.length <= hay.length; i++) if (needle.every((x, k) => hay[i + k] === x)) return i;
  throw new Error('encodeTruncated: the tokenizer’s output does not contain the text’s tokens in order');
};

/** Where a tokenizer puts its special tokens around one text or a pair, and the texts' token types. */
interface SpecialTokens {
  /** ids before the first text, between the texts, after the last text */
  ids: [number[], number[], number[]];
  /** their token types, or undefined when the tokenizer gives none */
  types?: [number[], number[], number[]];
  /** the token type of the first and the second text's tokens */
  textTypes: [number, number];
}
const specialTokensCache = new WeakMap<PreTrainedTokenizer, Map<boolean, SpecialTokens>>();

/**
 * The special-token layout of `tokenizer` (e.g. BERT: [CLS] a [SEP] b [SEP]), read once per
 * tokenizer from the encoding of a probe text "a" (with a pair "a" when `pair`).
 * @throws Error when the probe's own tokens are not found in its encoding
 */
function specialTokensOf(tokenizer: PreTrainedTokenizer, pair: boolean): SpecialTokens {
  let byPair = specialTokensCache.get(tokenizer);
  if (!byPair) specialTokensCache.set(tokenizer, (byPair = new Map()));
  const known = byPair.get(pair);
  if (known) return known;
  const probe = tokenizer.encode('a', { add_special_tokens: false });
  const full = tokenizer('a', { ...(pair ? { text_pair: 'a' } : {}), return_tensor: false }) as {
    input_ids: number[];
    token_type_ids?: number[];
  };
  const ids = full.input_ids.map(Number);
  const types = full.token_type_ids?.map(Number);
  const pa = startOf(ids, probe, 0);
  const pb = pair ? startOf(ids, probe, pa + probe.length) : pa + probe.length;
  const end = pair ? pb + probe.length : pb;
  const split = (xs: number[]): [number[], number[], number[]] => [
    xs.slice(0, pa),
    xs.slice(pa + probe.length, pb),
    xs.slice(end),
  ];
  const layout: SpecialTokens = {
    ids: split(ids),
    types: types && split(types),
    textTypes: [types?.[pa] ?? 0, types?.[pair ? pb : pa] ?? 0],
  };
  byPair.set(pair, layout);
  return layout;
}

/**
 * Tokenizes examples as Hugging Face's Python tokenizers do with `truncation=True,
 * max_length=maxLength` (strategy `longest_first`): the special tokens ([CLS] … [SEP] … [SEP])
 * stay, and only the texts' own tokens are cut. transformers.js 4.3 instead cuts the whole
 * encoded sequence at max_length, dropping the final [SEP] (and, for a pair, the second text
 * first); on e-mails longer than max_length its probabilities differed from the Python
 * worker's by up to 0.007, and one of 200 validation predictions flipped.
 * @param tokenizer the exported student's tokenizer
 * @param texts first texts; @param pairs second texts (sentence pairs) or undefined
 * @param maxLength tokens per input, special tokens included
 * @returns right-padded int64 tensors [n, longest] input_ids, attention_mask and, when the
 *   tokenizer produces them, token_type_ids
 */
export function encodeTruncated(
  tokenizer: PreTrainedTokenizer,
  texts: string[],
  pairs: string[] | undefined,
  maxLength: number,
): Record<string, Tensor> {
  const special = specialTokensOf(tokenizer, pairs !== undefined);
  const budget = Math.max(0, maxLength - special.ids.flat().length);
  const rows = texts.map((text, i) => {
    const a = tokenizer.encode(text, { add_special_tokens: false });
    const b = pairs !== undefined ? tokenizer.encode(pairs[i], { add_special_tokens: false }) : [];
    const [ka, kb] = pairs !== undefined ? longestFirst(a.length, b.length, budget) : [Math.min(a.length, budget), 0];
    const [before, between, after] = special.ids;
    const ids = [...before, ...a.slice(0, ka), ...between, ...b.slice(0, kb), ...after];
    const t = special.types;
    const types = t && [
      ...t[0],
      ...Array<number>(ka).fill(special.textTypes[0]),
      ...t[1],
      ...Array<number>(kb).fill(special.textTypes[1]),
      ...t[2],
    ];
    return { ids, types };
  });
  const width = Math.max(...rows.map((r) => r.ids.length));
  const pad = Number(tokenizer.pad_token_id ?? 0);
  const tensor = (fill: (r: (typeof rows)[number], j: number) => number) => {
    const data = new BigInt64Array(rows.length * width);
    rows.forEach((r, i) => {
      for (let j = 0; j < width; j++) data[i * width + j] = BigInt(fill(r, j));
    });
    return new Tensor('int64', data, [rows.length, width]);
  };
  const out: Record<string, Tensor> = {
    input_ids: tensor((r, j) => (j < r.ids.length ? r.ids[j] : pad)),
    attention_mask: tensor((r, j) => (j < r.ids.length ? 1 : 0)),
  };
  if (special.types) out.token_type_ids = tensor((r, j) => (j < r.ids.length ? r.types![j] : 0));
  return out;
}

/** A loaded exported student. */
export interface ExportedStudent {
  labels: string[];
  /** class probabilities (softmax of the logits), rows aligned with examples, columns in `labels` order */
  predictProba(examples: Pick<Example, 'text' | 'text_pair'>[], batchSize?: number): Promise<number[][]>;
}

/**
 * Loads FOLDER (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx, s3-student.json)
 * from disk only (no network).
 * @throws Error naming the missing files, or saying that FOLDER is a QA student (predictQa.ts loads those)
 */
export async function loadExportedStudent(folder: string): Promise<ExportedStudent> {
  const dir = path.resolve(folder);
  const missing = ['config.json', 'tokenizer.json', 'onnx/model.onnx', 's3-student.json'].filter(
    (f) => !existsSync(path.join(dir, f)),
  );
  if (missing.length) throw new Error(`${dir} is not an exported finetune student: no ${missing.join(', ')}`);
  const meta = JSON.parse(readFileSync(path.join(dir, 's3-student.json'), 'utf8')) as StudentMeta;
  if (meta.task === 'qa') throw new Error(`${dir} is an extractive-QA student: load it with loadExportedQaStudent`);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(dir) + '/';
  const id = path.basename(dir);
  const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(id);
  const model: PreTrainedModel = await AutoModelForSequenceClassification.from_pretrained(id, {
    dtype: 'fp32',
    device: 'cpu',
  });
  const maxChars = meta.maxChars ?? Infinity;
  const maxLength = Math.min(meta.maxLength ?? Infinity, Number(tokenizer.model_max_length) || Infinity);
  return {
    labels: meta.labels,
    async predictProba(examples, batchSize = 32) {
      const out: number[][] = [];
      for (let i = 0; i < examples.length; i += batchSize) {
        const batch = examples.slice(i, i + batchSize);
        const texts = batch.map((x) => x.text.slice(0, maxChars));
        const pairs = batch.some((x) => x.text_pair !== undefined)
          ? batch.map((x) => (x.text_pair ?? '').slice(0, maxChars))
          : undefined;
        const inputs = encodeTruncated(tokenizer, texts, pairs, maxLength);
        const { logits } = (await model(inputs)) as { logits: Tensor };
        for (const row of logits.tolist() as number[][]) {
          const m = Math.max(...row);
          const e = row.map((v) => Math.exp(v - m));
          const s = e.reduce((a, b) => a + b, 0);
          out.push(e.map((v) => v / s));
        }
      }
      return out;
    },
  };
}

/** The rows `s3 predict` reads: Examples whose id and label are optional. */
const PredictRowSchema = ExampleSchema.partial({ id: true, label: true });
export type PredictRow = ReturnType<typeof PredictRowSchema.parse>;

/** The default cache folder of a student folder in the store: `<tmp>/s3-predict/<sha256 of its URI, 16 hex>`. */
export function studentCacheDir(uri: string, root = path.join(os.tmpdir(), 's3-predict')): string {
  return path.join(root, createHash('sha256').update(uri).digest('hex').slice(0, 16));
}

/**
 * The local folder of the exported student `arg` names: a local folder as given; a student folder
 * in the store (an `s3://` URI, or a key folder under `--config`'s store) copied into `cacheDir`
 * first (store/pull.ts pullArtifacts: sha256 checked against the store's record).
 * @param opts.cacheDir where a stored student is copied (default {@link studentCacheDir} of its URI)
 * @returns the local folder
 * @throws Error "nothing under <uri>" when the store holds no file there; IntegrityError,
 *   StoreAccessError (store/); the errors of storeOptions.ts artifactsLocationOf
 */
export async function studentFolderOf(
  arg: string,
  opts: StoreCliOptions & { cacheDir?: string } = {},
): Promise<string> {
  const where = await artifactsLocationOf(arg, opts, 'predict');
  if (!where) return arg;
  if (where.kind === 'local') return where.dir;
  const { openStore, pullArtifacts } = await import('../store/index.js');
  const store = openStore(where.store);
  const dir = opts.cacheDir ?? studentCacheDir(store.rootUri);
  const pulled = await pullArtifacts(store, '', dir);
  if (pulled.files.length === 0) throw new Error(`nothing under ${store.rootUri}: not an exported student`);
  return pulled.dir;
}

/**
 * The examples of `file`: a local JSONL file, or an `s3://` object (read through the store, with the
 * command line's connection options, else those of `--config`'s object store), with readJsonl's
 * checks and messages.
 * @param schema of one row (default: the classifier's PredictRow; predictQa.ts QaPredictRowSchema for QA)
 * @throws DatasetError (data/jsonl.ts) naming the file and line of an invalid row, or a missing file
 */
export async function readPredictRows<T = PredictRow>(
  file: string,
  opts: StoreCliOptions = {},
  schema: z.ZodType<T> = PredictRowSchema as unknown as z.ZodType<T>,
): Promise<T[]> {
  if (schemeOf(file) !== 's3') return readJsonl(file, schema);
  let connection: Omit<StoreConfig, 'uri'> = connectionOfOptions(opts);
  if (opts.config) {
    const { storeConfigOfFile } = await import('./pull.js');
    const { uri, ...own } = await storeConfigOfFile(opts.config);
    if (schemeOf(uri) === 's3') connection = { ...own, ...connection };
  }
  const { openStore } = await import('../store/index.js');
  const cut = file.lastIndexOf('/');
  const store = openStore({ uri: file.slice(0, cut + 1), ...connection });
  return store.getJsonl(file.slice(cut + 1), schema);
}

/**
 * What `s3 predict` prints: one JSON line per row ({id, predicted, probs: {label: p} rounded to 6
 * decimals, label}), then `{examples, labeled, accuracy}` when some rows have a label.
 */
export async function predictLines(student: ExportedStudent, rows: PredictRow[]): Promise<string[]> {
  const probs = await student.predictProba(rows);
  let correct = 0;
  let labeled = 0;
  const lines = rows.map((x, i) => {
    const p = probs[i];
    const predicted = student.labels[p.indexOf(Math.max(...p))];
    if (x.label !== undefined) {
      labeled++;
      if (x.label === predicted) correct++;
    }
    const byLabel = Object.fromEntries(student.labels.map((l, k) => [l, Number(p[k].toFixed(6))]));
    return JSON.stringify({ id: x.id ?? String(i), predicted, probs: byLabel, label: x.label });
  });
  if (labeled) lines.push(JSON.stringify({ examples: rows.length, labeled, accuracy: correct / labeled }));
  return lines;
}

/** The `predict` subcommand. */
export function predictCommand(name: string): Command {
  const cmd = new Command(name)
    .description('print predictions of an exported finetune student (runs/<runId>/student) on a JSONL file')
    .argument(
      '<folder>',
      'the exported student folder, e.g. runs/<runId>/student, or its store URI (s3://…/<runId>/student/)',
    )
    .argument(
      '<file>',
      'JSONL examples: {id, text, text_pair?, label?}, for a QA student {id, context, question, answers?} (a local file or an s3:// URI)',
    )
    .option('--cache-dir <dir>', 'where a student in the store is copied (default <tmp>/s3-predict/<hash of its URI>)');
  return addStoreOptions(
    cmd,
    'run or experiment configuration whose store holds <folder> (a key such as <runId>/student; its endpoint for s3:// URIs)',
  )
    .addHelpText(
      'after',
      `
Examples:
  $ npm run s3 -- predict runs/s3-run/student runs/s3-run/gold/test.jsonl   # one JSON line per example, then the accuracy
  $ npm run s3 -- predict runs/spamassassin/s3/seed-1/student my-emails.jsonl
  $ npm run s3 -- predict s3://s3-synth/runs/s3-run/student/ s3://s3-synth/runs/s3-run/gold/test.jsonl --endpoint http://127.0.0.1:7070
  $ npm run s3 -- predict s3-run/student my-emails.jsonl --config my-run.json   (the store of its artifacts.uri)
  $ npm run s3 -- predict runs/adqa/student questions.jsonl   # a QA student: the answer span of each {context, question}

Credentials for a store come from the AWS environment only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, roles).`,
    )
    .action(async (folder: string, file: string, o: StoreCliOptions & { cacheDir?: string }) => {
      const dir = await studentFolderOf(folder, o);
      let lines: string[];
      if (exportedStudentKind(dir) === 'qa') {
        // loaded only here: it brings the tokenizers native binding
        const { loadExportedQaStudent, predictQaLines, QaPredictRowSchema } = await import('./predictQa.js');
        lines = await predictQaLines(
          await loadExportedQaStudent(dir),
          await readPredictRows(file, o, QaPredictRowSchema),
        );
      } else lines = await predictLines(await loadExportedStudent(dir), await readPredictRows(file, o));
      for (const line of lines) console.log(line);
    });
}
