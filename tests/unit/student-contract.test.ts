/**
 * The trainAndEvaluate contract (domain/studentContract.ts) from the TypeScript side: the shared
 * fixture payloads parse, the JSON Schemas checked in for the Python worker are up to date, the
 * TypeScript acquisition functions give the picks recorded in the shared acquisition fixture (the
 * Python worker's tests check theirs against the same file), the config refuses the acquisition
 * functions the Python worker refuses, and the real TypeScript student's
 * Evaluation parses with EvaluationSchema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { z } from 'zod';
import { pickBatch, type AcquisitionName } from '../../acquisition/index.js';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { trainAndEvaluate, type Evaluation } from '../../activities/student.js';
import type { TaskRefs } from '../../activities/prepare.js';
import { FINETUNE_ACQUISITIONS, parseConfig } from '../../config/schema.js';
import { writeJsonl } from '../../data/jsonl.js';
import { EvaluationSchema, TaskRefsSchema, TrainInputSchema } from '../../domain/studentContract.js';
import { syncContract } from '../../scripts/contract.js';
import { writeGoldTask } from '../helpers/fixtures.js';

const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'student-contract');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'));

// compile-time: the schemas and the TypeScript interfaces describe the same shapes
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const evaluationMatches: Same<z.infer<typeof EvaluationSchema>, Evaluation> = true;
const taskRefsMatch: Same<z.infer<typeof TaskRefsSchema>, TaskRefs> = true;

test('the shared fixture payload is a valid trainAndEvaluate input routed to the finetune student', () => {
  assert.ok(evaluationMatches && taskRefsMatch);
  const input = TrainInputSchema.parse(fixture('train-input.json'));
  assert.equal(input.config.student.kind, 'finetune');
  assert.equal(input.config.student.finetune.taskQueue, 's3-train');
});

test('the JSON Schemas in workers/finetune/contract are generated from the zod schemas (npm run s3 -- contract)', async () => {
  assert.deepEqual(await syncContract(true), []);
});

test('the config refuses exactly the acquisition functions the Python worker refuses (contract.py SUPPORTED_ACQUISITIONS)', () => {
  const py = readFileSync(path.join(PROJECT_ROOT, 'workers', 'finetune', 's3_finetune', 'contract.py'), 'utf8');
  const m = /^SUPPORTED_ACQUISITIONS = \(([^)]*)\)/m.exec(py);
  assert.ok(m, 'contract.py defines SUPPORTED_ACQUISITIONS as a tuple');
  const names = [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
  assert.deepEqual(names, [...FINETUNE_ACQUISITIONS]);
});

test('TypeScript acquisition picks equal the shared fixture (the Python worker checks the same file)', () => {
  const fx = fixture('acquisition.json') as {
    ids: string[];
    probs: number[][];
    labels: number[];
    expected: Record<string, unknown>;
  };
  assert.ok(Object.keys(fx.expected).length >= 4);
  for (const [key, want] of Object.entries(fx.expected)) {
    const [name, batch] = key.split('/');
    const got = pickBatch(name as AcquisitionName, { ...fx, batch: Number(batch), seed: 1 });
    assert.deepEqual(got, want, key);
  }
});

test('the TypeScript student output parses with EvaluationSchema', async () => {
  const gold = writeGoldTask({ validation: 20, test: 20 });
  const config = parseConfig({
    runId: 'contract',
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, 'cache'),
    task: { labels: ['positive', 'negative'], source: { type: 'files', validation: gold.validation, test: gold.test } },
  });
  const ref = (p: string) =>
    writeJsonl(
      p,
      readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    );
  const task: TaskRefs = {
    runDir: path.join(gold.dir, 'runs', 'contract'),
    validation: await ref(gold.validation),
    test: await ref(gold.test),
    contexts: null,
  };
  const ev = await trainAndEvaluate({ config, task, train: [task.validation], round: 0 });
  const parsed = EvaluationSchema.parse(ev);
  assert.equal(parsed.validation.count, 20);
});
