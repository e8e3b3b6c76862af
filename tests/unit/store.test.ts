/**
 * The artifact store seam (store/): LocalFolderStore writes atomically and idempotently, checks
 * the sha256 a reference carries on every read (a clear error naming the URI and both hashes),
 * lists and tests keys, reads JSONL with readJsonl's messages (file and line), and reads the
 * references recorded before `uri` existed (only `path`).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { DatasetError, readJsonl, writeJsonl } from '../../data/jsonl.js';
import { createActivities } from '../../activities/index.js';
import { parseConfig } from '../../config/schema.js';
import { TrainInputSchema } from '../../domain/studentContract.js';
import { DatasetRefSchema, ExampleSchema } from '../../domain/types.js';
import {
  IntegrityError,
  LocalFolderStore,
  fileUri,
  folderUri,
  openStore,
  refUri,
  storeFor,
  type ArtifactStore,
  type StoreConfig,
} from '../../store/index.js';
import type { TeacherPool } from '../../teacher/index.js';

const fresh = () => new LocalFolderStore(mkdtempSync(path.join(tmpdir(), 's3-store-')));
const rows = [
  { id: 'a', text: 'good film', label: 'positive' },
  { id: 'b', text: 'dull', label: 'negative' },
  { id: 'c', text: 'fine', label: 'positive' },
];
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

describe('LocalFolderStore', () => {
  test('putJsonl writes what writeJsonl wrote (same bytes, sha256, counts) and returns a uri', async () => {
    const store = fresh();
    const ref = await store.putJsonl('r1/round-1/rows.jsonl', rows);
    const file = path.join(store.root, 'r1', 'round-1', 'rows.jsonl');
    const old = await writeJsonl(path.join(store.root, 'old.jsonl'), rows);
    assert.equal(ref.path, file);
    assert.equal(ref.uri, pathToFileURL(file).href);
    assert.equal(ref.sha256, old.sha256);
    assert.deepEqual(readFileSync(file), readFileSync(old.path));
    assert.equal(ref.count, 3);
    assert.deepEqual(ref.labelCounts, { positive: 2, negative: 1 });
    assert.deepEqual(DatasetRefSchema.parse(ref), ref);
    assert.deepEqual(await store.getJsonl(ref, ExampleSchema), rows);
    assert.deepEqual(await store.getJsonl('r1/round-1/rows.jsonl', ExampleSchema), rows);
  });

  test('writes are atomic: no temporary file is left, a failed write leaves the old file', async () => {
    const store = fresh();
    await store.putJsonl('r/x.jsonl', rows);
    const bad = [{ id: 'z', text: 'z', label: 'z' }, undefined] as unknown as typeof rows;
    await assert.rejects(store.putJsonl('r/x.jsonl', bad), /putJsonl r\/x\.jsonl: row 2 is not JSON-serializable/);
    assert.deepEqual(readdirSync(path.join(store.root, 'r')), ['x.jsonl']);
    assert.deepEqual(await store.getJsonl('r/x.jsonl', ExampleSchema), rows);
  });

  test('rewriting identical content is a no-op (the file is not touched); new content replaces it', async () => {
    const store = fresh();
    const first = await store.put('r/config.json', '{"a":1}\n');
    assert.equal(first.written, true);
    assert.equal(first.sha256, sha('{"a":1}\n'));
    const past = new Date('2020-01-01T00:00:00Z');
    utimesSync(first.path!, past, past);
    const again = await store.put('r/config.json', Buffer.from('{"a":1}\n'));
    assert.equal(again.written, false);
    assert.deepEqual({ ...again, written: true }, first);
    assert.equal(statSync(first.path!).mtimeMs, past.getTime());
    const ref = await store.putJsonl('r/rows.jsonl', rows);
    utimesSync(ref.path, past, past);
    assert.deepEqual(await store.putJsonl('r/rows.jsonl', rows), ref);
    assert.equal(statSync(ref.path).mtimeMs, past.getTime());
    const changed = await store.put('r/config.json', '{"a":2}\n');
    assert.equal(changed.written, true);
    assert.equal(readFileSync(first.path!, 'utf8'), '{"a":2}\n');
    assert.deepEqual(readdirSync(path.join(store.root, 'r')).sort(), ['config.json', 'rows.jsonl']);
  });

  test('a reference whose artifact changed fails with the URI and both hashes', async () => {
    const store = fresh();
    const ref = await store.putJsonl('r/rows.jsonl', rows);
    writeFileSync(ref.path, readFileSync(ref.path, 'utf8').replace('dull', 'DULL'));
    const actual = sha(readFileSync(ref.path));
    for (const read of [
      () => store.getJsonl(ref, ExampleSchema),
      () => store.get(ref),
      async () => {
        for await (const r of store.streamJsonl(ref, ExampleSchema)) void r;
      },
    ]) {
      const err = await read().then(
        () => assert.fail('expected an IntegrityError'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof IntegrityError && err instanceof DatasetError);
      assert.equal(err.uri, ref.uri);
      assert.equal(err.expected, ref.sha256);
      assert.equal(err.actual, actual);
      assert.match(err.message, new RegExp(`^${ref.uri}: sha256 mismatch: the reference expects ${ref.sha256}`));
      assert.match(err.message, new RegExp(`hash to ${actual}`));
    }
    // a key read takes the expected hash as an option; without one nothing is checked
    await assert.rejects(store.getJsonl('r/rows.jsonl', ExampleSchema, { sha256: ref.sha256 }), IntegrityError);
    assert.equal((await store.getJsonl('r/rows.jsonl', ExampleSchema)).length, 3);
  });

  test('changed bytes that no longer parse report the sha256 mismatch, not the parse error', async () => {
    const store = fresh();
    const ref = await store.putJsonl('r/rows.jsonl', rows);
    writeFileSync(ref.path, '{"id": "a", broken\n');
    await assert.rejects(store.getJsonl(ref, ExampleSchema), IntegrityError);
  });

  test('JSONL errors name the file and the 1-based line, as readJsonl does', async () => {
    const store = fresh();
    const p = store.pathOf('r/bad.jsonl');
    await store.put('r/bad.jsonl', `${JSON.stringify(rows[0])}\n\n{"id": "b", oops}\n`);
    const viaStore = await store.getJsonl('r/bad.jsonl', ExampleSchema).catch((e: unknown) => e as Error);
    const viaReadJsonl = (await readJsonl(p, ExampleSchema).catch((e: unknown) => e)) as Error;
    assert.ok(viaStore instanceof DatasetError);
    assert.equal(viaStore.message, viaReadJsonl.message);
    assert.equal(viaStore.line, 3);
    assert.match(viaStore.message, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 3: invalid JSON`));

    await store.put('r/schema.jsonl', `${JSON.stringify(rows[0])}\n{"id":"b","text":"t"}\n`);
    await assert.rejects(store.getJsonl('r/schema.jsonl', ExampleSchema), (e: DatasetError) => {
      assert.equal(e.line, 2);
      assert.match(e.message, /line 2: record does not match the schema: label:/);
      return true;
    });
    await store.put('r/empty.jsonl', '\n');
    await assert.rejects(store.getJsonl('r/empty.jsonl', ExampleSchema), /empty\.jsonl: is empty \(no records\)/);
    assert.deepEqual(await store.getJsonl('r/empty.jsonl', ExampleSchema, { allowEmpty: true }), []);
    await assert.rejects(store.getJsonl('r/missing.jsonl', ExampleSchema), /missing\.jsonl: file not found/);
    await assert.rejects(store.get('r/missing.jsonl'), DatasetError);
    const streamed: unknown[] = [];
    await assert.rejects(async () => {
      for await (const r of store.streamJsonl('r/bad.jsonl', ExampleSchema)) streamed.push(r);
    }, /line 3: invalid JSON/);
    assert.deepEqual(streamed, [rows[0]]);
  });

  test('exists and list', async () => {
    const store = fresh();
    await store.putJsonl('r1/round-0/misclassified.jsonl', rows);
    await store.putJsonl('r1/round-1/misclassified.jsonl', rows);
    await store.put('r1/report.md', '# r1\n');
    await store.put('r10/report.md', '# r10\n');
    writeFileSync(path.join(store.root, 'r1', 'report.md.tmp-123-0badf00d'), 'half');
    assert.equal(await store.exists('r1/report.md'), true);
    assert.equal(await store.exists('r1/nothing.md'), false);
    assert.equal(await store.exists('r1/round-0'), false, 'a folder is not an artifact');
    assert.equal(await store.exists({ uri: store.uriOf('r1/report.md') }), true);
    assert.deepEqual(await store.list('r1/'), [
      'r1/report.md',
      'r1/round-0/misclassified.jsonl',
      'r1/round-1/misclassified.jsonl',
    ]);
    assert.deepEqual(await store.list('r1/round-'), [
      'r1/round-0/misclassified.jsonl',
      'r1/round-1/misclassified.jsonl',
    ]);
    assert.deepEqual(await store.list('r1'), [
      'r1/report.md',
      'r1/round-0/misclassified.jsonl',
      'r1/round-1/misclassified.jsonl',
      'r10/report.md',
    ]);
    assert.deepEqual(await store.list('nothing/'), []);
  });

  test('keys are relative and confined; uriOf and keyOf are inverse under the root', () => {
    const store = fresh();
    for (const bad of ['', '/abs', '../up', 'a/../b', 'a//b', 'a\\b', './a'])
      assert.throws(() => store.uriOf(bad), RangeError, bad);
    const uri = store.uriOf('r1/round-1/a b#c.jsonl');
    assert.equal(uri, pathToFileURL(path.join(store.root, 'r1', 'round-1', 'a b#c.jsonl')).href);
    assert.equal(store.keyOf(uri), 'r1/round-1/a b#c.jsonl');
    assert.equal(store.uriOf('r1/'), `${folderUri(path.join(store.root, 'r1'))}`);
    assert.equal(store.keyOf(store.uriOf('r1/')), 'r1/');
    assert.equal(store.keyOf(fileUri(path.dirname(store.root))), undefined);
    assert.equal(store.keyOf('s3://bucket/r1/x.jsonl'), undefined);
    assert.equal(store.rootUri, folderUri(store.root));
  });

  test('references recorded before uri existed (only path) are read, and their sha256 checked', async () => {
    const store = fresh();
    const { uri: _uri, ...old } = await store.putJsonl('r/rows.jsonl', rows);
    void _uri;
    assert.equal(refUri(old), pathToFileURL(old.path).href);
    assert.deepEqual(await store.getJsonl(old, ExampleSchema), rows);
    // any store of the scheme reads any of its references
    assert.deepEqual(await fresh().getJsonl(old, ExampleSchema), rows);
    assert.deepEqual(await storeFor(refUri(old)).getJsonl(old, ExampleSchema), rows);
    writeFileSync(old.path, '');
    await assert.rejects(store.getJsonl(old, ExampleSchema, { allowEmpty: true }), IntegrityError);
    assert.throws(() => refUri({}), /neither uri nor path/);
  });
});

describe('openStore / storeFor', () => {
  test('a file:// URI or a bare path opens a local folder store; other schemes are refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 's3-store-'));
    const a = openStore({ uri: folderUri(dir) });
    const b = openStore({ uri: dir });
    assert.ok(a instanceof LocalFolderStore && b instanceof LocalFolderStore);
    assert.equal(a.rootUri, b.rootUri);
    const ref = await a.putJsonl('x/y.jsonl', [{ n: 1 }]);
    assert.deepEqual(await b.getJsonl(ref, z.object({ n: z.number() })), [{ n: 1 }]);
    assert.equal((storeFor(ref.uri!) as LocalFolderStore).root, path.join(dir, 'x'));
    assert.equal((storeFor(folderUri(dir)) as LocalFolderStore).root, dir);
    assert.throws(() => openStore({ uri: 'gs://bucket/prefix/' }), /no artifact store for gs:\/\//);
  });
});

describe('the URI contract shared with the Python worker (tests/fixtures/student-contract)', () => {
  const fixture = (name: string): unknown =>
    JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'student-contract', name), 'utf8'));

  test('every fixture URI decodes to its path, and fileUri encodes to a URI of the same path', () => {
    const { cases } = fixture('file-uris.json') as { cases: { path: string; uri: string }[] };
    assert.ok(cases.length >= 5);
    for (const c of cases) {
      assert.equal(fileURLToPath(c.uri), c.path);
      assert.equal(fileURLToPath(fileUri(c.path)), c.path);
      assert.equal(refUri({ uri: c.uri }), c.uri);
    }
  });

  test('the fixture payload carries runUri and references with and without uri; each names its path', () => {
    const input = TrainInputSchema.parse(fixture('train-input.json'));
    assert.equal(input.task.runUri, 'file:///RUN/');
    const refs = [input.task.validation, input.task.test, input.task.contexts!, ...input.train];
    assert.ok(refs.some((r) => r.uri) && refs.some((r) => !r.uri), 'new and old references');
    for (const r of refs) assert.equal(refUri(r), pathToFileURL(r.path).href);
  });
});

test('the activities read and write through the store their dependencies open (<runId>/… keys)', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 's3-store-deps-'));
  const calls: string[] = [];
  const opened: StoreConfig[] = [];
  // a recording store around the local one: what a test (or an object store) plugs in
  const openRecording = (config: StoreConfig): ArtifactStore => {
    opened.push(config);
    const inner = openStore(config);
    return new Proxy(inner, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const what = args[0];
          calls.push(`${String(prop)} ${typeof what === 'string' ? what : refUri(what as { uri?: string })}`);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  };
  const acts = createActivities({ teachers: {} as TeacherPool, openStore: openRecording });
  const config = parseConfig({
    runId: 'deps',
    runRoot: path.join(root, 'runs'),
    cacheDir: path.join(root, 'cache'),
    task: { labels: ['positive', 'negative'], source: { type: 'files', validation: 'v.jsonl', test: 't.jsonl' } },
  });
  const local = new LocalFolderStore(path.join(root, 'runs'));
  const a = await local.putJsonl('deps/synthetic/a.jsonl', rows.slice(0, 2));
  const b = await local.putJsonl('deps/synthetic/b.jsonl', rows.slice(2));
  const task = { runDir: local.pathOf('deps'), validation: a, test: a, contexts: null };
  const merged = await acts.mergeTrainingSet({ config, task, train: [a, b] });
  assert.deepEqual(opened, [{ uri: folderUri(path.join(root, 'runs')) }]);
  assert.deepEqual(
    calls.filter((c) => !c.startsWith('uriOf')),
    [`getJsonl ${a.uri}`, `getJsonl ${b.uri}`, 'putJsonl deps/synthetic/final.jsonl'],
  );
  assert.equal(merged.uri, local.uriOf('deps/synthetic/final.jsonl'));
  assert.deepEqual(await local.getJsonl(merged, ExampleSchema), rows);
  // a reference that changed since it was recorded fails the activity as bad input (non-retryable)
  writeFileSync(b.path, '');
  await assert.rejects(acts.mergeTrainingSet({ config, task, train: [a, b] }), (e: Error & { type?: string }) => {
    assert.equal(e.type, 'InvalidInput');
    assert.match(e.message, /sha256 mismatch/);
    return true;
  });
});
