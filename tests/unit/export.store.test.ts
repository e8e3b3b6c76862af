/**
 * `s3 export` through the artifact store without a server (the versitygw side is
 * tests/e2e/export-store.test.ts): a run folder read as a store (a LocalFolderStore rooted at it)
 * exports the same bytes as the folder read from disk; the references report.json carries check
 * the files read; and where the CLI's arguments point (scripts/storeOptions.ts): an s3:// URI with
 * the command line's connection options, a file:// URI, a run id under `--config`'s store.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { exportRun, exportStoredRun, type ExportFormat } from '../../scripts/export.js';
import { studentCacheDir } from '../../scripts/predict.js';
import { artifactsLocationOf } from '../../scripts/storeOptions.js';
import { fileUri, IntegrityError, LocalFolderStore } from '../../store/index.js';
import { classificationRunDir, qaRunDir } from '../helpers/runFolders.js';

const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function filesUnder(dir: string, base = dir): string[] {
  return readdirSync(dir)
    .flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? filesUnder(p, base) : [path.relative(base, p)];
    })
    .sort();
}

test('a run folder read through the store exports the same bytes as read from disk (single, QA; hf, parquet, jsonl)', async () => {
  for (const kind of ['single', 'qa'] as const) {
    const root = tmp(`s3-export-store-${kind}-`);
    const run = kind === 'qa' ? await qaRunDir(root) : classificationRunDir(root);
    for (const format of ['hf', 'parquet', 'jsonl'] as ExportFormat[]) {
      const a = exportRun(run, path.join(root, `disk-${format}`), { format });
      const b = await exportStoredRun(new LocalFolderStore(run), path.join(root, `store-${format}`), { format });
      assert.equal(b.runDir, fileUri(run), 'named by its URI');
      const files = filesUnder(a.outDir);
      assert.ok(files.length >= 3);
      assert.deepEqual(filesUnder(b.outDir), files);
      for (const f of files)
        assert.ok(
          readFileSync(path.join(a.outDir, f)).equals(readFileSync(path.join(b.outDir, f))),
          `${kind} ${format} ${f}`,
        );
      if (format === 'hf') assert.match(readFileSync(path.join(b.outDir, 'README.md'), 'utf8'), /run folder `runs\//);
    }
  }
});

test('the references in report.json check the files read: a changed final.jsonl is refused', async () => {
  const root = tmp('s3-export-ref-');
  const run = classificationRunDir(root);
  const finalFile = path.join(run, 'synthetic', 'final.jsonl');
  const report = JSON.parse(readFileSync(path.join(run, 'report.json'), 'utf8')) as Record<string, unknown>;
  const ref = { uri: fileUri(finalFile), sha256: sha(readFileSync(finalFile)), count: 5 };
  writeFileSync(path.join(run, 'report.json'), JSON.stringify({ ...report, dataset: ref }));
  const ok = await exportStoredRun(new LocalFolderStore(run), path.join(root, 'ok'));
  assert.equal(ok.splits.train, 5);

  writeFileSync(finalFile, readFileSync(finalFile, 'utf8').replace('synthetic ham 0', 'synthetic HAM 0'));
  await assert.rejects(exportStoredRun(new LocalFolderStore(run), path.join(root, 'changed')), (err: Error) => {
    assert.ok(err instanceof IntegrityError);
    assert.equal(err.expected, ref.sha256);
    assert.equal(err.actual, sha(readFileSync(finalFile)));
    return true;
  });
  await assert.rejects(
    exportStoredRun(new LocalFolderStore(path.join(root, 'none')), path.join(root, 'x')),
    /nothing under/,
  );
});

test('artifactsLocationOf: s3:// URIs, file:// URIs, run ids under --config, and what is refused', async () => {
  assert.equal(await artifactsLocationOf('runs/my-run', {}, 'export'), undefined, 'a plain argument stays local');
  assert.deepEqual(
    await artifactsLocationOf('s3://b1/runs/my-run', { endpoint: 'http://127.0.0.1:7070', pathStyle: false }, 'export'),
    { kind: 'store', store: { uri: 's3://b1/runs/my-run/', endpoint: 'http://127.0.0.1:7070', forcePathStyle: false } },
  );
  assert.deepEqual(await artifactsLocationOf('file:///srv/runs/r%201', {}, 'export'), {
    kind: 'local',
    dir: '/srv/runs/r 1',
  });
  await assert.rejects(artifactsLocationOf('gs://b/x', {}, 'export'), /export: cannot read gs:\/\/ URIs/);

  const dir = tmp('s3-export-cfg-');
  const run = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'configs', 'spamassassin.json'), 'utf8')) as object;
  const localCfg = path.join(dir, 'local.json');
  writeFileSync(localCfg, JSON.stringify({ ...run, runRoot: path.join(dir, 'my-runs') }));
  assert.deepEqual(await artifactsLocationOf('r1', { config: localCfg }, 'export'), {
    kind: 'local',
    dir: path.join(dir, 'my-runs', 'r1'),
  });
  const s3Cfg = path.join(dir, 's3.json');
  const artifacts = { uri: 's3://b2/exp', endpoint: 'http://10.0.0.5:9000', region: 'eu-west-1' };
  writeFileSync(s3Cfg, JSON.stringify({ ...run, artifacts }));
  const byId = await artifactsLocationOf('spam/s3/seed-1/', { config: s3Cfg }, 'export');
  assert.equal(byId?.kind, 'store');
  if (byId?.kind === 'store') {
    assert.equal(byId.store.uri, 's3://b2/exp/spam/s3/seed-1/');
    assert.equal(byId.store.endpoint, artifacts.endpoint);
    assert.equal(byId.store.region, artifacts.region);
  }
  const byUri = await artifactsLocationOf('s3://b3/elsewhere/r1/', { config: s3Cfg }, 'predict');
  assert.equal(byUri?.kind === 'store' && byUri.store.endpoint, artifacts.endpoint, "a URI takes --config's endpoint");
  await assert.rejects(artifactsLocationOf('../etc', { config: s3Cfg }, 'export'), RangeError);
  await assert.rejects(
    artifactsLocationOf('r1', { config: s3Cfg, endpoint: 'http://x' }, 'export'),
    /export: --endpoint, --region and --path-style go without --config/,
  );
});

test('studentCacheDir: one folder per student URI', () => {
  const a = studentCacheDir('s3://b/runs/r1/student/', '/c');
  assert.match(a, /^\/c\/[0-9a-f]{16}$/);
  assert.equal(studentCacheDir('s3://b/runs/r1/student/', '/c'), a);
  assert.notEqual(studentCacheDir('s3://b/runs/r2/student/', '/c'), a);
});
