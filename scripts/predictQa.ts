/**
 * `s3 predict` for an exported extractive-QA student (the Python worker's ONNX export of the span
 * student, `s3-student.json` with `task: "qa"`; workers/finetune/s3_finetune/qa_activity.py): the
 * answer to each `{context, question}` row, with the windows and span decoding of the Python side
 * (student/qaSpans.ts), so that both give the same answer strings.
 *
 * Tokenization: the Hugging Face tokenizers' own Node binding (`tokenizers`, the Rust library the
 * Python worker's fast tokenizer runs) on the exported tokenizer.json, for the token ids and the
 * character offsets, which transformers.js does not give. Its overflowing windows are not used (the
 * Node binding's overflow of a pair differs from Python's): the whole pair is tokenized once and
 * qaSpans.ts cuts the windows. The model runs through @huggingface/transformers on onnxruntime-node
 * (CPU), the windows of a batch right-padded (attention mask 0) as qa.py pads them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AutoModelForQuestionAnswering, env, type PreTrainedModel, Tensor } from '@huggingface/transformers';
import { Tokenizer } from 'tokenizers';
import { scoreQa, qaScore } from '../domain/squad.js';
import {
  bestSpan,
  clipQuestion,
  pyLstrip,
  qaWindows,
  type Offset,
  type QaWindow,
  type SpanAnswer,
} from '../student/qaSpans.js';

/** s3-student.json of a QA export (export.py, qa_activity.py). */
export const QaStudentMetaSchema = z.object({
  task: z.literal('qa'),
  /** tokens per window, special tokens included */
  maxLength: z.number().int().positive(),
  /** overlap of consecutive windows, in tokens */
  docStride: z.number().int().min(0),
  /** the longest answer, in tokens */
  maxAnswerLength: z.number().int().positive(),
  /** start and end candidates per window */
  nBest: z.number().int().positive(),
  /** a question is cut to this many tokens */
  questionMaxTokens: z.number().int().positive(),
  inputs: z.array(z.string()).min(1),
});
export type QaStudentMeta = z.infer<typeof QaStudentMetaSchema>;

/** The rows `s3 predict` reads for a QA student: a context and a question; id and gold answers optional. */
export const QaPredictRowSchema = z.object({
  id: z.string().optional(),
  context: z.string(),
  question: z.string(),
  answers: z.object({ text: z.array(z.string()), answer_start: z.array(z.number()).optional() }).optional(),
});
export type QaPredictRow = z.infer<typeof QaPredictRowSchema>;

/** A loaded exported QA student. */
export interface ExportedQaStudent {
  meta: QaStudentMeta;
  /** the windows of a row (its question clipped and stripped as in training) */
  windows(row: Pick<QaPredictRow, 'context' | 'question'>): Promise<QaWindow[]>;
  /** the answer to each row, in order (qaSpans.ts bestSpan) */
  answer(rows: Pick<QaPredictRow, 'context' | 'question'>[], batchSize?: number): Promise<SpanAnswer[]>;
}

/**
 * Loads an exported QA student FOLDER (config.json, tokenizer.json, tokenizer_config.json,
 * onnx/model.onnx, s3-student.json with task "qa") from disk only (no network).
 * @throws Error naming the missing files, or what s3-student.json lacks
 */
export async function loadExportedQaStudent(folder: string): Promise<ExportedQaStudent> {
  const dir = path.resolve(folder);
  const missing = ['config.json', 'tokenizer.json', 'onnx/model.onnx', 's3-student.json'].filter(
    (f) => !existsSync(path.join(dir, f)),
  );
  if (missing.length) throw new Error(`${dir} is not an exported finetune student: no ${missing.join(', ')}`);
  const parsed = QaStudentMetaSchema.safeParse(JSON.parse(readFileSync(path.join(dir, 's3-student.json'), 'utf8')));
  if (!parsed.success)
    throw new Error(
      `${dir}/s3-student.json is not a QA student's: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const meta = parsed.data;
  const config = existsSync(path.join(dir, 'tokenizer_config.json'))
    ? (JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>)
    : {};
  // qa.py: the question first when the tokenizer pads on the right (BERT), else the context first
  const questionFirst = (config.padding_side ?? 'right') === 'right';
  const tokenizer = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  const pad = typeof config.pad_token === 'string' ? (tokenizer.tokenToId(config.pad_token) ?? 0) : 0;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = path.dirname(dir) + '/';
  const model: PreTrainedModel = await AutoModelForQuestionAnswering.from_pretrained(path.basename(dir), {
    dtype: 'fp32',
    device: 'cpu',
  });
  const withTypes = meta.inputs.includes('token_type_ids');

  async function windows(row: Pick<QaPredictRow, 'context' | 'question'>): Promise<QaWindow[]> {
    const stripped = pyLstrip(row.question);
    const q = await tokenizer.encode(stripped, null, { addSpecialTokens: false });
    const question = clipQuestion(stripped, q.getOffsets() as unknown as Offset[], meta.questionMaxTokens);
    const enc = questionFirst
      ? await tokenizer.encode(question, row.context)
      : await tokenizer.encode(row.context, question);
    const full = {
      ids: enc.getIds(),
      typeIds: enc.getTypeIds(),
      offsets: enc.getOffsets() as unknown as Offset[],
      sequenceIds: enc.getSequenceIds().map((s) => s ?? null),
    };
    return qaWindows(full, meta.maxLength, meta.docStride, questionFirst ? 1 : 0);
  }

  async function logits(ws: QaWindow[], batchSize: number): Promise<[Float32Array[], Float32Array[]]> {
    const starts: Float32Array[] = [];
    const ends: Float32Array[] = [];
    for (let i = 0; i < ws.length; i += batchSize) {
      const chunk = ws.slice(i, i + batchSize);
      const width = Math.max(...chunk.map((w) => w.inputIds.length));
      const tensor = (value: (w: QaWindow, j: number) => number) => {
        const data = new BigInt64Array(chunk.length * width);
        chunk.forEach((w, r) => {
          for (let j = 0; j < width; j++) data[r * width + j] = BigInt(value(w, j));
        });
        return new Tensor('int64', data, [chunk.length, width]);
      };
      const inputs: Record<string, Tensor> = {
        input_ids: tensor((w, j) => (j < w.inputIds.length ? w.inputIds[j] : pad)),
        attention_mask: tensor((w, j) => (j < w.inputIds.length ? 1 : 0)),
      };
      if (withTypes) inputs.token_type_ids = tensor((w, j) => (j < w.typeIds.length ? w.typeIds[j] : 0));
      const out = (await model(inputs)) as { start_logits: Tensor; end_logits: Tensor };
      const s = out.start_logits.data as Float32Array;
      const e = out.end_logits.data as Float32Array;
      chunk.forEach((w, r) => {
        starts.push(s.slice(r * width, r * width + w.inputIds.length));
        ends.push(e.slice(r * width, r * width + w.inputIds.length));
      });
    }
    return [starts, ends];
  }

  return {
    meta,
    windows,
    async answer(rows, batchSize = 32) {
      const per = await Promise.all(rows.map((r) => windows(r)));
      const [starts, ends] = await logits(per.flat(), batchSize);
      let k = 0;
      return rows.map((r, i) => {
        const n = per[i].length;
        const a = bestSpan(r.context, per[i], starts.slice(k, k + n), ends.slice(k, k + n), meta);
        k += n;
        return a;
      });
    },
  };
}

/**
 * What `s3 predict` prints for a QA student: one JSON line per row ({id, predicted, start (code
 * points, null for no answer), confidence rounded to 6 decimals, and with gold answers exactMatch and
 * f1 (SQuAD v1.1, domain/squad.ts)}), then `{questions, scored, exactMatch, f1}` when some rows have answers.
 */
export async function predictQaLines(student: ExportedQaStudent, rows: QaPredictRow[]): Promise<string[]> {
  const answers = await student.answer(rows);
  const scored: { predicted: string; golds: string[] }[] = [];
  const lines = rows.map((r, i) => {
    const a = answers[i];
    const line: Record<string, unknown> = {
      id: r.id ?? String(i),
      predicted: a.text,
      start: a.start,
      confidence: Number(a.confidence.toFixed(6)),
    };
    if (r.answers && r.answers.text.length) {
      const s = qaScore(a.text, r.answers.text);
      Object.assign(line, { exactMatch: s.exactMatch, f1: s.f1 });
      scored.push({ predicted: a.text, golds: r.answers.text });
    }
    return JSON.stringify(line);
  });
  if (scored.length) {
    const m = scoreQa(
      scored.map((s) => s.predicted),
      scored.map((s) => s.golds),
    );
    lines.push(JSON.stringify({ questions: rows.length, scored: scored.length, exactMatch: m.exactMatch, f1: m.f1 }));
  }
  return lines;
}
