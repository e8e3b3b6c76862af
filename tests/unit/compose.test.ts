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

test('docker-compose.yml has Temporal + Postgres + Web UI + our worker, wired together', () => {
  const doc = parse(readFileSync(file, 'utf8'));
  const s = doc.services;
  assert.deepEqual(Object.keys(s).sort(), ['finetune-worker', 'postgresql', 'temporal', 'temporal-ui', 'worker']);
  assert.equal(s.temporal.environment.DB, 'postgres12');
  assert.equal(s.temporal.environment.POSTGRES_SEEDS, 'postgresql');
  assert.ok(s.temporal.ports.includes('7233:7233'));
  assert.equal(s['temporal-ui'].environment.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(s.worker.environment.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.deepEqual(s.worker.command, ['npm', 'run', 'worker']);
  // the finetune student's Python worker: the training queue, the shared runs/ path, one reserved GPU
  const ft = s['finetune-worker'];
  assert.equal(ft.environment.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(ft.environment.S3_TRAIN_TASK_QUEUE, 's3-train');
  assert.ok(ft.volumes.includes('./runs:/app/runs') && s.worker.volumes.includes('./runs:/app/runs'));
  assert.deepEqual(ft.deploy.resources.reservations.devices, [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
  assert.ok(readFileSync(path.join(PROJECT_ROOT, ft.build.dockerfile), 'utf8').includes('s3_finetune'));
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  assert.ok(pkg.scripts.worker, 'the worker service runs `npm run worker`');
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
