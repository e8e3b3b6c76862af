/**
 * Worker roles by task queue (workers/roles.ts), the workflows' routing by `taskQueues`
 * (workflows/activityOptions.ts), and Temporal connections from the environment configuration
 * (workers/connection.ts: env variables and a temporal.toml profile with TLS and an API key;
 * these tests check the produced connection options, no TLS server is started).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createActivities } from '../../activities/index.js';
import { deadlinesOf } from '../../config/deadlines.js';
import { parseConfig } from '../../config/schema.js';
import type { TeacherPool } from '../../teacher/index.js';
import { describeConnection, loadTemporalConnection } from '../../workers/connection.js';
import {
  activitySlots,
  parseRoles,
  planWorkers,
  queuesFromEnv,
  roleOfActivity,
  STUDENT_ACTIVITIES,
  TEACHER_ACTIVITIES,
} from '../../workers/roles.js';
import {
  studentActivityOptions,
  teacherActivityOptions,
  workActivityOptions,
} from '../../workflows/activityOptions.js';

const names = Object.keys(createActivities({ teachers: {} as TeacherPool }));

describe('worker roles', () => {
  test('parseRoles: all by default, lists, the orchestrator alias, unknown names refused', () => {
    assert.deepEqual(parseRoles(undefined), ['orchestration', 'teacher', 'student']);
    assert.deepEqual(parseRoles('all'), ['orchestration', 'teacher', 'student']);
    assert.deepEqual(parseRoles('teacher'), ['teacher']);
    assert.deepEqual(parseRoles('student, orchestrator'), ['orchestration', 'student']);
    assert.throws(
      () => parseRoles('teachr'),
      /unknown worker role "teachr": expected orchestration, teacher, student or all/,
    );
  });

  test('every teacher and student activity exists; the rest are orchestration', () => {
    for (const a of [...TEACHER_ACTIVITIES, ...STUDENT_ACTIVITIES]) assert.ok(names.includes(a), a);
    assert.equal(roleOfActivity('prepareTask'), 'orchestration');
    assert.equal(roleOfActivity('synthesizeSeed'), 'teacher');
    assert.equal(roleOfActivity('trainAndEvaluate'), 'student');
  });

  test('default: one worker on s3-synth with the workflows and every activity (as before roles)', () => {
    const queues = queuesFromEnv({});
    assert.deepEqual(queues, { orchestration: 's3-synth', teacher: 's3-synth', student: 's3-synth' });
    const plan = planWorkers(parseRoles(undefined), queues, names);
    assert.equal(plan.length, 1);
    assert.equal(plan[0].taskQueue, 's3-synth');
    assert.equal(plan[0].workflows, true);
    assert.deepEqual([...plan[0].activities].sort(), [...names].sort());
  });

  test('split queues: each role its own worker; a role may be left out only on its own queue', () => {
    const queues = queuesFromEnv({ S3_TEACHER_TASK_QUEUE: 's3-teacher', S3_STUDENT_TASK_QUEUE: 's3-student' });
    const teacher = planWorkers(['teacher'], queues, names);
    assert.deepEqual(
      teacher.map((w) => ({ ...w, activities: [...w.activities].sort() })),
      [{ taskQueue: 's3-teacher', roles: ['teacher'], workflows: false, activities: [...TEACHER_ACTIVITIES].sort() }],
    );
    const all = planWorkers(parseRoles('all'), queues, names);
    assert.deepEqual(
      all.map((w) => [w.taskQueue, w.workflows, w.activities.length]),
      [
        ['s3-synth', true, names.length - TEACHER_ACTIVITIES.length - STUDENT_ACTIVITIES.length],
        ['s3-teacher', false, TEACHER_ACTIVITIES.length],
        ['s3-student', false, 1],
      ],
    );
    // a teacher-only worker on the shared queue would receive orchestration activities it lacks
    assert.throws(
      () => planWorkers(['teacher'], queuesFromEnv({}), names),
      /the orchestration role's task queue "s3-synth" is also the teacher role's.*S3_TEACHER_TASK_QUEUE/,
    );
    // the student may stay with the orchestration on the shared queue while the teacher moves
    const orch = planWorkers(['orchestration', 'student'], queuesFromEnv({ S3_TEACHER_TASK_QUEUE: 't' }), names);
    assert.deepEqual(
      orch.map((w) => w.taskQueue),
      ['s3-synth'],
    );
  });

  test('activity slots are sized to the role: one training at a time on a student queue', () => {
    const queues = queuesFromEnv({ S3_TEACHER_TASK_QUEUE: 't', S3_STUDENT_TASK_QUEUE: 's' });
    const slotsOf = (roles: Parameters<typeof planWorkers>[0], env: NodeJS.ProcessEnv = {}) =>
      planWorkers(roles, queues, names).map((w) => [w.taskQueue, activitySlots(w, env)]);
    assert.deepEqual(slotsOf(parseRoles('all')), [
      ['s3-synth', 4],
      ['t', 4],
      ['s', 1],
    ]);
    assert.deepEqual(slotsOf(parseRoles('all'), { S3_MAX_ACTIVITIES: '6', S3_STUDENT_SLOTS: '2' }), [
      ['s3-synth', 6],
      ['t', 6],
      ['s', 2],
    ]);
    assert.deepEqual(slotsOf(['teacher'], { S3_TEACHER_SLOTS: '8' }), [['t', 8]]);
    // every role on one queue (the default): S3_MAX_ACTIVITIES, as before
    const one = planWorkers(parseRoles(undefined), queuesFromEnv({}), names);
    assert.deepEqual(
      one.map((w) => activitySlots(w, { S3_STUDENT_SLOTS: '1' })),
      [4],
    );
    assert.throws(() => activitySlots({ roles: ['student'] }, { S3_STUDENT_SLOTS: '0' }), /S3_STUDENT_SLOTS must be/);
    assert.throws(() => activitySlots({ roles: ['teacher'] }, { S3_MAX_ACTIVITIES: 'x' }), /S3_MAX_ACTIVITIES must be/);
  });

  test('the workflows route by taskQueues (unset: no taskQueue option, as before)', () => {
    const base = {
      task: { labels: ['a', 'b'], source: { type: 'files', validation: 'v.jsonl', test: 't.jsonl' } },
    };
    const plain = parseConfig(base);
    const d = deadlinesOf(plain);
    assert.equal(teacherActivityOptions(d).taskQueue, undefined);
    assert.equal(studentActivityOptions(workActivityOptions(d), plain.student, plain.taskQueues).taskQueue, undefined);
    const split = parseConfig({ ...base, taskQueues: { teacher: 's3-teacher', student: 's3-student' } });
    assert.equal(teacherActivityOptions(deadlinesOf(split)).taskQueue, 's3-teacher');
    assert.equal(
      studentActivityOptions(workActivityOptions(deadlinesOf(split)), split.student, split.taskQueues).taskQueue,
      's3-student',
    );
    assert.equal(
      workActivityOptions(deadlinesOf(split)).taskQueue,
      undefined,
      'light work stays on the workflow queue',
    );
    const finetune = parseConfig({ ...base, student: { kind: 'finetune' }, taskQueues: { student: 's3-student' } });
    assert.equal(
      studentActivityOptions(workActivityOptions(deadlinesOf(finetune)), finetune.student, finetune.taskQueues)
        .taskQueue,
      's3-train',
      'the finetune student keeps its own queue',
    );
  });
});

describe('Temporal connection from the environment configuration', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3-envconfig-'));
  const none = path.join(dir, 'none.toml');

  test('nothing set: the local dev server, namespace default, no TLS', () => {
    const c = loadTemporalConnection({ env: { TEMPORAL_CONFIG_FILE: none } });
    assert.equal(c.address, '127.0.0.1:7233');
    assert.equal(c.namespace, 'default');
    assert.equal(c.tls, false);
    assert.deepEqual(c.native, { address: '127.0.0.1:7233' });
  });

  test('TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY (an API key turns TLS on)', () => {
    const c = loadTemporalConnection({
      env: {
        TEMPORAL_CONFIG_FILE: none,
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_API_KEY: 'secret-key',
        TEMPORAL_GRPC_META_X_TEAM: 'ml',
      },
    });
    assert.equal(c.address, 'ns.acct.tmprl.cloud:7233');
    assert.equal(c.namespace, 'ns.acct');
    assert.equal(c.native.apiKey, 'secret-key');
    assert.equal(c.native.tls, true);
    assert.deepEqual(c.client.metadata, { 'x-team': 'ml' });
    assert.equal(describeConnection(c), 'ns.acct.tmprl.cloud:7233, namespace "ns.acct" (TLS, API key)');
    assert.doesNotMatch(describeConnection(c), /secret-key/);
  });

  test('a temporal.toml profile (TEMPORAL_PROFILE) with mTLS client certificate files; env overrides it', () => {
    writeFileSync(path.join(dir, 'client.pem'), 'CERT');
    writeFileSync(path.join(dir, 'client.key'), 'KEY');
    writeFileSync(path.join(dir, 'ca.pem'), 'CA');
    const toml = path.join(dir, 'temporal.toml');
    writeFileSync(
      toml,
      [
        '[profile.default]',
        'address = "127.0.0.1:7233"',
        '',
        '[profile.prod]',
        'address = "temporal.internal:7233"',
        'namespace = "s3"',
        '[profile.prod.tls]',
        `client_cert_path = "${path.join(dir, 'client.pem')}"`,
        `client_key_path = "${path.join(dir, 'client.key')}"`,
        `server_ca_cert_path = "${path.join(dir, 'ca.pem')}"`,
        'server_name = "temporal.internal"',
        '',
      ].join('\n'),
    );
    const c = loadTemporalConnection({ env: { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' } });
    assert.equal(c.address, 'temporal.internal:7233');
    assert.equal(c.namespace, 's3');
    const tls = c.native.tls as {
      clientCertPair?: { crt: Uint8Array; key: Uint8Array };
      serverRootCACertificate?: Uint8Array;
      serverNameOverride?: string;
    };
    const text = (b?: Uint8Array) => (b ? Buffer.from(b).toString() : undefined);
    assert.equal(text(tls.clientCertPair?.crt), 'CERT');
    assert.equal(text(tls.clientCertPair?.key), 'KEY');
    assert.equal(text(tls.serverRootCACertificate), 'CA');
    assert.equal(tls.serverNameOverride, 'temporal.internal');
    const over = loadTemporalConnection({
      env: { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'other' },
    });
    assert.equal(over.namespace, 'other');
    assert.throws(
      () => loadTemporalConnection({ env: { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'nope' } }),
      /Temporal connection: cannot load profile "nope"/,
    );
  });
});
