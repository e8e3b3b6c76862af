/**
 * The `s3` CLI without a server: --version, --help, `check` on run and experiment configurations
 * (typos with a suggestion, missing data files, --json), and `export` of a run folder in the
 * Hugging Face datasets layout (card parsed, files and counts; loaded with `datasets` when a
 * Python with it is at hand).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { checkConfig, isExperimentConfig } from '../../scripts/check.js';
import { exportRun, resolveRunDir, sizeCategory } from '../../scripts/export.js';
import { describeProgress } from '../../scripts/progress.js';
import { classificationRunDir } from '../helpers/runFolders.js';

/** Runs the CLI; never throws for a non-zero exit. */
async function s3(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/s3.ts', ...args], {
      cwd: PROJECT_ROOT,
      timeout: 60_000,
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
  }
}

test('s3 --version prints package.json’s version; every command has a description and --help examples', async () => {
  const { version } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal((await s3('--version')).stdout.trim(), version);
  const help = (await s3('--help')).stdout;
  for (const cmd of ['start', 'experiment', 'check', 'progress', 'export', 'predict', 'teacher-server', 'contract'])
    assert.match(help, new RegExp(`^  ${cmd}\\b.*\\S+.*$`, 'm'), `no line for ${cmd} in --help`);
  assert.ok(!/^ {2}\w[\w-]* (\[options\] )?(<[^>]+> |\[[^\]]+\] )*$/m.test(help), 'a command without a description');
  for (const cmd of ['start', 'experiment', 'check', 'progress', 'export', 'predict', 'teacher-server', 'contract'])
    assert.match((await s3(cmd, '--help')).stdout, /Examples[^\n]*:\n {2}\$ npm /, `${cmd} --help has examples`);
});

test('s3 check recognises an experiment configuration and validates every arm; --json parses', async () => {
  const human = await s3('check', 'configs/experiments/spamassassin.json');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /a valid experiment configuration/);
  assert.match(human.stdout, /7 arms × 3 seeds = 21 runs, budget 100 examples/);
  const json = await s3('check', 'configs/experiments/active-spamassassin.json', '--json');
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as { valid: boolean; kind: string; runs: number; arms: { runDirs: string[] }[] };
  assert.equal(r.valid, true);
  assert.equal(r.kind, 'experiment');
  assert.equal(r.runs, r.arms.length * 3);
  const run = JSON.parse((await s3('check', '--json')).stdout) as { kind: string; config: { seed: number } };
  assert.equal(run.kind, 'run');
  assert.equal(run.config.seed, 42, 'defaults filled in');
});

test('s3 check: a typo in an arm’s method is caught with a suggestion, a missing data file by name', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-check-'));
  const exp = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'configs/experiments/spamassassin.json'), 'utf8'));
  exp.arms[4].method = 'goldgn';
  writeFileSync(path.join(dir, 'typo.json'), JSON.stringify(exp));
  const typo = await s3('check', path.join(dir, 'typo.json'));
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /arms\.4\.method: unknown method "goldgn" \(did you mean "goldgen"\?/);
  const json = await s3('check', path.join(dir, 'typo.json'), '--json');
  assert.equal(JSON.parse(json.stdout).valid, false);

  const missing = {
    runId: 'm',
    task: {
      labels: ['a', 'b'],
      source: { type: 'files', validation: path.join(dir, 'nope.jsonl'), test: path.join(dir, 'nope.jsonl') },
    },
  };
  writeFileSync(path.join(dir, 'missing.json'), JSON.stringify(missing));
  await assert.rejects(
    checkConfig(path.join(dir, 'missing.json')),
    /task\.source\.validation: .*nope\.jsonl.*file not found/,
  );
  // an experiment given to `start` is named as one before anything starts
  const start = await s3('start', 'configs/experiments/spamassassin.json');
  assert.equal(start.code, 1);
  assert.match(start.stderr, /is an experiment configuration: run it with `npm run s3 -- experiment/);
});

test('isExperimentConfig: by its own keys or an examples/tokens budget', () => {
  assert.equal(isExperimentConfig({ runId: 'x', budget: { teacherTokens: 5 } }), false);
  assert.equal(isExperimentConfig({ budget: { examples: 5 } }), true);
  assert.equal(isExperimentConfig({ arms: [] }), true);
});

test('describeProgress: a run’s phase and rounds, an experiment’s children', () => {
  const run = describeProgress('r', {
    phase: 'train',
    round: 1,
    rounds: [{ round: 0, trainSize: 20, validation: { accuracy: 0.5 }, test: { accuracy: 0.25 } }],
    usage: { calls: 3, cachedCalls: 1 },
    warnings: [],
    stopReason: null,
  });
  assert.match(
    run,
    /r: phase train, round 1\n {2}round 0: train 20, val acc 50\.0%, test acc 25\.0%\n {2}teacher: 3 calls \(1 cached\)/,
  );
  const exp = describeProgress('e', {
    phase: 'children',
    children: [{ workflowId: 'e/s3/seed-1', status: 'completed', testAccuracy: 0.5 }],
  });
  assert.match(exp, /e\/s3\/seed-1: completed test acc 50\.0%/);
  // extractive QA: EM and F1, per round and per finished child
  const qaRun = describeProgress('q', {
    phase: 'train',
    rounds: [{ round: 0, trainSize: 8, validation: { accuracy: 0.02 }, test: { accuracy: 0.017, f1: 0.06 } }],
  });
  assert.match(qaRun, /round 0: train 8, val EM 2\.0%, test EM 1\.7%, F1 6\.0%/);
  const qaExp = describeProgress('e', {
    phase: 'children',
    children: [{ workflowId: 'e/s3/seed-1', status: 'completed', testAccuracy: 0.017, testF1: 0.06 }],
  });
  assert.match(qaExp, /e\/s3\/seed-1: completed test EM 1\.7%, F1 6\.0%$/m);
});

const fakeRunDir = classificationRunDir;

/** A Python that has Hugging Face `datasets`: S3_HF_PYTHON, else the finetune venv's when it has it. */
function datasetsPython(): string | undefined {
  for (const py of [process.env.S3_HF_PYTHON, path.join(PROJECT_ROOT, '.tools/finetune-venv/bin/python')])
    if (py && existsSync(py) && spawnSync(py, ['-c', 'import datasets'], { encoding: 'utf8' }).status === 0) return py;
  return undefined;
}

test('export: the Hugging Face layout; the card parses and its counts and label names match the files', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-export-'));
  const runDir = fakeRunDir(root);
  assert.equal(resolveRunDir('done', path.join(root, 'runs')), runDir);
  const out = path.join(root, 'hf');
  const summary = exportRun(runDir, out);
  assert.deepEqual(summary.splits, { train: 5, validation: 4, test: 6 });
  assert.deepEqual(summary.labelCounts, { ham: 3, spam: 2 });
  const lines = (f: string) =>
    readFileSync(path.join(out, f), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const train = lines('data/train.jsonl');
  assert.equal(train.length, 5);
  assert.deepEqual(Object.keys(train[0]), ['text', 'label']);
  assert.deepEqual(
    train.map((r) => r.label),
    [0, 1, 0, 1, 0],
  );
  assert.equal(lines('data/test.jsonl').length, 6);
  const prov = lines('provenance/train.jsonl');
  assert.equal(prov.length, 5);
  assert.equal(prov[4].origin, 'ees');

  const card = readFileSync(path.join(out, 'README.md'), 'utf8');
  const m = /^---\n([\s\S]*?)\n---\n/.exec(card);
  assert.ok(m, 'YAML front matter');
  const yaml = parseYaml(m[1]) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(yaml.license, 'unknown');
  assert.deepEqual(yaml.task_categories, ['text-classification']);
  assert.deepEqual(yaml.size_categories, ['n<1K']);
  assert.deepEqual(yaml.configs[0].data_files, [
    { split: 'train', path: 'data/train.jsonl' },
    { split: 'validation', path: 'data/validation.jsonl' },
    { split: 'test', path: 'data/test.jsonl' },
  ]);
  for (const f of yaml.configs.flatMap((c: { data_files: { path: string }[] }) => c.data_files))
    assert.ok(existsSync(path.join(out, f.path)), f.path);
  const label = yaml.dataset_info.features.find((f: { name: string }) => f.name === 'label');
  assert.deepEqual(label.dtype.class_label.names, { 0: 'ham', 1: 'spam' });
  assert.match(card, /\| train \| 5 \| synthetic/);
  assert.match(card, /\| test \| 6 \| gold test/);
  assert.match(card, /## How it was made/);
  assert.match(card, /Teacher\*\*: llama-cpp SmolLM2-135M-Instruct\.Q4_1\.gguf/);
  assert.match(card, /`ham` 3 \(60\.0%\), `spam` 2 \(40\.0%\)/);
  assert.match(card, /seed \(round 0\): 4; ees \(round 1\): 1/);
  assert.match(card, /gold test accuracy 75\.0%/);
  assert.match(card, /arxiv\.org\/abs\/2310\.13671/);
  assert.equal(sizeCategory(1000), '1K<n<10K');

  const py = datasetsPython();
  if (!py) {
    t.skip(
      'Hugging Face `datasets` is not installed in .tools/finetune-venv (nor at S3_HF_PYTHON): the load_dataset check is skipped; the layout was checked structurally above',
    );
    return;
  }
  const script = `
import json, sys
from datasets import load_dataset
out = sys.argv[1]
ds = load_dataset(out)
js = load_dataset("json", data_dir=out + "/data")
prov = load_dataset(out, "provenance")
print(json.dumps({
  "splits": {k: len(v) for k, v in ds.items()},
  "names": ds["train"].features["label"].names,
  "labels": list(ds["train"]["label"]),
  "json_splits": {k: len(v) for k, v in js.items()},
  "origin": prov["train"][4]["origin"],
}))`;
  const r = spawnSync(py, ['-c', script, out], {
    encoding: 'utf8',
    env: { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HOME: path.join(root, 'hf-home') },
  });
  assert.equal(r.status, 0, r.stderr);
  const loaded = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(loaded.splits, { train: 5, validation: 4, test: 6 });
  assert.deepEqual(loaded.names, ['ham', 'spam']);
  assert.deepEqual(loaded.labels, [0, 1, 0, 1, 0]);
  assert.deepEqual(loaded.json_splits, { train: 5, validation: 4, test: 6 });
  assert.equal(loaded.origin, 'ees');
});

test('export: pair tasks keep text_pair; --format jsonl writes plain text,label rows', () => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-export-'));
  const runDir = fakeRunDir(root, 'pair');
  const out = path.join(root, 'hf');
  exportRun(runDir, out);
  const first = JSON.parse(readFileSync(path.join(out, 'data/train.jsonl'), 'utf8').split('\n')[0]);
  assert.deepEqual(Object.keys(first), ['text', 'text_pair', 'label']);
  assert.match(readFileSync(path.join(out, 'README.md'), 'utf8'), /name: text_pair/);
  const plain = path.join(root, 'plain');
  const s = exportRun(runDir, plain, { format: 'jsonl' });
  assert.deepEqual(
    s.files.map((f) => path.basename(f)),
    ['train.jsonl', 'validation.jsonl', 'test.jsonl'],
  );
  assert.equal(JSON.parse(readFileSync(path.join(plain, 'train.jsonl'), 'utf8').split('\n')[0]).label, 'ham');
  assert.ok(!existsSync(path.join(plain, 'README.md')));
});

test('export --format parquet: the same layout with Parquet files and the ClassLabel in their metadata', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-export-'));
  const out = path.join(root, 'pq');
  const s = exportRun(fakeRunDir(root, 'pair'), out, { format: 'parquet' });
  assert.deepEqual(s.splits, { train: 5, validation: 4, test: 6 });
  const yaml = parseYaml(/^---\n([\s\S]*?)\n---\n/.exec(readFileSync(path.join(out, 'README.md'), 'utf8'))![1]);
  assert.equal(yaml.configs[0].data_files[0].path, 'data/train.parquet');
  // read back in TypeScript (hyparquet, the reader hyparquet-writer is built on)
  const { parquetReadObjects, parquetMetadata } = await import('hyparquet');
  const buf = readFileSync(path.join(out, 'data', 'train.parquet'));
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const rows = (await parquetReadObjects({ file })) as { text: string; text_pair: string; label: bigint | number }[];
  assert.equal(rows.length, 5);
  assert.deepEqual(
    rows.map((r) => Number(r.label)),
    [0, 1, 0, 1, 0],
  );
  assert.equal(rows[0].text_pair, 'hypothesis');
  assert.match(rows[0].text, /ünïcode/);
  const hf = parquetMetadata(file).key_value_metadata?.find((kv) => kv.key === 'huggingface');
  assert.deepEqual(JSON.parse(hf!.value!).info.features.label, { names: ['ham', 'spam'], _type: 'ClassLabel' });

  const py = datasetsPython();
  if (!py) return t.skip('Hugging Face `datasets` is not installed: load_dataset("parquet") not checked');
  const script = `
import json, sys
from datasets import load_dataset
ds = load_dataset("parquet", data_dir=sys.argv[1] + "/data")
card = load_dataset(sys.argv[1])
print(json.dumps({"splits": {k: len(v) for k, v in ds.items()}, "labels": list(ds["train"]["label"]),
  "card_names": card["train"].features["label"].names, "pair": card["train"][0]["text_pair"]}))`;
  const r = spawnSync(py, ['-c', script, out], {
    encoding: 'utf8',
    env: { ...process.env, HF_DATASETS_OFFLINE: '1', HF_HOME: path.join(root, 'hf-home') },
  });
  assert.equal(r.status, 0, r.stderr);
  const loaded = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.deepEqual(loaded, {
    splits: { train: 5, validation: 4, test: 6 },
    labels: [0, 1, 0, 1, 0],
    card_names: ['ham', 'spam'],
    pair: 'hypothesis',
  });
});
