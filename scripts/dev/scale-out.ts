/**
 * Measurement (issue 17): the SpamAssassin experiment (configs/experiments/spamassassin.json,
 * 7 arms × 3 seeds = 21 children, parallelism 2) run
 *   A. by one worker `--role all`, and
 *   B. by one worker `--role orchestration,student` and two workers `--role teacher`,
 * every worker a separate process in its own empty temporary directory, sharing only a Temporal
 * dev server and a versitygw bucket. The teacher is the loopback fake teacher
 * (tests/helpers/fake-teacher.ts, a TEST DOUBLE: deterministic templates, not a model) with a
 * fixed delay per answer, standing in for a remote OpenAI-compatible endpoint; the workers'
 * `teacher.concurrency` stays at its default. Each run has its own `artifacts.uri` and
 * `artifacts.cacheUri`, so run B reuses nothing of run A.
 *
 *   node --import tsx scripts/dev/scale-out.ts [--delay 300] [--runs A,B] [--port-base 7280] [--out FILE]
 *
 * Ports: Temporal `port-base` (its UI +1), versitygw +2, the fake teacher +3. Needs versitygw
 * (`S3_OBJECT_STORE=1 bash scripts/setup.sh`) and the Temporal CLI (scripts/setup.sh).
 * Prints one JSON object per run (and writes them all to `--out` when given): completed children,
 * wall time (experiment start to result; workers started before), teacher calls answered by the
 * fake (paid) and answered twice within the run, the arms' `usage.calls` / `usage.cachedCalls`,
 * teacher activities and their calls by worker (from the children's histories), and per arm and
 * seed the test accuracy. Everything it starts is stopped at the end; its temporary folder is
 * removed unless `--keep`.
 */
import { TEACHER_ACTIVITIES } from '../../workers/roles.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { loadExperiment } from '../../config/load.js';
import type { ExperimentResult } from '../../workflows/s3Experiment.js';
import { temporalBin, SEARCH_ATTRIBUTES } from '../devserver.js';
import { accepts, createBucket, objectStoreBin, versitygwArgs } from '../store.js';
import { startFakeTeacher } from '../../tests/helpers/fake-teacher.js';

const { values: o } = parseArgs({
  options: {
    delay: { type: 'string', default: '300' },
    runs: { type: 'string', default: 'A,B' },
    'port-base': { type: 'string', default: '7280' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const DELAY = Number(o.delay);
const BASE = Number(o['port-base']);
const Q = { orchestration: 'so-orch', teacher: 'so-teacher', student: 'so-student' };
const TEACHER_ACTIVITY_SET = new Set<string>(TEACHER_ACTIVITIES);
const CONFIG = path.join(PROJECT_ROOT, 'configs', 'experiments', 'spamassassin.json');

const root = mkdtempSync(path.join(os.tmpdir(), 's3-scale-out-'));
const started: ChildProcess[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after 10 s. */
async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([gone, sleep(10_000)]);
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

async function startTemporal(): Promise<Client> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(BASE), '--ui-port', String(BASE + 1)];
  args.push('--db-filename', path.join(root, 'temporal.db'), '--log-level', 'warn');
  for (const [n, t] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${n}=${t}`);
  const log = openSync(path.join(root, 'temporal.log'), 'a');
  started.push(spawn(temporalBin(), args, { stdio: ['ignore', log, log] }));
  for (let i = 0; i < 120; i++) {
    try {
      const connection = await Connection.connect({ address: `127.0.0.1:${BASE}`, connectTimeout: 1000 });
      return new Client({ connection });
    } catch {
      await sleep(500);
    }
  }
  throw new Error(`Temporal dev server did not start on 127.0.0.1:${BASE} (see ${root}/temporal.log)`);
}

async function startBucket(): Promise<{ endpoint: string; bucket: string; key: string; secret: string }> {
  const bin = objectStoreBin();
  if (!bin) throw new Error('versitygw is not built: S3_OBJECT_STORE=1 bash scripts/setup.sh');
  const key = 'scaleout';
  const secret = 'scaleoutsecret';
  for (const d of ['data', 'meta']) mkdirSync(path.join(root, 's3', d), { recursive: true });
  const log = openSync(path.join(root, 'versitygw.log'), 'a');
  const args = versitygwArgs({
    host: '127.0.0.1',
    port: BASE + 2,
    accessKeyId: key,
    secretAccessKey: secret,
    dataDir: path.join(root, 's3', 'data'),
    metaDir: path.join(root, 's3', 'meta'),
  });
  started.push(spawn(bin, args, { stdio: ['ignore', log, log] }));
  for (let i = 0; !(await accepts('127.0.0.1', BASE + 2)); i++) {
    if (i > 300) throw new Error(`versitygw did not start on 127.0.0.1:${BASE + 2}`);
    await sleep(100);
  }
  const endpoint = `http://127.0.0.1:${BASE + 2}`;
  await createBucket(endpoint, 'scale-out', { accessKeyId: key, secretAccessKey: secret });
  return { endpoint, bucket: 'scale-out', key, secret };
}

interface Worker {
  name: string;
  role: string;
  child: ChildProcess;
  cwd: string;
}

/** `workers/worker.ts --role <role>` in a new empty directory, resolved once it polls every queue of its roles. */
function startWorker(name: string, role: string, env: NodeJS.ProcessEnv): Promise<Worker> {
  const cwd = mkdtempSync(path.join(os.tmpdir(), `s3-scale-out-${name}-`));
  const queues = role === 'all' ? Object.values(Q) : role === 'teacher' ? [Q.teacher] : [Q.orchestration, Q.student];
  const log = openSync(path.join(root, `${name}.log`), 'a');
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'workers', 'worker.ts'), '--role', role],
    { cwd, env, stdio: ['ignore', 'pipe', log] },
  );
  started.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after 180 s:\n${out}`)), 180_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (queues.every((q) => out.includes(`task queue "${q}"`))) {
        clearTimeout(timer);
        resolve({ name, role, child, cwd });
      }
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? sig}):\n${out}`));
    });
  });
}

/** The first object with numeric `calls` and `cachedCalls` in a decoded activity result. */
function usageIn(v: unknown): { calls: number; cachedCalls: number } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.calls === 'number' && typeof r.cachedCalls === 'number')
    return { calls: r.calls, cachedCalls: r.cachedCalls };
  for (const x of Object.values(r)) {
    const u = usageIn(x);
    if (u) return u;
  }
  return undefined;
}

async function main() {
  const t0 = Date.now();
  const [client, s3] = await Promise.all([startTemporal(), startBucket()]);
  let current: string[] = [];
  const fake = await startFakeTeacher({
    port: BASE + 3,
    delayMs: DELAY,
    onRequest: (r) => current.push(JSON.stringify([r.prompt, r.seed ?? null])),
  });
  console.error(`infrastructure up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${root})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: `127.0.0.1:${BASE}`,
    TEMPORAL_NAMESPACE: 'default',
    AWS_ACCESS_KEY_ID: s3.key,
    AWS_SECRET_ACCESS_KEY: s3.secret,
    S3_TASK_QUEUE: Q.orchestration,
    S3_TEACHER_TASK_QUEUE: Q.teacher,
    S3_STUDENT_TASK_QUEUE: Q.student,
    NODE_NO_WARNINGS: '1',
  };
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const reports: unknown[] = [];
  for (const run of (o.runs ?? 'A,B').split(',')) {
    const name = `scale-out-${run}-${stamp}`;
    const cfg = loadExperiment(CONFIG, [
      `experimentId=${name}`,
      'parallelism=2',
      'teacher.provider=openai',
      `teacher.baseURL=${fake.baseURL}`,
      'teacher.model=fake-teacher',
      `artifacts.uri=s3://${s3.bucket}/${name}`,
      `artifacts.cacheUri=s3://${s3.bucket}/${name}/cache/`,
      `artifacts.endpoint=${s3.endpoint}`,
      `taskQueues.teacher=${Q.teacher}`,
      `taskQueues.student=${Q.student}`,
    ]);
    const plan = run.startsWith('A')
      ? [['all-1', 'all']]
      : [
          ['orch-1', 'orchestration,student'],
          ['teacher-1', 'teacher'],
          ['teacher-2', 'teacher'],
        ];
    const tw = Date.now();
    const workers = await Promise.all(plan.map(([n, r]) => startWorker(`${run}-${n}`, r, env)));
    const workersReadyS = (Date.now() - tw) / 1000;
    current = [];
    const answered0 = fake.answered;
    const ts = Date.now();
    const handle = await client.workflow.start('s3Experiment', {
      taskQueue: Q.orchestration,
      workflowId: name,
      args: [cfg],
    });
    const result = (await handle.result()) as ExperimentResult;
    const wallS = (Date.now() - ts) / 1000;
    const paid = fake.answered - answered0;
    const seen = new Map<string, number>();
    for (const k of current) seen.set(k, (seen.get(k) ?? 0) + 1);
    const results = result.summary.results;

    // teacher activities and their calls, by the worker that completed them
    const byPid = new Map(workers.map((w) => [w.child.pid, w.name]));
    const byWorker: Record<string, { activities: number; calls: number; cachedCalls: number }> = {};
    for (const r of results) {
      const scheduled = new Map<string, string>();
      for (const ev of (await client.workflow.getHandle(r.workflowId).fetchHistory()).events ?? []) {
        const s = ev.activityTaskScheduledEventAttributes;
        if (s) scheduled.set(String(ev.eventId), s.activityType?.name ?? '');
        const c = ev.activityTaskCompletedEventAttributes;
        if (!c || !TEACHER_ACTIVITY_SET.has(scheduled.get(String(c.scheduledEventId)) ?? '')) continue;
        const pid = Number((c.identity ?? '').split('@')[0]);
        const w = (byWorker[byPid.get(pid) ?? c.identity ?? '?'] ??= { activities: 0, calls: 0, cachedCalls: 0 });
        w.activities++;
        const data = c.result?.payloads?.[0]?.data;
        const u = data ? usageIn(JSON.parse(Buffer.from(data).toString('utf8'))) : undefined;
        w.calls += u?.calls ?? 0;
        w.cachedCalls += u?.cachedCalls ?? 0;
      }
    }
    const leftovers = Object.fromEntries(
      workers
        .filter((w) => readdirSync(w.cwd).length > 0)
        .map((w) => [w.name, readdirSync(w.cwd, { recursive: true })]),
    );
    await Promise.all(workers.map((w) => stopChild(w.child)));
    for (const w of workers) rmSync(w.cwd, { recursive: true, force: true });

    const report = {
      run,
      experimentId: name,
      workers: plan.map(([n, r]) => `${n} (--role ${r})`),
      workersReadyS,
      children: results.length,
      completed: results.filter((r) => r.status === 'completed').length,
      failed: results.filter((r) => r.status !== 'completed').map((r) => `${r.workflowId}: ${r.error}`),
      wallS,
      fakeAnswered: paid,
      fakeRequests: current.length,
      answeredTwice: [...seen.values()].filter((n) => n > 1).length,
      armCalls: results.reduce((s, r) => s + r.usage.calls, 0),
      armCachedCalls: results.reduce((s, r) => s + r.usage.cachedCalls, 0),
      byWorker,
      workerDirsNotEmpty: leftovers,
      accuracy: Object.fromEntries(results.map((r) => [`${r.arm}/seed-${r.seed}`, r.test?.accuracy ?? null])),
    };
    reports.push(report);
    console.log(JSON.stringify(report));
  }
  if (o.out) writeFileSync(o.out, JSON.stringify(reports, null, 2) + '\n');
  await fake.close();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const c of started.reverse()) await stopChild(c);
    if (!o.keep) rmSync(root, { recursive: true, force: true });
    else console.error(`kept ${root}`);
  });
