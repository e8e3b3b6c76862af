/**
 * `s3 pull` (scripts/pull.ts over store/pull.ts pullArtifacts) on local folder stores (no server; the object-store side runs in
 * tests/e2e/store-cli.test.ts against versitygw): every file of the run copied under the target
 * folder, nothing of a sibling run whose id starts the same, each file checked against the
 * references the run's JSON artifacts carry before it is written, a rerun rewrites nothing, and
 * the errors (no such run, an id leaving the store, changed bytes).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { IntegrityError, LocalFolderStore, folderUri, pullArtifacts } from '../../store/index.js';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { describePull, formatBytes, pullRun, referencesIn, storeConfigOfFile } from '../../scripts/pull.js';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), p));

/** A finished run `r1` in a local store: final.jsonl referenced by report.json, a round file not referenced. */
async function fakeRun() {
  const root = tmp('s3-pull-src-');
  const store = new LocalFolderStore(root);
  const final = await store.putJsonl('r1/synthetic/final.jsonl', [
    { text: 'a', label: 'x' },
    { text: 'b', label: 'y' },
  ]);
  await store.putJsonl('r1/round-1/misclassified.jsonl', [{ text: 'c', label: 'x' }]);
  await store.put('r1/report.json', JSON.stringify({ dataset: final, rounds: [{ note: 'no ref here' }] }));
  await store.put('r1/report.md', '# report\n');
  await store.put('r10/report.md', '# another run whose id starts with r1\n');
  return { root, store, final };
}

test('referencesIn finds {uri|path, sha256} objects at any depth and ignores the rest', () => {
  const h = sha('x');
  const refs = referencesIn(
    {
      a: { uri: 's3://b/k/final.jsonl', sha256: h, count: 2 },
      list: [
        { path: '/abs/old.jsonl', sha256: h },
        { path: 'relative.jsonl', sha256: h },
      ],
      noSha: { uri: 's3://b/k/x' },
      badSha: { uri: 's3://b/k/y', sha256: 'abc' },
    },
    'report.json',
  );
  assert.deepEqual(
    refs.map((r) => r.uri),
    ['s3://b/k/final.jsonl', 'file:///abs/old.jsonl'],
  );
  assert.ok(refs.every((r) => r.where === 'report.json' && r.sha256 === h));
});

test('formatBytes', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 kB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MB');
});

test('pullRun copies the run folder, checks references before writing, and a rerun rewrites nothing', async () => {
  const { root, final } = await fakeRun();
  const dir = path.join(tmp('s3-pull-dst-'), 'r1');
  const seen: string[] = [];
  const s = await pullRun({ id: 'r1', dir, store: { uri: folderUri(root) }, onFile: (f) => seen.push(f.file) });
  const files = ['report.json', 'report.md', 'round-1/misclassified.jsonl', 'synthetic/final.jsonl'];
  assert.deepEqual(
    s.files.map((f) => f.file),
    files,
  );
  assert.deepEqual(seen, files);
  for (const f of files)
    assert.equal(
      readFileSync(path.join(dir, f), 'utf8'),
      readFileSync(path.join(root, 'r1', f), 'utf8'),
      `${f} copied byte for byte`,
    );
  assert.equal(existsSync(path.join(dir, '..', 'r10')), false, 'a sibling run is not pulled');
  const finalFile = s.files.find((f) => f.file === 'synthetic/final.jsonl')!;
  assert.deepEqual(finalFile.verified, ['reference']);
  assert.equal(finalFile.sha256, final.sha256);
  assert.equal(s.verifiedByReference, 1);
  assert.equal(s.verifiedByStore, 0, 'a local folder records no sha256');
  assert.equal(s.written, 4);
  assert.equal(
    s.bytes,
    files.reduce((n, f) => n + readFileSync(path.join(root, 'r1', f)).length, 0),
  );
  assert.equal(s.kind, 'run');
  assert.match(describePull(s), /^pulled 4 files, .* \(\d+ bytes; 4 new or changed\)/);

  const again = await pullRun({ id: 'r1', dir, store: { uri: root } });
  assert.equal(again.written, 0, 'identical files are left alone');
  assert.equal(again.files.length, 4);
});

test('pullRun: changed bytes fail with IntegrityError before the changed file is written', async () => {
  const { root } = await fakeRun();
  writeFileSync(path.join(root, 'r1', 'synthetic', 'final.jsonl'), '{"text":"changed","label":"x"}\n');
  const dir = path.join(tmp('s3-pull-dst-'), 'r1');
  await assert.rejects(pullRun({ id: 'r1', dir, store: { uri: root } }), (err: Error) => {
    assert.ok(err instanceof IntegrityError);
    assert.match(err.message, /r1\/synthetic\/final\.jsonl: sha256 mismatch/);
    return true;
  });
  assert.equal(existsSync(path.join(dir, 'synthetic', 'final.jsonl')), false);
});

test('pullRun: an unknown id, an id leaving the store, and an unfinished run', async () => {
  const { root, store } = await fakeRun();
  const dir = tmp('s3-pull-dst-');
  await assert.rejects(pullRun({ id: 'nope', dir, store: { uri: root } }), /nothing under file:\/\/.*\/nope\//);
  await assert.rejects(pullRun({ id: '../etc', dir, store: { uri: root } }), RangeError);
  await store.put('running/config.json', '{}');
  const s = await pullRun({ id: 'running', dir, store: { uri: root } });
  assert.equal(s.kind, 'unfinished?');
  assert.match(describePull(s), /may not have finished/);
});

test('storeConfigOfFile: a run config without artifacts names its runRoot; an experiment config its artifacts.uri', async () => {
  const dir = tmp('s3-pull-cfg-');
  const run = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'configs', 'spamassassin.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const runFile = path.join(dir, 'run.json');
  writeFileSync(runFile, JSON.stringify({ ...run, runRoot: path.join(dir, 'my-runs') }));
  assert.deepEqual(await storeConfigOfFile(runFile), { uri: folderUri(path.join(dir, 'my-runs')) });

  const exp = JSON.parse(
    readFileSync(path.join(PROJECT_ROOT, 'configs', 'experiments', 'spamassassin.json'), 'utf8'),
  ) as Record<string, unknown>;
  const expFile = path.join(dir, 'exp.json');
  const artifacts = { uri: 's3://my-bucket/exp', endpoint: 'http://127.0.0.1:7070', region: 'eu-west-1' };
  writeFileSync(expFile, JSON.stringify({ ...exp, artifacts }));
  const store = await storeConfigOfFile(expFile);
  assert.equal(store.uri, 's3://my-bucket/exp/');
  assert.equal(store.endpoint, 'http://127.0.0.1:7070');
  assert.equal(store.region, 'eu-west-1');

  writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ ...exp, artifacts: { uri: 's3://b/x', secret: 'no' } }));
  await assert.rejects(storeConfigOfFile(path.join(dir, 'bad.json')), /artifacts/);
});

test('pullArtifacts (store/pull.ts): a JSON artifact already copied is checked against a later one’s reference; prefix "" pulls the whole store', async () => {
  const root = tmp('s3-pull-json-');
  const store = new LocalFolderStore(root);
  const config = await store.put('exp/a/config.json', '{"runId":"a"}');
  // b.json comes after a/config.json in key order and names it with another sha256
  await store.put('exp/b.json', JSON.stringify({ config: { uri: config.uri, sha256: sha('something else') } }));
  const dir = tmp('s3-pull-json-dst-');
  await assert.rejects(pullArtifacts(store, 'exp/', dir), (err: Error) => {
    assert.ok(err instanceof IntegrityError);
    assert.equal(err.actual, config.sha256);
    return true;
  });
  await store.put('exp/b.json', JSON.stringify({ config: { uri: config.uri, sha256: config.sha256 } }));
  const seen: string[] = [];
  const all = await pullArtifacts(store, '', dir, { onFile: (f) => seen.push(f.file) });
  assert.deepEqual(seen, ['exp/a/config.json', 'exp/b.json']);
  assert.deepEqual(all.files[0].verified, ['reference'], 'a/config.json checked against b.json');
  assert.equal(all.from, folderUri(root));
  assert.equal(readFileSync(path.join(dir, 'exp', 'a', 'config.json'), 'utf8'), '{"runId":"a"}');
  await assert.rejects(pullArtifacts(store, 'exp', dir), RangeError);
});
