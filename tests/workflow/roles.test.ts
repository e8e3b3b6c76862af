/**
 * Worker roles by task queue (workers/roles.ts), on a real dev server with the loopback fake
 * teacher (a test double):
 * - three in-process workers, one role each on its own queue (orchestration on its queue, teacher
 *   activities on `s3-roles-teacher`, the student on `s3-roles-student`), route a run by the
 *   config's `taskQueues`: it completes, and history shows each activity scheduled on its role's queue;
 * - two "machines" sharing only Temporal and a REAL S3-compatible bucket (versitygw; skipped with
 *   a message when it is not built): the orchestration + student worker in this process, the
 *   teacher worker a separate process (`workers/worker.ts --role teacher`) in its own empty
 *   working directory. Every artifact and teacher-cache entry is in the bucket, no call is paid twice.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { openStore } from '../../store/index.js';
import { parseConfig } from '../../config/schema.js';
import { describeMissing, queuesNeeded, rolesWithoutPollers } from '../../workers/pollers.js';
import { createRoleWorkers } from '../../workers/worker.js';
import type { S3Result } from '../../workflows/types.js';
import { startFakeTeacher, type FakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { OBJECT_STORE_SKIP, startObjectStore, type ObjectStoreServer } from '../helpers/objectStore.js';
import { startDevServer } from '../helpers/temporal.js';

const QUEUES = { orchestration: 's3-roles', teacher: 's3-roles-teacher', student: 's3-roles-student' };
let env: TestWorkflowEnvironment;
let fake: FakeTeacher;
const gold = writeGoldTask({ validation: 30, test: 30 });

before(async () => {
  env = await startDevServer();
  fake = await startFakeTeacher();
});
after(async () => {
  await fake?.close();
  await env?.teardown();
});

/** taskQueue of every scheduled activity, by activity type. */
async function queuesOf(workflowId: string): Promise<Record<string, string[]>> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const out: Record<string, string[]> = {};
  for (const ev of history.events ?? []) {
    const a = ev.activityTaskScheduledEventAttributes;
    if (!a?.activityType?.name) continue;
    const q = a.taskQueue?.name ?? '';
    out[a.activityType.name] = [...new Set([...(out[a.activityType.name] ?? []), q])];
  }
  return out;
}

test('one role per worker, each on its own task queue: the run completes, each activity on its role queue', async () => {
  const config = {
    ...fakeRunConfig(gold, fake.baseURL, { runId: 'roles-split', seedSize: 12, rounds: 1 }),
    taskQueues: { teacher: QUEUES.teacher, student: QUEUES.student },
  };
  const needs = queuesNeeded(parseConfig(config), QUEUES.orchestration);
  const missing = await rolesWithoutPollers(env.client, env.namespace ?? 'default', needs);
  assert.deepEqual(
    missing.map((m) => m.role),
    ['orchestration', 'teacher', 'student'],
  );
  assert.match(
    describeMissing(missing),
    /no worker polls task queue "s3-roles-teacher" for the teacher role: start one with `S3_TEACHER_TASK_QUEUE=s3-roles-teacher npm run worker -- --role teacher`/,
  );
  const started = await Promise.all(
    (['orchestration', 'teacher', 'student'] as const).map((role) =>
      createRoleWorkers({
        connection: env.nativeConnection,
        namespace: env.namespace,
        roles: [role],
        queues: QUEUES,
      }),
    ),
  );
  const running = started.map((w) => w.run());
  try {
    const result = (await env.client.workflow.execute('s3Synthesis', {
      taskQueue: QUEUES.orchestration,
      workflowId: 'roles-split',
      args: [config],
    })) as S3Result;
    assert.ok(result.dataset.count > 0);
    assert.deepEqual(
      await rolesWithoutPollers(env.client, env.namespace ?? 'default', needs),
      [],
      'every role has a poller',
    );
    const queues = await queuesOf('roles-split');
    assert.deepEqual(queues.synthesizeSeed, [QUEUES.teacher]);
    assert.deepEqual(queues.trainAndEvaluate, [QUEUES.student]);
    assert.deepEqual(queues.prepareTask, [QUEUES.orchestration]);
    assert.deepEqual(queues.writeReport, [QUEUES.orchestration]);
  } finally {
    for (const w of started) w.shutdown();
    await Promise.all(running);
    await Promise.all(started.map((w) => w.teachers.close()));
  }
});

test(
  'two machines sharing only Temporal and the bucket: a teacher worker process in an empty directory',
  { skip: OBJECT_STORE_SKIP },
  async () => {
    let s3: ObjectStoreServer | undefined;
    let child: ChildProcess | undefined;
    const teacher = await startFakeTeacher(); // its own counts: the first test asked the same prompts
    const creds = {
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
    };
    const local = await createRoleWorkers({
      connection: env.nativeConnection,
      namespace: env.namespace,
      roles: ['orchestration', 'student'],
      queues: { ...QUEUES, student: QUEUES.orchestration },
    });
    const running = local.run();
    try {
      s3 = await startObjectStore();
      process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
      // machine B: its own empty working directory; only Temporal and the bucket in common
      const cwd = mkdtempSync(path.join(os.tmpdir(), 's3-machine-b-'));
      child = spawn(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), path.join(PROJECT_ROOT, 'workers', 'worker.ts'), '--role', 'teacher'],
        {
          cwd,
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: env.address,
            TEMPORAL_NAMESPACE: env.namespace,
            S3_TASK_QUEUE: QUEUES.orchestration,
            S3_TEACHER_TASK_QUEUE: QUEUES.teacher,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child!.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes(`task queue "${QUEUES.teacher}": teacher`)) resolve();
        });
        child!.stderr!.on('data', (b: Buffer) => (out += b.toString()));
        child!.once('exit', (code) => reject(new Error(`teacher worker exited (${code}):\n${out}`)));
      });
      const result = (await env.client.workflow.execute('s3Synthesis', {
        taskQueue: QUEUES.orchestration,
        workflowId: 'roles-two-machines',
        args: [
          {
            ...fakeRunConfig(gold, teacher.baseURL, { runId: 'two-machines', seedSize: 12, rounds: 1 }),
            artifacts: { uri: `s3://${s3.bucket}/runs`, endpoint: s3.endpoint },
            taskQueues: { teacher: QUEUES.teacher },
          },
        ],
      })) as S3Result;
      const queues = await queuesOf('roles-two-machines');
      assert.deepEqual(queues.synthesizeSeed, [QUEUES.teacher]);
      const store = openStore({ uri: `s3://${s3.bucket}/runs/`, endpoint: s3.endpoint });
      const keys = await store.list('two-machines/');
      for (const k of ['config.json', 'report.json', 'synthetic/final.jsonl'])
        assert.ok(keys.includes(`two-machines/${k}`), `${k} in the bucket`);
      assert.equal(result.dataset.uri, store.uriOf('two-machines/synthetic/final.jsonl'));
      assert.ok((await store.list('cache/teacher/')).length > 0, 'the teacher cache is in the bucket');
      assert.deepEqual(readdirSync(cwd), [], "nothing written in the teacher machine's working directory");
      assert.equal(existsSync(path.join(gold.dir, 'runs', 'two-machines')), false, 'nothing in the local runRoot');
      assert.ok(teacher.answered > 0, 'the teacher worker called the teacher');
      assert.deepEqual(teacher.answeredTwice(), [], 'no call paid twice');
    } finally {
      if (child && child.exitCode === null) {
        const gone = new Promise((r) => child!.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      local.shutdown();
      await running;
      await local.teachers.close();
      await s3?.stop();
      await teacher.close();
      for (const [k, v] of Object.entries(creds))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  },
);
