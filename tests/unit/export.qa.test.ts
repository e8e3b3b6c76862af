/**
 * `s3 export` of an extractive QA run (scripts/exportQa.ts): a small QA run folder built from the
 * QA fixture (tests/fixtures/data/qa-good.jsonl, read by the gold loader) and two synthetic
 * questions, exported as hf (JSONL + card), parquet and plain jsonl. The Parquet files are read
 * back in TypeScript (hyparquet); when the finetune venv (or S3_HF_PYTHON) has Hugging Face
 * `datasets`, the exported folders are loaded with `load_dataset` and the rows, the `answers`
 * structure and a provenance field are checked there too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { exportRun } from '../../scripts/export.js';
import { QA_CONTEXT as CONTEXT, qaRunDir } from '../helpers/runFolders.js';

const CARD_FEATURES = [
  { name: 'id', dtype: 'string' },
  { name: 'context', dtype: 'string' },
  { name: 'question', dtype: 'string' },
  {
    name: 'answers',
    sequence: [
      { name: 'text', dtype: 'string' },
      { name: 'answer_start', dtype: 'int32' },
    ],
  },
];

const frontMatter = (dir: string) =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  parseYaml(/^---\n([\s\S]*?)\n---\n/.exec(readFileSync(path.join(dir, 'README.md'), 'utf8'))![1]) as any;

/** A Python that has Hugging Face `datasets`: S3_HF_PYTHON, else the finetune venv's when it has it. */
function datasetsPython(): string | undefined {
  for (const py of [process.env.S3_HF_PYTHON, path.resolve('.tools/finetune-venv/bin/python')])
    if (py && existsSync(py) && spawnSync(py, ['-c', 'import datasets'], { encoding: 'utf8' }).status === 0) return py;
  return undefined;
}

test('QA export --format hf: SQuAD columns in data/*.jsonl, provenance by id, a card declaring answers as a sequence', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-qa-export-'));
  const run = await qaRunDir(root);
  const out = path.join(root, 'hf');
  const s = exportRun(run, out, { format: 'hf' });
  assert.deepEqual(s.splits, { train: 2, validation: 2, test: 1 });
  const lines = (f: string) =>
    readFileSync(path.join(out, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const train = lines('data/train.jsonl');
  assert.deepEqual(Object.keys(train[0]), ['id', 'context', 'question', 'answers']);
  assert.deepEqual(train[0].answers, { text: ['the Town Moor'], answer_start: [39] });
  assert.deepEqual(lines('data/test.jsonl')[0], {
    id: 'q3',
    context: 'Honorary freemen include Bob Geldof, King Harald V of Norway and Bobby Robson.',
    question: 'Which king is a freeman?',
    answers: { text: ['King Harald V of Norway'], answer_start: [37] },
  });
  const prov = lines('provenance/train.jsonl');
  assert.deepEqual(
    prov.map((p) => [p.id, p.origin, p.misclassifiedId]),
    [
      ['seed-0', 'seed', null],
      ['ees-1-0', 'ees', 'q1'],
    ],
  );
  const yaml = frontMatter(out);
  assert.deepEqual(yaml.task_categories, ['question-answering']);
  assert.deepEqual(yaml.task_ids, ['extractive-qa']);
  assert.deepEqual(yaml.dataset_info.features, CARD_FEATURES);
  assert.deepEqual(yaml.configs[0].data_files, [
    { split: 'train', path: 'data/train.jsonl' },
    { split: 'validation', path: 'data/validation.jsonl' },
    { split: 'test', path: 'data/test.jsonl' },
  ]);
  const card = readFileSync(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /\| train \| 2 \| synthetic/);
  assert.match(card, /seed \(round 0\): 1; ees \(round 1\): 1/);
  assert.match(card, /gold test SQuAD exact match 100\.0%, F1 100\.0% on 1 questions/);
  assert.doesNotMatch(card, /accuracy|label distribution/i, 'no classification wording');
});

test('QA export --format parquet: answers as struct<text: list<string>, answer_start: list<int32>>; read back in TypeScript and, with the venv, by datasets.load_dataset', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-qa-export-'));
  const run = await qaRunDir(root);
  const out = path.join(root, 'pq');
  const hf = path.join(root, 'hf');
  exportRun(run, hf, { format: 'hf' });
  const s = exportRun(run, out, { format: 'parquet' });
  assert.deepEqual(s.splits, { train: 2, validation: 2, test: 1 });
  assert.equal(frontMatter(out).configs[0].data_files[0].path, 'data/train.parquet');
  assert.deepEqual(frontMatter(out).dataset_info.features, CARD_FEATURES);

  const { parquetReadObjects, parquetMetadata } = await import('hyparquet');
  const read = async (split: string) => {
    const buf = readFileSync(path.join(out, 'data', `${split}.parquet`));
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    return { file, rows: (await parquetReadObjects({ file })) as Record<string, unknown>[] };
  };
  const { file, rows } = await read('train');
  assert.deepEqual(
    rows,
    JSON.parse(
      `[${readFileSync(path.join(hf, 'data', 'train.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .join(',')}]`,
    ),
    'the Parquet rows are the JSONL rows',
  );
  assert.equal((await read('validation')).rows.length, 2);
  const meta = parquetMetadata(file);
  assert.deepEqual(
    meta.schema.map((e) => [e.name, e.type ?? null, e.repetition_type ?? null]),
    [
      ['root', null, null],
      ['id', 'BYTE_ARRAY', 'REQUIRED'],
      ['context', 'BYTE_ARRAY', 'REQUIRED'],
      ['question', 'BYTE_ARRAY', 'REQUIRED'],
      ['answers', null, 'REQUIRED'],
      ['text', null, 'REQUIRED'],
      ['list', null, 'REPEATED'],
      ['element', 'BYTE_ARRAY', 'REQUIRED'],
      ['answer_start', null, 'REQUIRED'],
      ['list', null, 'REPEATED'],
      ['element', 'INT32', 'REQUIRED'],
    ],
  );
  const features = JSON.parse(meta.key_value_metadata!.find((kv) => kv.key === 'huggingface')!.value!).info.features;
  assert.equal(features.answers._type, 'Sequence');

  const py = datasetsPython();
  if (!py)
    return t.skip('Hugging Face `datasets` is not installed: load_dataset not checked (the rows were read back above)');
  const script = `
import json, sys
from datasets import load_dataset
hf, pq = sys.argv[1], sys.argv[2]
out = {}
for name, ds in [("hf", load_dataset(hf)), ("pq", load_dataset(pq)), ("pq_files", load_dataset("parquet", data_dir=pq + "/data"))]:
    a = ds["train"].features["answers"]
    out[name] = {
        "splits": {k: len(v) for k, v in ds.items()},
        "columns": ds["train"].column_names,
        "answer_types": {k: [type(v).__name__, v.feature.dtype] for k, v in a.items()},
        "first": ds["train"][0],
        "test_answers": ds["test"][0]["answers"],
        "spans": [r["context"][s:s + len(t)] == t for r in ds["train"] for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])],
    }
prov = load_dataset(hf, "provenance")
out["provenance"] = [prov["train"][1]["id"], prov["train"][1]["origin"], prov["train"][1]["misclassifiedId"]]
print(json.dumps(out))`;
  const r = spawnSync(py, ['-c', script, hf, out], {
    encoding: 'utf8',
    env: { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HOME: path.join(root, 'hf-home') },
  });
  assert.equal(r.status, 0, r.stderr);
  const loaded = JSON.parse(r.stdout.trim().split('\n').pop()!);
  for (const name of ['hf', 'pq', 'pq_files']) {
    const l = loaded[name];
    assert.deepEqual(l.splits, { train: 2, validation: 2, test: 1 }, name);
    assert.deepEqual(l.columns, ['id', 'context', 'question', 'answers'], name);
    assert.deepEqual(l.answer_types, { text: ['List', 'string'], answer_start: ['List', 'int32'] }, name);
    assert.deepEqual(
      l.first,
      {
        id: 'seed-0',
        context: CONTEXT,
        question: 'Where is the fair held?',
        answers: { text: ['the Town Moor'], answer_start: [39] },
      },
      name,
    );
    assert.deepEqual(l.test_answers, { text: ['King Harald V of Norway'], answer_start: [37] }, name);
    // Python indexes the context in code points: the span at answer_start is the answer
    assert.deepEqual(l.spans, [true, true], name);
  }
  assert.deepEqual(loaded.provenance, ['ees-1-0', 'ees', 'q1']);
});

test('QA export --format jsonl: plain SQuAD rows; a row whose answer is not in its context is refused by name', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-qa-export-'));
  const run = await qaRunDir(root);
  const plain = path.join(root, 'plain');
  const s = exportRun(run, plain, { format: 'jsonl' });
  assert.deepEqual(
    s.files.map((f) => path.relative(plain, f)),
    ['train.jsonl', 'validation.jsonl', 'test.jsonl', path.join('provenance', 'train.jsonl')],
  );
  assert.ok(!existsSync(path.join(plain, 'README.md')));
  const second = JSON.parse(readFileSync(path.join(plain, 'validation.jsonl'), 'utf8').split('\n')[1]);
  assert.deepEqual(second.answers, { text: ['annually in June'], answer_start: [100] });
  // a gold row without `answers` falls back to its label at its first occurrence; absent: an error
  const bad = { id: 'x9', text: 'A context.', text_pair: 'What?', label: 'missing span' };
  writeFileSync(path.join(run, 'gold', 'test.jsonl'), JSON.stringify(bad) + '\n');
  assert.throws(
    () => exportRun(run, path.join(root, 'bad'), { format: 'jsonl' }),
    /test row 1 \(x9\): answer "missing span" is not a span of its context/,
  );
});

test('QA export: a title column when the rows carry one (every split gets it; the card declares it after id)', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-qa-export-'));
  const run = await qaRunDir(root);
  const test1 = JSON.parse(readFileSync(path.join(run, 'gold', 'test.jsonl'), 'utf8'));
  writeFileSync(path.join(run, 'gold', 'test.jsonl'), JSON.stringify({ ...test1, title: 'Newcastle' }) + '\n');
  const out = path.join(root, 'hf');
  exportRun(run, out, { format: 'parquet' });
  assert.deepEqual(frontMatter(out).dataset_info.features.slice(0, 2), [
    { name: 'id', dtype: 'string' },
    { name: 'title', dtype: 'string' },
  ]);
  const { parquetReadObjects } = await import('hyparquet');
  const titles = async (split: string) => {
    const buf = readFileSync(path.join(out, 'data', `${split}.parquet`));
    const rows = await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) });
    return rows.map((r) => r.title);
  };
  assert.deepEqual(await titles('test'), ['Newcastle']);
  assert.deepEqual(await titles('train'), ['', '']);
});
