/**
 * End-to-end test of the real thing: our CLI runs the default SpamAssassin job on a small
 * slice, with the embedded SmolLM2 teacher (node-llama-cpp) and a real Temporal dev server.
 * No test double anywhere. Skipped only when S3_SKIP_MODEL=1 (setup did not install the teacher).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DEFAULT_TEACHER_MODEL, PROJECT_ROOT } from '../../activities/paths.js';
import { SyntheticExampleSchema } from '../../domain/types.js';
import { startDevServer } from '../helpers/temporal.js';

const skip = process.env.S3_SKIP_MODEL === '1' ? 'S3_SKIP_MODEL=1: the real teacher is not installed' : false;
let env: TestWorkflowEnvironment;

before(async () => {
  if (!skip) env = await startDevServer();
});
after(async () => {
  await env?.teardown();
});

test('npm start’s job on a SpamAssassin slice with the real teacher and real Temporal', { skip }, async () => {
  assert.ok(
    existsSync(DEFAULT_TEACHER_MODEL),
    `teacher model missing: ${DEFAULT_TEACHER_MODEL} (run scripts/setup.sh)`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 's3-e2e-'));
  const sets = {
    runRoot: path.join(dir, 'runs'),
    cacheDir: path.join(dir, 'cache'), // empty cache: every teacher call is real
    'task.source.validationSize': 30,
    'task.source.testSize': 100,
    'synthesis.seedSize': 12,
    'synthesis.rounds': 1,
    'synthesis.maxPerRound': 6,
    'teacher.maxTokens': 48,
  };
  const args = ['--import', 'tsx', 'scripts/s3.ts', '--address', env.address, '--task-queue', 's3-e2e'];
  args.push('start', 'configs/spamassassin.json', '--run-id', 'e2e');
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  const t0 = Date.now();
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: PROJECT_ROOT, timeout: 540_000 });
  console.log(stdout.split('\n').slice(-14).join('\n'));
  console.log(`e2e wall time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  assert.match(stdout, /workflow id: e2e/);
  assert.match(stdout, /Web UI: +http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/e2e/);
  assert.match(stdout, /final student: gold test accuracy \d+\.\d%/);
  const report = JSON.parse(readFileSync(path.join(dir, 'runs', 'e2e', 'report.json'), 'utf8'));
  assert.ok(report.rounds.length >= 1 && report.rounds.length <= 2);
  assert.equal(report.rounds[0].test.count, 100);
  // what must hold: the real teacher generated (fresh calls, tokens) and the report was written.
  // Not that nothing was retried: on a busy machine a retried attempt is served from the cache.
  assert.ok(report.usage.calls > report.usage.cachedCalls, 'the real teacher was called');
  assert.ok(report.usage.completionTokens > 0);
  const rows = readFileSync(report.dataset.path, 'utf8')
    .trim()
    .split('\n')
    .map((l: string) => SyntheticExampleSchema.parse(JSON.parse(l)));
  assert.ok(rows.length > 0);
  assert.ok(rows.every((r) => r.provenance.teacherModel === 'llama-cpp:SmolLM2-135M-Instruct.Q4_1.gguf'));
  assert.ok(rows.every((r) => ['ham', 'spam'].includes(r.label) && r.text.length >= 10));
});
