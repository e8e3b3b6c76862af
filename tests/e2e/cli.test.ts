/**
 * `s3 start`, `s3 progress` and `s3 export` as a user runs them, as child processes against a
 * throwaway dev server and the loopback fake teacher: `--json` output parses, the worker's SDK log
 * goes to runs/<runId>/worker.log, and a failing run (an unknown label in the data) prints a
 * short explanation, the file and line and where the log is, with no SDK log or stack trace.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { startFakeTeacher, type FakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { startDevServer } from '../helpers/temporal.js';

let env: TestWorkflowEnvironment;
let fake: FakeTeacher;
let gold: ReturnType<typeof writeGoldTask>;

before(async () => {
  env = await startDevServer();
  fake = await startFakeTeacher();
  gold = writeGoldTask();
});
after(async () => {
  await fake?.close();
  await env?.teardown();
});

/** Runs the CLI against the test server; never throws for a non-zero exit. */
async function s3(taskQueue: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const address = env.connection.options.address as string;
  const argv = ['--import', 'tsx', 'scripts/s3.ts', '--address', address, '--task-queue', taskQueue, ...args];
  try {
    const r = await promisify(execFile)(process.execPath, argv, { cwd: PROJECT_ROOT, timeout: 300_000 });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
  }
}

test(
  's3 start --json: stdout is the result as JSON; the SDK log is in worker.log; progress --json and export work on the run',
  { timeout: 300_000 },
  async () => {
    const file = path.join(gold.dir, 'ok.json');
    writeFileSync(
      file,
      JSON.stringify(fakeRunConfig(gold, fake.baseURL, { runId: 'cli-ok', seedSize: 12, rounds: 1 })),
    );
    const r = await s3('s3-cli-ok', 'start', file, '--json', '--db', path.join(gold.dir, 'unused.db'));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      status: string;
      runId: string;
      workerLog: string;
      result: { rounds: unknown[]; dataset: { path: string; count: number } };
    };
    assert.equal(out.status, 'completed');
    assert.equal(out.runId, 'cli-ok');
    assert.equal(out.result.rounds.length, 2);
    assert.match(r.stderr, /workflow id: cli-ok/, 'status lines go to stderr');
    const runDir = path.join(gold.dir, 'runs', 'cli-ok');
    assert.equal(path.resolve(out.workerLog), path.join(runDir, 'worker.log'));
    assert.ok(existsSync(out.workerLog));

    const p = await s3('s3-cli-ok', 'progress', 'cli-ok', '--json');
    assert.equal(p.code, 0, p.stderr);
    const progress = JSON.parse(p.stdout) as { status: string; result: { rounds: unknown[] } };
    assert.equal(progress.status, 'COMPLETED');
    assert.equal(progress.result.rounds.length, 2);
    const human = await s3('s3-cli-ok', 'progress', 'cli-ok');
    assert.match(human.stdout, /cli-ok: phase completed\n {2}round 0: train \d+/);

    const dir = path.join(gold.dir, 'exported');
    const e = await s3('s3-cli-ok', 'export', runDir, '--out', dir, '--json');
    assert.equal(e.code, 0, e.stderr);
    const summary = JSON.parse(e.stdout) as { splits: Record<string, number>; labels: string[] };
    assert.equal(summary.splits.train, out.result.dataset.count);
    assert.deepEqual(summary.labels, ['positive', 'negative']);
    const train = readFileSync(path.join(dir, 'data', 'train.jsonl'), 'utf8')
      .trim()
      .split('\n');
    assert.equal(train.length, out.result.dataset.count);
    assert.match(readFileSync(path.join(dir, 'README.md'), 'utf8'), /^---\nconfigs:|^---\n[\s\S]*configs:/);
  },
);

test(
  'a failing run prints at most 10 lines: what failed, the file and line, the next step and the log; no SDK log or stack trace',
  { timeout: 300_000 },
  async () => {
    const bad = path.join(gold.dir, 'bad-validation.jsonl');
    const rows = readFileSync(gold.validation, 'utf8').trim().split('\n');
    rows[2] = JSON.stringify({ id: 'x', text: 'some text', label: 'neutral' });
    writeFileSync(bad, rows.join('\n') + '\n');
    const config = fakeRunConfig(gold, fake.baseURL, { runId: 'cli-bad', seedSize: 8, rounds: 0 });
    (config.task.source as { validation: string }).validation = bad;
    const file = path.join(gold.dir, 'bad.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await s3('s3-cli-bad', 'start', file, '--db', path.join(gold.dir, 'unused.db'));
    assert.equal(r.code, 1);
    const printed = (r.stdout + r.stderr).trimEnd().split('\n');
    console.log(printed.join('\n'));
    assert.ok(printed.length <= 10, `${printed.length} lines:\n${printed.join('\n')}`);
    const text = printed.join('\n');
    assert.match(text, /failed in activity prepareTask: InvalidInput: .*bad-validation\.jsonl, line 3:/);
    assert.match(text, /next: fix the input above/);
    assert.doesNotMatch(text, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(text, /\[(WARN|ERROR)\]|sdkComponent|taskToken/, 'no SDK log');
    const log = /full log: (\S+)/.exec(text)?.[1];
    assert.ok(log && existsSync(log), `the log the CLI names exists: ${log}`);
    assert.match(
      readFileSync(log, 'utf8'),
      /\[WARN\] .*(Activity failed|activity failed)/i,
      'the SDK log is in the file',
    );
  },
);

test(
  'Ctrl-C (SIGINT) during a run: a short "interrupted" message and no stack trace; the same command again finishes the run',
  { timeout: 300_000 },
  async () => {
    const slow = await startFakeTeacher({ delayMs: 300 });
    try {
      const file = path.join(gold.dir, 'interrupted.json');
      writeFileSync(
        file,
        JSON.stringify(fakeRunConfig(gold, slow.baseURL, { runId: 'cli-sigint', seedSize: 16, rounds: 1 })),
      );
      const address = env.connection.options.address as string;
      const argv = ['--import', 'tsx', 'scripts/s3.ts', '--address', address, '--task-queue', 's3-cli-sigint'];
      const args = [...argv, 'start', file, '--db', path.join(gold.dir, 'unused.db')];
      const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // interrupt once the teacher is being called (the run is under way on the server)
      for (let i = 0; i < 1200 && slow.answered < 3; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(slow.answered >= 3, `the run never reached the teacher:\n${out}`);
      child.kill('SIGINT');
      const code = await exited;
      console.log(out);
      assert.equal(code, 1, out);
      assert.match(out, /interrupted: this command's worker stopped/);
      assert.match(out, /run the same command again/);
      assert.doesNotMatch(out, /^\s+at /m, 'no stack trace');
      assert.doesNotMatch(out, /Channel has been shut down|Error: /, 'no SDK error');

      const again = await s3('s3-cli-sigint', 'start', file, '--json', '--db', path.join(gold.dir, 'unused.db'));
      assert.equal(again.code, 0, again.stderr);
      const result = JSON.parse(again.stdout) as { status: string; result: { rounds: unknown[] } };
      assert.equal(result.status, 'completed');
      assert.equal(result.result.rounds.length, 2);
    } finally {
      await slow.close();
    }
  },
);
