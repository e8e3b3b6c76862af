/**
 * Extractive QA end to end (issue 19): an s3Synthesis run with task.kind "qa" on a real dev server,
 * the fake teacher writing questions for given answer spans, and the span student of the Python
 * worker (tiny random BERT) trained on them: the seed round and one EES round report EM / F1 on the
 * gold test split, the picks are gold validation questions with EM 0, and no test passage is in the
 * contexts pool or validation. Needs .tools/finetune-venv (skipped without it, as finetune.test.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../activities/paths.js';
import type { TeacherPool } from '../../teacher/index.js';
import { createWorker } from '../../workers/worker.js';
import { FINETUNE_PYTHON, finetuneUnavailable, spawnFinetuneWorker } from '../../workers/finetune.js';
import type { ExperimentResult } from '../../workflows/s3Experiment.js';
import type { S3Result } from '../../workflows/types.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { QA_PROPOSE_GRAMMAR } from '../../tasks/qa.js';
import { startDevServer } from '../helpers/temporal.js';

const skip = finetuneUnavailable() ?? false;
const PKG = path.join(PROJECT_ROOT, 'workers', 'finetune');
const WHO = ['the man', 'a woman', 'the dog', 'a cat', 'the boy', 'she', 'he', 'they'];
const PLACES = [
  'the park',
  'the house',
  'the school',
  'the market',
  'the garden',
  'the office',
  'the farm',
  'the town',
];

const readJsonl = (p: string) =>
  readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { text: string; label: string });

describe('s3Synthesis with task.kind "qa" and the span student', { skip }, () => {
  const TS_QUEUE = 's3-qa-wf';
  const TRAIN_QUEUE = 's3-train-qa-test';
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let teachers: TeacherPool;
  let running: Promise<void>;
  let fake: Awaited<ReturnType<typeof startFakeTeacher>>;
  let trainer: ChildProcess | undefined;
  let tiny: string;
  const dir = mkdtempSync(path.join(tmpdir(), 's3-qa-e2e-'));
  const file = path.join(dir, 'qa.jsonl');
  // 40 passages, 2 questions each: where (a place) and who (a person)
  const rows = Array.from({ length: 40 }, (_, p) => {
    const who = WHO[p % 8];
    const place = PLACES[(3 * p) % 8];
    const context = `On day ${p}, ${who} eats food in ${place} and sleeps there.`;
    return [
      {
        id: `w${p}`,
        context,
        question: `where does ${who} eat on day ${p}?`,
        answers: { text: [place], answer_start: [context.indexOf(place)] },
      },
      {
        id: `h${p}`,
        context,
        question: `who eats in ${place} on day ${p}?`,
        answers: { text: [who], answer_start: [context.indexOf(who)] },
      },
    ];
  }).flat();
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

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
    trainer = await spawnFinetuneWorker({
      address: env.connection.options.address as string,
      taskQueue: TRAIN_QUEUE,
      namespace: env.namespace,
    });
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
    'answers "teacher": the teacher proposes spans, kept only when verbatim in the passage',
    { timeout: 600_000 },
    async () => {
      const config = {
        runId: 'qa-teacher',
        runRoot: path.join(dir, 'runs'),
        cacheDir: path.join(dir, 'cache'),
        seed: 42,
        task: {
          kind: 'qa',
          labels: ['answer'],
          source: { type: 'files', validation: file, test: file, validationSize: 16, testSize: 24, answers: 'teacher' },
        },
        // llama-server's API on the fake, with constrained decoding: each call carries the grammar
        teacher: {
          provider: 'llama-server',
          baseURL: fake.baseURL,
          model: 'fake-teacher',
          concurrency: 4,
          grammar: true,
        },
        synthesis: { seedSize: 8, rounds: 0 },
        student: {
          kind: 'finetune',
          finetune: { model: tiny, epochs: 1, batchSize: 8, maxLength: 96, taskQueue: TRAIN_QUEUE, export: false },
        },
        timeouts: { heartbeatSec: 30, activityMin: 10 },
      };
      const handle = await env.client.workflow.start('s3Synthesis', {
        taskQueue: TS_QUEUE,
        workflowId: 'qa-teacher',
        args: [config],
      });
      const result = (await handle.result()) as S3Result;
      assert.equal(result.rounds.length, 1);
      const runDir = path.join(dir, 'runs', 'qa-teacher');
      assert.ok(readJsonl(path.join(runDir, 'gold', 'contexts.jsonl')).every((c) => c.answers === undefined));
      const seed = readJsonl(path.join(runDir, 'synthetic', 'seed.jsonl')) as unknown as {
        text: string;
        label: string;
        answers: { text: string[]; answer_start: number[] };
      }[];
      assert.equal(seed.length, 8);
      for (const x of seed)
        assert.equal(x.text.slice(x.answers.answer_start[0], x.answers.answer_start[0] + x.label.length), x.label);
      // teacher.grammar: every propose call sent QA_PROPOSE_GRAMMAR as llama-server's `grammar` field
      const propose = fake.requestLog.filter((r) => r.prompt.includes('Choose a short answer'));
      assert.ok(propose.length >= 8, `${propose.length} propose calls`);
      assert.ok(propose.every((r) => r.grammar === QA_PROPOSE_GRAMMAR));
    },
  );

  test(
    'seed round and one EES round: EM / F1 per round, picks with EM 0, split by passage',
    { timeout: 600_000 },
    async () => {
      const config = {
        runId: 'qa-wf',
        runRoot: path.join(dir, 'runs'),
        cacheDir: path.join(dir, 'cache'),
        seed: 42,
        task: {
          kind: 'qa',
          item: 'question',
          labels: ['answer'],
          source: { type: 'files', validation: file, test: file, validationSize: 16, testSize: 24 },
        },
        teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 4 },
        synthesis: { seedSize: 16, rounds: 1, maxPerRound: 4 },
        student: {
          kind: 'finetune',
          finetune: {
            model: tiny,
            epochs: 2,
            batchSize: 8,
            lr: 1e-3,
            maxLength: 96,
            taskQueue: TRAIN_QUEUE,
            export: false,
          },
        },
        timeouts: { heartbeatSec: 30, activityMin: 10 },
      };
      const handle = await env.client.workflow.start('s3Synthesis', {
        taskQueue: TS_QUEUE,
        workflowId: 'qa-wf',
        args: [config],
      });
      const result = (await handle.result()) as S3Result;
      assert.equal(result.rounds.length, 2, `seed + 1 EES round (stopReason ${result.stopReason})`);
      for (const r of result.rounds) {
        assert.equal(typeof r.test.exactMatch, 'number');
        assert.equal(typeof r.test.f1, 'number');
        assert.equal(r.test.accuracy, r.test.exactMatch);
      }
      const runDir = path.join(dir, 'runs', 'qa-wf');
      const test = readJsonl(path.join(runDir, 'gold', 'test.jsonl'));
      const validation = readJsonl(path.join(runDir, 'gold', 'validation.jsonl'));
      const contexts = readJsonl(path.join(runDir, 'gold', 'contexts.jsonl'));
      const testPassages = new Set(test.map((x) => x.text));
      assert.ok(validation.every((x) => !testPassages.has(x.text)) && contexts.every((x) => !testPassages.has(x.text)));
      const picked = readJsonl(path.join(runDir, 'round-0', 'picked.jsonl')) as unknown as {
        example: { label: string };
        predicted: string;
      }[];
      for (const p of picked) assert.notEqual(p.predicted.trim().toLowerCase(), p.example.label.toLowerCase());
      const final = readJsonl(path.join(runDir, 'synthetic', 'final.jsonl'));
      assert.ok(final.length > 0);
      for (const x of final) {
        const q = String(x.text_pair);
        assert.ok(q.endsWith('?') && x.text.includes(x.label), JSON.stringify(x));
      }
      // without teacher.grammar no call carries a grammar (the T_query^(2) and T_mis^(2) prompts)
      const asked = fake.requestLog.filter((r) => / is the answer to/.test(r.prompt));
      assert.ok(asked.length > 0 && asked.every((r) => r.grammar === undefined));
      const md = readFileSync(result.reportMd, 'utf8');
      assert.match(md, /\| val EM \| val F1 \| EM 0 \| test EM \| test F1 \|/);
      assert.match(md, /gold test EM \d+\.\d%, F1 \d+\.\d%/);
      console.log(
        md
          .split('\n')
          .filter((l) => l.startsWith('|'))
          .join('\n'),
      );
    },
  );

  test(
    'an experiment: gold-validation, zerogen, seed-only, goldgen, s3 and an active (loss) arm finish with EM / F1',
    { timeout: 600_000 },
    async () => {
      const cfg = {
        experimentId: 'qa-exp',
        runRoot: path.join(dir, 'runs'),
        cacheDir: path.join(dir, 'cache'),
        seeds: [1],
        budget: { examples: 12 },
        quality: true,
        task: {
          kind: 'qa',
          labels: ['answer'],
          source: { type: 'files', validation: file, test: file, validationSize: 16, testSize: 24 },
        },
        teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 4 },
        synthesis: { rounds: 1 },
        student: {
          kind: 'finetune',
          finetune: { model: tiny, epochs: 1, batchSize: 8, maxLength: 96, taskQueue: TRAIN_QUEUE, export: false },
        },
        timeouts: { heartbeatSec: 30, activityMin: 10 },
        arms: [
          ...['gold-validation', 'zerogen', 'seed-only', 'goldgen', 's3'].map((method) => ({ method })),
          { method: 'active', name: 'loss', acquisition: 'loss' },
        ],
      };
      const out = (await env.client.workflow.execute('s3Experiment', {
        taskQueue: TS_QUEUE,
        workflowId: 'qa-exp',
        args: [cfg],
      })) as ExperimentResult;
      const rs = out.summary.results;
      assert.equal(rs.length, 6);
      for (const r of rs) {
        assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
        assert.equal(typeof r.test?.exactMatch, 'number', r.workflowId);
        assert.ok(
          !r.warnings?.some((w) => /data-quality study failed/.test(w)),
          `${r.workflowId}: ${r.warnings?.join('; ')}`,
        );
      }
      assert.match(readFileSync(out.reportMd, 'utf8'), /\| test EM \| test F1 \| val EM \|/);
      console.log(rs.map((r) => `${r.arm}: test EM ${r.test?.exactMatch} F1 ${r.test?.f1}`).join('\n'));
    },
  );
});
