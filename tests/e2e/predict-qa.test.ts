/**
 * `s3 predict` of an exported extractive-QA student (issue 19) against the Python worker: a tiny
 * random BERT span student trained for one step and exported to ONNX by Python
 * (s3_finetune/qa_activity.py export_qa), then the same rows answered by the Python side (qa.py
 * predict_qa on the PyTorch model) and by scripts/predictQa.ts (tokenizers' Node binding,
 * student/qaSpans.ts, onnxruntime-node): the windows (ids, token types, offsets) and the answer
 * strings and starts must be equal row by row, through the library call and through the CLI
 * subcommand. The rows cover a context over several windows, a question cut to half a window, leading
 * whitespace and a character above U+FFFF (offsets in code points).
 *
 * Needs .tools/finetune-venv (skipped without it, as finetune.test.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { predictCommand } from '../../scripts/predict.js';
import { loadExportedQaStudent, predictQaLines, type QaPredictRow } from '../../scripts/predictQa.js';
import { FINETUNE_PYTHON, finetuneUnavailable } from '../../workers/finetune.js';

const skip = finetuneUnavailable() ?? false;
const PKG = path.join(PROJECT_ROOT, 'workers', 'finetune');

const WHO = ['the man', 'a woman', 'the dog', 'a cat', 'he', 'she', 'they'];
const PLACES = ['the park', 'the house', 'a farm', 'the city', 'a school'];
const LONG =
  WHO.map((w, i) => `${w} runs in ${PLACES[i % 5]}.`).join(' ') + ' the dog sleeps in a barn 😀 and is happy.';
const ROWS: QaPredictRow[] = [
  ...WHO.slice(0, 4).map((who, i) => {
    const context = `${who} eats food in ${PLACES[i]} today.`;
    return {
      id: `p${i}`,
      context,
      question: `where does ${who} eat?`,
      answers: { text: [PLACES[i]], answer_start: [context.indexOf(PLACES[i])] },
    };
  }),
  {
    id: 'long',
    context: LONG,
    question: '  where does the dog sleep?',
    answers: { text: ['a barn'], answer_start: [LONG.indexOf('a barn')] }, // before the 😀: UTF-16 = code points
  },
  {
    id: 'clipped',
    context: 'she is sad but he is happy in the house 😀 today and the cat is not.',
    question: Array(20).fill('who is happy').join(' and ') + '?',
  },
];

/** Trains, exports and predicts on the Python side; prints {folder, predictions, features}. */
const PY = `
import json, os, sys
from transformers import BertTokenizerFast
from s3_finetune.contract import Hyper
from s3_finetune.qa import QaSettings, features, predict_qa, train_qa
from s3_finetune.qa_activity import export_qa, question_clipper
from s3_finetune.testing import make_tiny_model

root, rows = sys.argv[1], json.load(sys.stdin)
model_dir = make_tiny_model(os.path.join(root, "tiny-qa"))
with open(os.path.join(model_dir, "vocab.txt")) as f:
    words = [w.rstrip("\\n") for w in f if w.strip()]
# a tokenizer that knows the vocabulary (tests/test_qa.py qa_model)
BertTokenizerFast(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True, model_max_length=128).save_pretrained(model_dir)
for r in rows:
    r.setdefault("answers", {"text": ["x"], "answer_start": [0]})
max_length = 64
settings = QaSettings(max_length=max_length, doc_stride=max_length // 4)
clip = question_clipper(model_dir, max_length // 2)
rows = [clip(r) for r in rows]
hyper = Hyper(model=model_dir, preset="qa-test", epochs=1, batch_size=4, lr=1e-2, max_length=max_length,
              warmup_ratio=0.0, weight_decay=0.01, heartbeat_steps=10, checkpoint_steps=50, eval_batch_size=16,
              max_chars=2000, export=True, seed=5)
res = train_qa(hyper, rows, settings=settings, max_steps=1)
folder = export_qa(res.model, res.tokenizer, os.path.join(root, "student"), settings, max_length // 2, rows[:2])
preds = predict_qa(res.model, res.tokenizer, rows, settings)
feats = features(res.tokenizer, rows, settings.max_length, settings.doc_stride)
print(json.dumps({
    "folder": folder,
    "predictions": [{"id": p["id"], "predicted": p["predicted"], "start": p["start"]} for p in preds],
    "features": [{"row": f.example_index, "inputIds": f.input_ids, "typeIds": f.token_type_ids,
                  "offsets": [list(o) if o is not None else None for o in f.offsets]} for f in feats],
}))
`;

interface PythonSide {
  folder: string;
  predictions: { id: string; predicted: string; start: number | null }[];
  features: { row: number; inputIds: number[]; typeIds: number[]; offsets: ([number, number] | null)[] }[];
}

describe('s3 predict of an exported QA student gives the Python worker’s answers', { skip }, () => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-predict-qa-'));
  let py: PythonSide;

  before(() => {
    const out = execFileSync(FINETUNE_PYTHON, ['-c', PY, root], {
      cwd: PKG,
      input: JSON.stringify(ROWS),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
      maxBuffer: 64 << 20,
    });
    py = JSON.parse(out.trim().split('\n').pop()!) as PythonSide;
  });

  test('the same windows and the same answer strings, row by row', { timeout: 300_000 }, async () => {
    const student = await loadExportedQaStudent(py.folder);
    assert.equal(student.meta.maxLength, 64);
    assert.equal(student.meta.docStride, 16);
    // the windows: ids, token types and code-point offsets as the Python fast tokenizer gives them
    const windows = await Promise.all(ROWS.map((r) => student.windows(r)));
    const ours = windows.flatMap((ws, row) => ws.map((w) => ({ row, ...w })));
    assert.deepEqual(
      ours.map((w) => ({ row: w.row, inputIds: w.inputIds, typeIds: w.typeIds, offsets: w.offsets })),
      py.features,
    );
    assert.ok(windows[4].length >= 3, `the long context spans several windows (${windows[4].length})`);
    assert.equal(windows[5].length, 1);

    const answers = await student.answer(ROWS);
    assert.deepEqual(
      answers.map((a, i) => ({ id: ROWS[i].id, predicted: a.text, start: a.start })),
      py.predictions,
    );
    assert.ok(
      answers.filter((a) => a.text !== '').length >= 4,
      'most rows have an answer, so the comparison is of spans',
    );
    for (const [i, a] of answers.entries())
      if (a.start !== null) assert.equal(Array.from(ROWS[i].context).slice(a.start).join('').indexOf(a.text), 0);
    console.log(
      `QA predict: ${ROWS.length} rows, ${ours.length} windows, answers equal to Python's: ${answers.map((a) => JSON.stringify(a.text)).join(', ')}`,
    );
  });

  test('the CLI prints one line per row with EM / F1, then the means', { timeout: 300_000 }, async () => {
    const file = path.join(root, 'rows.jsonl');
    writeFileSync(file, ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const lines: string[] = [];
    const log = console.log;
    console.log = (...xs: unknown[]) => void lines.push(xs.map(String).join(' '));
    try {
      await predictCommand('predict').exitOverride().parseAsync([py.folder, file], { from: 'user' });
    } finally {
      console.log = log;
    }
    const expected = await predictQaLines(await loadExportedQaStudent(py.folder), ROWS);
    assert.deepEqual(lines, expected);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      parsed.slice(0, ROWS.length).map((p) => [p.id, p.predicted, p.start]),
      py.predictions.map((p) => [p.id, p.predicted, p.start]),
    );
    assert.equal(parsed[5].exactMatch, undefined, 'a row without answers is not scored');
    const summary = parsed[ROWS.length];
    assert.equal(summary.questions, ROWS.length);
    assert.equal(summary.scored, ROWS.length - 1);
    const em = parsed.slice(0, ROWS.length - 1).reduce((s, p) => s + (p.exactMatch as number), 0);
    assert.equal(summary.exactMatch, em / (ROWS.length - 1));
  });
});
