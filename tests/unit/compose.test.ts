/**
 * docker-compose.yml: no Docker engine runs here, so the file is checked structurally, and
 * with `docker compose config` where the compose client is installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../activities/paths.js';

const file = path.join(PROJECT_ROOT, 'docker-compose.yml');

test('docker-compose.yml: Temporal + Postgres + Web UI, an S3-compatible bucket, and workers that share only those', () => {
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }); // compose applies '<<' merge keys
  const s = doc.services;
  assert.deepEqual(Object.keys(s).sort(), [
    'finetune-worker',
    'object-store',
    'postgresql',
    'teacher-worker',
    'temporal',
    'temporal-schema',
    'temporal-ui',
    'worker',
  ]);
  // Temporal: temporalio/server (not the deprecated auto-setup) after the schema job, on Postgres
  assert.match(s.temporal.image, /^temporalio\/server:/);
  assert.equal(s.temporal.depends_on['temporal-schema'].condition, 'service_completed_successfully');
  assert.match(s['temporal-schema'].image, /^temporalio\/admin-tools:/);
  assert.equal(s['temporal-schema'].environment.SQL_PLUGIN, 'postgres12');
  assert.equal(s.temporal.environment.DB, 'postgres12');
  assert.equal(s.temporal.environment.POSTGRES_SEEDS, 'postgresql');
  assert.ok(s.temporal.ports.includes('7233:7233'));
  assert.equal(s['temporal-ui'].environment.TEMPORAL_ADDRESS, 'temporal:7233');
  // the bucket: versitygw built from the Go module proxy, bucket s3-synth
  assert.match(
    s['object-store'].build.dockerfile_inline,
    /go install github.com\/versity\/versitygw\/cmd\/versitygw@v/,
  );
  assert.match(s['object-store'].command[0], /mkdir -p \/data\/s3-synth/);
  // the workers: no shared volume, the bucket and Temporal through the environment, roles by queue
  const workers = ['worker', 'teacher-worker', 'finetune-worker'];
  for (const w of workers) {
    assert.equal(s[w].volumes, undefined, `${w} shares no folder`);
    assert.equal(s[w].environment.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(s[w].environment.AWS_ENDPOINT_URL_S3, 'http://object-store:7070');
    assert.ok(s[w].environment.AWS_ACCESS_KEY_ID && s[w].environment.AWS_SECRET_ACCESS_KEY);
  }
  assert.deepEqual(s.worker.command, ['npm', 'run', 'worker']);
  assert.equal(s.worker.environment.S3_WORKER_ROLES, 'orchestration,student');
  assert.equal(s['teacher-worker'].environment.S3_WORKER_ROLES, 'teacher');
  assert.equal(s['teacher-worker'].environment.S3_TEACHER_TASK_QUEUE, s.worker.environment.S3_TEACHER_TASK_QUEUE);
  // the finetune student's Python worker: the training queue, one reserved GPU
  const ft = s['finetune-worker'];
  assert.equal(ft.environment.S3_TRAIN_TASK_QUEUE, 's3-train');
  assert.deepEqual(ft.deploy.resources.reservations.devices, [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
  assert.ok(readFileSync(path.join(PROJECT_ROOT, ft.build.dockerfile), 'utf8').includes('s3_finetune'));
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  assert.ok(pkg.scripts.worker, 'the worker services run `npm run worker`');
});

const compose = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
test(
  '`docker compose config` accepts docker-compose.yml',
  { skip: compose.status !== 0 && 'the docker compose client is not installed here' },
  () => {
    const r = spawnSync('docker', ['compose', '-f', file, 'config', '-q'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  },
);
