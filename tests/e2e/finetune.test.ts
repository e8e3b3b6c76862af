/**
 * The finetune student (issue 6): the Python worker's own tests (pytest: tiny random BERT —
 * two steps, contract shape, determinism, cancellation, ONNX parity, SIGKILL + resume from the
 * checkpoint on a real dev server; the real all-MiniLM-L6-v2 for one short epoch) and ruff, then
 * an s3Synthesis run on a real dev server with both workers (TypeScript on the workflow's queue,
 * Python on the training queue) and the fake teacher, whose exported student is loaded in
 * TypeScript (`s3 predict`'s loader) and must give the probabilities the Python worker gave.
 *
 * Everything here needs .tools/finetune-venv (`S3_FINETUNE=1 bash scripts/setup.sh`; `.ci/run`
 * builds it); without it every test is skipped with that reason.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { PickedRowSchema } from '../../domain/types.js';
import { encodeTruncated, loadExportedStudent } from '../../scripts/predict.js';
import type { TeacherPool } from '../../teacher/index.js';
import { createWorker } from '../../workers/worker.js';
import { FINETUNE_PYTHON, finetuneUnavailable, pollerGone, spawnFinetuneWorker } from '../../workers/finetune.js';
import type { S3Result } from '../../workflows/types.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { startDevServer } from '../helpers/temporal.js';

const skip = finetuneUnavailable() ?? false;
const PKG = path.join(PROJECT_ROOT, 'workers', 'finetune');

test('pollerGone: a listed poller of this host whose process has exited is gone; live, remote and custom ones are not', () => {
  // the server lists a stopped worker's last poll for minutes; s3 start once "reused" such a
  // worker and the run waited for a worker that no longer existed
  const exited = spawnSync(process.execPath, ['-e', '0']);
  assert.equal(exited.status, 0);
  assert.equal(pollerGone(`${exited.pid}@${hostname()}`), true);
  assert.equal(pollerGone(`${process.pid}@${hostname()}`), false);
  assert.equal(pollerGone(`${exited.pid}@another-host-${hostname()}`), false);
  assert.equal(pollerGone('my-training-box'), false);
  assert.equal(pollerGone(undefined), false);
});

describe('finetune worker: Python tests and lint', { skip }, () => {
  test('ruff check and ruff format --check', () => {
    for (const args of [
      ['check', '.'],
      ['format', '--check', '.'],
    ]) {
      const r = spawnSync(FINETUNE_PYTHON, ['-m', 'ruff', ...args], { cwd: PKG, encoding: 'utf8' });
      assert.equal(r.status, 0, `ruff ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    }
  });

  test('pytest workers/finetune/tests', { timeout: 900_000 }, () => {
    const r = spawnSync(FINETUNE_PYTHON, ['-m', 'pytest', '-q', '-s', '-p', 'no:cacheprovider', 'tests'], {
      cwd: PKG,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const out = r.stdout + r.stderr;
    // the measured lines (ONNX parity, MiniLM timing, resume step) go to the test log
    for (const line of out.split('\n'))
      if (/ONNX vs PyTorch|MiniLM|resumed from|passed|skipped/.test(line)) console.log(line);
    assert.equal(r.status, 0, out.slice(-6000));
    // pytest's own failure lines (not a dev server's log line such as 'failed reaching server')
    assert.doesNotMatch(out, /^FAILED |\b\d+ failed\b/m);
  });
});

describe('s3Synthesis with student.kind "finetune" on two workers', { skip }, () => {
  const TS_QUEUE = 's3-finetune-wf';
  const TRAIN_QUEUE = 's3-train-wf-test';
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let teachers: TeacherPool;
  let running: Promise<void>;
  let fake: Awaited<ReturnType<typeof startFakeTeacher>>;
  let trainer: ChildProcess | undefined;
  let tiny: string;
  const gold = writeGoldTask({ validation: 24, test: 30 });

  before(async () => {
    tiny = path.join(mkdtempSync(path.join(tmpdir(), 's3-tiny-bert-')), 'model');
    execFileSync(FINETUNE_PYTHON, ['-m', 's3_finetune.testing', tiny], { cwd: PKG });
    env = await startDevServer();
    fake = await startFakeTeacher();
    ({ worker, teachers } = await createWorker({
      connection: env.nativeConnection,
      namespace: env.namespace,
      taskQueue: TS_QUEUE,
    }));
    running = worker.run();
    const address = env.connection.options.address as string;
    trainer = await spawnFinetuneWorker({ address, taskQueue: TRAIN_QUEUE, namespace: env.namespace });
  });

  after(async () => {
    trainer?.kill('SIGTERM');
    worker?.shutdown();
    await running;
    await teachers?.close();
    await fake?.close();
    await env?.teardown();
  });

  test(
    's3 start with student.kind finetune starts a Python worker when none polls, and stops it',
    { timeout: 600_000 },
    async () => {
      const queue = 's3-train-cli-test';
      const file = path.join(gold.dir, 'ft-cli.json');
      const config = {
        ...fakeRunConfig(gold, fake.baseURL, { runId: 'ft-cli', seedSize: 16, rounds: 0 }),
        student: { kind: 'finetune', finetune: { model: tiny, epochs: 1, batchSize: 8, lr: 1e-3, taskQueue: queue } },
      };
      writeFileSync(file, JSON.stringify(config));
      const args = ['--import', 'tsx', 'scripts/s3.ts', '--address', env.connection.options.address as string];
      args.push('--task-queue', 's3-finetune-cli', 'start', file, '--db', path.join(gold.dir, 'unused.db'));
      const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: PROJECT_ROOT, timeout: 540_000 });
      const pid = Number(/finetune worker: started \(pid (\d+)\)/.exec(stdout)?.[1]);
      assert.ok(pid > 0, stdout);
      assert.match(stdout, /final student: gold test accuracy \d+\.\d%/);
      assert.throws(() => process.kill(pid, 0), 'the Python worker started by s3 start has exited');
    },
  );

  test(
    'trains on the Python worker, reports, and the ONNX export predicts the same in TypeScript',
    { timeout: 600_000 },
    async () => {
      const config = {
        ...fakeRunConfig(gold, fake.baseURL, { runId: 'ft-wf', seedSize: 24, rounds: 1 }),
        student: {
          kind: 'finetune',
          // maxLength 8 cuts most of the 7–9-token fixture texts: the TypeScript loader must truncate as the
          // Python tokenizer does (special tokens kept) for the probabilities below to agree
          finetune: { model: tiny, epochs: 2, batchSize: 8, lr: 1e-3, maxLength: 8, taskQueue: TRAIN_QUEUE },
        },
      };
      const handle = await env.client.workflow.start('s3Synthesis', {
        taskQueue: TS_QUEUE,
        workflowId: 'ft-wf',
        args: [config],
      });
      const result = (await handle.result()) as S3Result;
      assert.equal(result.rounds.length, 2, `seed + 1 EES round (stopReason ${result.stopReason})`);
      for (const r of result.rounds) {
        assert.equal(r.validation.count, 24);
        assert.equal(r.test.count, 30);
      }
      assert.ok(existsSync(result.reportMd) && existsSync(result.reportJson));

      // every trainAndEvaluate went to the training queue, every other activity stayed on the workflow's
      const { events } = await handle.fetchHistory();
      const scheduled = (events ?? []).flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        return a ? [[a.activityType?.name, a.taskQueue?.name] as const] : [];
      });
      const trains = scheduled.filter(([name]) => name === 'trainAndEvaluate');
      assert.equal(trains.length, 2);
      for (const [name, queue] of scheduled) assert.equal(queue, name === 'trainAndEvaluate' ? TRAIN_QUEUE : TS_QUEUE);

      // the last round's export, loaded in TypeScript, gives the probabilities the Python worker scored with
      const runDir = path.join(gold.dir, 'runs', 'ft-wf');
      const student = await loadExportedStudent(path.join(runDir, 'student'));
      assert.deepEqual(student.labels, ['positive', 'negative']);
      const validation = readFileSync(gold.validation, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: string; text: string; label: string });
      const probs = await student.predictProba(validation);
      const predicted = probs.map((p) => student.labels[p.indexOf(Math.max(...p))]);
      const accuracy = predicted.filter((p, i) => p === validation[i].label).length / validation.length;
      assert.equal(accuracy, result.rounds[1].validation.accuracy);
      const rows = readFileSync(path.join(runDir, 'round-1', 'picked.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => PickedRowSchema.parse(JSON.parse(l)));
      assert.ok(rows.length > 0, 'the tiny student misclassified nothing: no probabilities to compare');
      let maxDiff = 0;
      for (const r of rows) {
        const pGold = probs[r.index][student.labels.indexOf(r.example.label)];
        maxDiff = Math.max(maxDiff, Math.abs(pGold - Math.exp(-r.loss)));
        assert.equal(predicted[r.index], r.predicted);
      }
      console.log(
        `TypeScript (transformers.js) vs Python probabilities of ${rows.length} rows: max abs diff ${maxDiff.toExponential(2)}`,
      );
      assert.ok(maxDiff < 1e-4, `max abs diff ${maxDiff}`);
    },
  );
});

describe('s3 predict tokenizes like the Python tokenizer', { skip }, () => {
  test('truncation to max_length keeps the special tokens and splits pairs longest-first, as Hugging Face tokenizers do', async () => {
    const dir = path.join(PROJECT_ROOT, 'models', 'all-MiniLM-L6-v2-hf');
    const { AutoTokenizer, env: hf } = await import('@huggingface/transformers');
    hf.allowRemoteModels = false;
    hf.localModelPath = path.dirname(dir) + '/';
    const tokenizer = await AutoTokenizer.from_pretrained(path.basename(dir));
    const long = 'the quick brown fox jumps over the lazy dog near the river bank today';
    const cases: { text: string; pair?: string; max: number }[] = [
      { text: long, max: 8 },
      { text: 'short one', max: 8 },
      { text: long, pair: 'a b', max: 9 },
      { text: 'a b', pair: long, max: 9 },
      { text: long, pair: long, max: 10 },
      { text: long, pair: long + ' again and again', max: 11 },
      { text: 'one two three', pair: 'four five six', max: 6 },
    ];
    const script = [
      'import json, sys',
      'from transformers import AutoTokenizer',
      'tok = AutoTokenizer.from_pretrained(sys.argv[1])',
      'out = []',
      'for c in json.load(sys.stdin):',
      '    enc = tok(c["text"], c.get("pair"), truncation=True, max_length=c["max"])',
      '    out.append([enc["input_ids"], enc["token_type_ids"]])',
      'print(json.dumps(out))',
    ].join('\n');
    const python = JSON.parse(
      execFileSync(FINETUNE_PYTHON, ['-c', script, dir], { input: JSON.stringify(cases), encoding: 'utf8' }),
    ) as [number[], number[]][];
    cases.forEach((c, i) => {
      const enc = encodeTruncated(tokenizer, [c.text], c.pair !== undefined ? [c.pair] : undefined, c.max);
      const ids = Array.from(enc.input_ids.data as BigInt64Array, Number);
      const types = Array.from(enc.token_type_ids.data as BigInt64Array, Number);
      assert.deepEqual([ids, types], python[i], JSON.stringify(c));
    });
  });
});
