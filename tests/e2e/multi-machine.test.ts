/**
 * Several machines on one (issue 17 item 5): a Temporal dev server, a REAL S3-compatible object
 * store (versitygw on loopback, tests/helpers/objectStore.ts) and three worker PROCESSES, each in
 * its own empty temporary working directory, so that nothing connects them but Temporal and the
 * bucket (no shared runs/, no shared cache folder; run and cache folders are left at their
 * relative defaults, so anything written locally would land in a worker's directory):
 * - an orchestrator (`workers/worker.ts --role orchestrator`: the workflows and light activities),
 * - a teacher worker (`--role teacher`), calling the loopback fake teacher (a test double that
 *   counts every call it answers),
 * - the Python training worker (`python -m s3_finetune.worker`, a tiny random BERT made by
 *   `s3_finetune.testing`), or, when .tools/finetune-venv is missing, a TypeScript
 *   `--role student` worker with the default tfidf-logreg student (the test log says which ran).
 * An experiment (two arms, one seed, `artifacts.uri: s3://…`) runs; the teacher worker is SIGKILLed
 * after some teacher calls were paid and a new one starts in another empty directory. The
 * experiment completes; every arm's final dataset and result and the experiment's report are in
 * the bucket (read back from it, and copied out with `s3 pull`, which checks every sha256); no
 * teacher call was answered twice (except, at most, the one in flight at the kill, whose answer the
 * killed worker never received: see tests/workflow/crash.test.ts); no worker directory has a runs/
 * folder.
 *
 * Skipped, with the reason, when versitygw is not built (`S3_OBJECT_STORE=1 bash scripts/setup.sh`).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { openStore } from '../../store/index.js';
import { FINETUNE_PYTHON, finetuneUnavailable } from '../../workers/finetune.js';
import { startFakeTeacher, type FakeTeacher } from '../helpers/fake-teacher.js';
import { writeGoldTask } from '../helpers/fixtures.js';
import { OBJECT_STORE_SKIP, startObjectStore, type ObjectStoreServer } from '../helpers/objectStore.js';
import { startDevServer } from '../helpers/temporal.js';

const Q = { orchestration: 'mm-orch', teacher: 'mm-teacher', student: 'mm-student', train: 'mm-train' };
/** the Python training worker when its venv is built (and S3_MULTI_MACHINE_STUDENT is not
 * "typescript", which tries the fallback), else a TypeScript student worker */
const PYTHON_STUDENT = finetuneUnavailable() === null && process.env.S3_MULTI_MACHINE_STUDENT !== 'typescript';
const EXP = 'mm-exp';
/** the kill lands on this teacher request (counted over the whole experiment) */
const KILL_AT = 6;

let env: TestWorkflowEnvironment | undefined;
let s3: ObjectStoreServer | undefined;
let fake: FakeTeacher | undefined;
const children: ChildProcess[] = [];
/** every worker's working directory, by name */
const dirs: Record<string, string> = {};
const logs: Record<string, string> = {};
/** other throwaway folders (the tiny model, the pull's directory) */
const scratch: string[] = [];

before(async () => {
  if (OBJECT_STORE_SKIP) return;
  [env, s3] = await Promise.all([startDevServer(), startObjectStore()]);
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await fake?.close();
  await s3?.stop();
  await env?.teardown();
  for (const d of [...Object.values(dirs), ...scratch]) rmSync(d, { recursive: true, force: true });
});

/** The environment of a worker process: Temporal, the bucket's credentials, the queues; nothing else of ours. */
function workerEnv(): NodeJS.ProcessEnv {
  const rest = { ...process.env };
  delete rest.AWS_SESSION_TOKEN; // only the bucket's root credentials
  delete rest.AWS_PROFILE;
  return {
    ...rest,
    TEMPORAL_ADDRESS: env!.address,
    TEMPORAL_NAMESPACE: env!.namespace ?? 'default',
    AWS_ACCESS_KEY_ID: s3!.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey,
    S3_TASK_QUEUE: Q.orchestration,
    S3_TEACHER_TASK_QUEUE: Q.teacher,
    S3_STUDENT_TASK_QUEUE: Q.student,
    S3_TRAIN_TASK_QUEUE: Q.train,
  };
}

/**
 * Starts one worker process in a new empty directory, resolved once it prints `ready`.
 * @throws Error with its output when it exits first or is not ready within 120 s
 */
/** A temporary folder removed after the tests (not a worker's working directory). */
function scratchDir(prefix: string): string {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}

function startProcess(name: string, command: string, args: string[], ready: string): Promise<ChildProcess> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), `s3-mm-${name}-`));
  dirs[name] = cwd;
  const extra = {
    // each "machine" its own local read-through copy of the store (store/localcache.ts), outside
    // its working directory (which must stay empty)
    S3_STORE_LOCAL_CACHE: scratchDir(`s3-mm-${name}-store-copy-`),
    ...(name.startsWith('python') ? { S3_FINETUNE_SCRATCH: path.join(cwd, 'scratch') } : {}),
  };
  const child = spawn(command, args, { cwd, env: { ...workerEnv(), ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  logs[name] = '';
  const keep = (b: Buffer) => (logs[name] = (logs[name] + b.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after 120 s:\n${logs[name]}`)), 120_000);
    const check = () => {
      if (logs[name].includes(ready)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve(child);
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${logs[name]}`));
    });
  });
}

/** `workers/worker.ts --role <role>` (tsx resolved from this project: the cwd is empty). */
const tsWorker = (name: string, role: string, queue: string) =>
  startProcess(
    name,
    process.execPath,
    ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'workers', 'worker.ts'), '--role', role],
    `task queue "${queue}": ${role === 'orchestrator' ? 'orchestration' : role}`,
  );

test(
  'orchestrator, teacher and training workers in separate empty directories share only Temporal and the bucket; the teacher worker is SIGKILLed and replaced',
  { skip: OBJECT_STORE_SKIP ?? false, timeout: 420_000 },
  async () => {
    const t0 = Date.now();
    const gold = writeGoldTask({ validation: 24, test: 30 });
    let tiny: string | undefined;
    if (PYTHON_STUDENT) {
      scratch.push(mkdtempSync(path.join(os.tmpdir(), 's3-mm-tiny-bert-')));
      tiny = path.join(scratch[scratch.length - 1], 'model');
      execFileSync(FINETUNE_PYTHON, ['-m', 's3_finetune.testing', tiny], { cwd: os.tmpdir() });
    }
    console.log(
      PYTHON_STUDENT
        ? 'student: the Python training worker (tiny random BERT, student.kind finetune)'
        : `student: a TypeScript --role student worker with tfidf-logreg (the Python worker: ${finetuneUnavailable() ?? 'not asked for'})`,
    );

    let killed: { at: number; answered: number } | undefined;
    /** the call in flight when the kill landed: its answer may or may not have got out before the socket closed */
    let interrupted: string | undefined;
    let teacher: ChildProcess;
    let replacement: Promise<ChildProcess> | undefined;
    let requests = 0;
    fake = await startFakeTeacher({
      delayMs: 150,
      onRequest: (r) => {
        if (!killed && ++requests === KILL_AT) {
          killed = { at: Date.now(), answered: fake!.answered };
          interrupted = JSON.stringify([r.prompt, r.seed ?? null]);
          teacher.kill('SIGKILL');
          replacement = tsWorker('teacher-2', 'teacher', Q.teacher);
        }
      },
    });

    const [orchestrator] = await Promise.all([
      tsWorker('orchestrator', 'orchestrator', Q.orchestration),
      tsWorker('teacher-1', 'teacher', Q.teacher).then((c) => (teacher = c)),
      PYTHON_STUDENT
        ? startProcess('python-trainer', FINETUNE_PYTHON, ['-m', 's3_finetune.worker'], 's3-train worker on')
        : tsWorker('student', 'student', Q.student),
    ]);
    const startup = (Date.now() - t0) / 1000;

    const uri = `s3://${s3!.bucket}/exp`;
    const config = {
      experimentId: EXP,
      artifacts: { uri, endpoint: s3!.endpoint },
      taskQueues: { teacher: Q.teacher, student: Q.student },
      task: {
        kind: 'single' as const,
        item: 'review',
        labels: ['positive', 'negative'],
        source: { type: 'files' as const, validation: gold.validation, test: gold.test },
      },
      // one call at a time and arms one after the other: exactly one call is in flight at the kill
      teacher: { provider: 'openai' as const, baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 1 },
      ...(PYTHON_STUDENT
        ? {
            student: {
              kind: 'finetune' as const,
              finetune: { model: tiny!, epochs: 1, batchSize: 8, lr: 1e-3, maxLength: 16, taskQueue: Q.train },
            },
          }
        : {}),
      synthesis: { rounds: 1, numRationales: 4 },
      // the killed worker's activity is retried on the new one within a heartbeat timeout
      timeouts: { heartbeatSec: 5, activityMin: 10 },
      seeds: [1],
      budget: { examples: 12 },
      arms: [{ method: 's3' as const }, { method: 'zerogen' as const }],
      parallelism: 1,
      quality: false,
    };
    const out = (await env!.client.workflow.execute('s3Experiment', {
      taskQueue: Q.orchestration,
      workflowId: EXP,
      args: [config],
    })) as { summary: { results: { status: string; error?: string; workflowId: string; arm?: string }[] } };
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(killed, `the teacher worker was never killed: the fake teacher saw ${fake.requests} requests`);
    const teacher2 = await replacement!;
    for (const r of out.summary.results) assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
    assert.equal(out.summary.results.length, 2);

    // every activity ran on its role's queue, and teacher work was done on both teacher workers
    const arms = ['s3', 'zerogen'];
    const handle = env!.client.workflow.getHandle(`${EXP}/s3/seed-1`);
    const queues = new Map<string, Set<string>>();
    const identities = new Set<string>();
    for (const ev of (await handle.fetchHistory()).events ?? []) {
      const a = ev.activityTaskScheduledEventAttributes;
      if (a?.activityType?.name)
        queues.set(a.activityType.name, (queues.get(a.activityType.name) ?? new Set()).add(a.taskQueue?.name ?? ''));
      const started = ev.activityTaskStartedEventAttributes;
      if (started?.identity) identities.add(started.identity);
    }
    assert.deepEqual([...queues.get('synthesizeSeed')!], [Q.teacher]);
    assert.deepEqual([...queues.get('trainAndEvaluate')!], [PYTHON_STUDENT ? Q.train : Q.student]);
    assert.deepEqual([...queues.get('prepareTask')!], [Q.orchestration]);
    assert.ok(
      [...identities].some((id) => id.startsWith(`${teacher2.pid}@`)),
      `the replacement teacher worker (pid ${teacher2.pid}) ran activities of the s3 arm: ${[...identities].join(', ')}`,
    );

    // every artifact in the bucket, read back from it
    process.env.AWS_ACCESS_KEY_ID = s3!.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3!.secretAccessKey;
    const store = openStore({ uri: `${uri}/`, endpoint: s3!.endpoint });
    const keys = await store.list(`${EXP}/`);
    for (const k of ['report.md', 'report.html', 'results.json', 'results.jsonl'])
      assert.ok(keys.includes(`${EXP}/${k}`), `the experiment's ${k} in the bucket (${keys.join(', ')})`);
    const results = JSON.parse((await store.get(`${EXP}/results.json`)).toString('utf8')) as unknown;
    const md = (await store.get(`${EXP}/report.md`)).toString('utf8');
    for (const arm of arms) {
      for (const k of ['synthetic/final.jsonl', 'arm-result.json', 'config.json', 'gold/test.jsonl'])
        assert.ok(keys.includes(`${EXP}/${arm}/seed-1/${k}`), `${arm}'s ${k} in the bucket`);
      const final = await store.get(`${EXP}/${arm}/seed-1/synthetic/final.jsonl`);
      assert.ok(final.toString('utf8').trim().split('\n').length > 0, `${arm}'s final dataset has rows`);
      assert.match(md, new RegExp(`\\b${arm}\\b`), `the report (written from the bucket) has the ${arm} arm`);
      assert.match(JSON.stringify(results), new RegExp(`"${arm}"`), `results.json has the ${arm} arm`);
    }
    if (PYTHON_STUDENT)
      assert.ok(
        keys.some((k) => /\/round-1\/picked\.jsonl$/.test(k)),
        "the Python worker's picks (round-1/picked.jsonl) in the bucket",
      );
    assert.ok((await store.list('cache/teacher/')).length > 0, 'the teacher cache is in the bucket');
    const html = (await store.get(`${EXP}/report.html`)).toString('utf8');
    assert.match(html, /<svg/, 'the report has its charts');

    // the bucket is all there is: `s3 pull` from yet another empty directory copies and verifies it
    const pullDir = mkdtempSync(path.join(os.tmpdir(), 's3-mm-pull-'));
    scratch.push(pullDir);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        path.join(PROJECT_ROOT, 'scripts', 's3.ts'),
        'pull',
        EXP,
        'copy',
        '--uri',
        uri,
        '--endpoint',
        s3!.endpoint,
        '--quiet',
      ],
      { cwd: pullDir, env: { ...workerEnv(), NODE_NO_WARNINGS: '1' }, timeout: 120_000 },
    );
    const pulled = /pulled (\d+) files, .* \((\d+) bytes; (\d+) new or changed\)/.exec(stdout);
    assert.ok(pulled, stdout);
    assert.equal(Number(pulled[1]), keys.length, 'every object of the experiment pulled');
    assert.equal(Number(pulled[3]), keys.length);
    assert.match(stdout, new RegExp(`sha256 verified: ${keys.length} against the store's record`));
    for (const k of keys) assert.ok(existsSync(path.join(pullDir, 'copy', k.slice(EXP.length + 1))), k);

    // no teacher call paid twice, but for the one in flight at the kill
    const twice = fake.answeredTwice();
    assert.deepEqual(
      twice.filter((k) => k !== interrupted),
      [],
      'a finished teacher call was answered twice',
    );
    assert.ok(fake.answered > killed.answered, 'the new teacher worker called the teacher');

    // nothing local: no worker directory has a runs/ folder (nor any other artifact folder)
    for (const [name, cwd] of Object.entries(dirs)) {
      const entries = readdirSync(cwd).filter((e) => e !== 'scratch');
      assert.equal(
        existsSync(path.join(cwd, 'runs')),
        false,
        `${name}'s directory has no runs/ (${entries.join(', ')})`,
      );
      assert.deepEqual(entries, [], `${name} wrote nothing in its working directory`);
    }
    assert.equal(orchestrator.exitCode, null, 'the orchestrator is still running');
    console.log(
      `multi-machine: ${seconds.toFixed(1)} s (workers ready after ${startup.toFixed(1)} s); teacher worker killed ` +
        `after ${killed.answered} answered calls, ${((Date.now() - killed.at) / 1000).toFixed(1)} s before the end; ` +
        `${fake.answered} calls answered, ${fake.aborted} aborted, answered twice: ${twice.length} ` +
        `(the interrupted one: ${twice.includes(interrupted!) ? 'yes' : 'no'}); ${keys.length} objects in the bucket; ` +
        `activity workers seen in the s3 arm: ${identities.size}`,
    );
  },
);
