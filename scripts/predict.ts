/**
 * `s3 predict FOLDER FILE.jsonl`: class predictions of an exported finetune student (the ONNX
 * folder the Python worker writes into runs/<runId>/student/, transformers.js layout) through
 * @huggingface/transformers on onnxruntime-node (CPU). Prints one JSON line per example:
 * {id, predicted, probs: {label: p}, label?}, then a summary line with the accuracy when the file
 * has gold labels. Inputs are cut to the student's maxChars and maxLength (s3-student.json) as in
 * training; pairs (text_pair) are encoded as pairs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import {
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
  type Tensor,
} from '@huggingface/transformers';
import { readJsonl } from '../data/jsonl.js';
import { ExampleSchema, type Example } from '../domain/types.js';

/** s3-student.json, written next to the model by the Python exporter. */
interface StudentMeta {
  labels: string[];
  maxLength?: number;
  maxChars?: number;
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
 * @throws Error naming the missing files
 */
export async function loadExportedStudent(folder: string): Promise<ExportedStudent> {
  const dir = path.resolve(folder);
  const missing = ['config.json', 'tokenizer.json', 'onnx/model.onnx', 's3-student.json'].filter(
    (f) => !existsSync(path.join(dir, f)),
  );
  if (missing.length) throw new Error(`${dir} is not an exported finetune student: no ${missing.join(', ')}`);
  const meta = JSON.parse(readFileSync(path.join(dir, 's3-student.json'), 'utf8')) as StudentMeta;
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
  const maxLength = Math.min(meta.maxLength ?? Infinity, tokenizer.model_max_length ?? Infinity);
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
        const inputs = tokenizer(texts, {
          ...(pairs ? { text_pair: pairs } : {}),
          padding: true,
          truncation: true,
          ...(Number.isFinite(maxLength) ? { max_length: maxLength } : {}),
        });
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

/** The `predict` subcommand. */
export function predictCommand(name: string): Command {
  return new Command(name)
    .description('print predictions of an exported finetune student (runs/<runId>/student) on a JSONL file')
    .argument('<folder>', 'the exported student folder, e.g. runs/<runId>/student')
    .argument('<file>', 'JSONL examples: {id, text, text_pair?, label?}')
    .action(async (folder: string, file: string) => {
      const student = await loadExportedStudent(folder);
      const rows = await readJsonl(file, ExampleSchema.partial({ id: true, label: true }));
      const probs = await student.predictProba(rows);
      let correct = 0;
      let labeled = 0;
      rows.forEach((x, i) => {
        const p = probs[i];
        const predicted = student.labels[p.indexOf(Math.max(...p))];
        if (x.label !== undefined) {
          labeled++;
          if (x.label === predicted) correct++;
        }
        const byLabel = Object.fromEntries(student.labels.map((l, k) => [l, Number(p[k].toFixed(6))]));
        console.log(JSON.stringify({ id: x.id ?? String(i), predicted, probs: byLabel, label: x.label }));
      });
      if (labeled) console.log(JSON.stringify({ examples: rows.length, labeled, accuracy: correct / labeled }));
    });
}
