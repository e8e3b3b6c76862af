/**
 * The encoder's embedding cache in an artifact store (student/encoder.ts, activities/paths.ts
 * embeddingCacheOf): content-addressed shards shared by workers with separate memories, on a
 * local folder store and on a real S3-compatible server (versitygw; skipped when not built).
 * Uses the tiny random BERT of tests/fixtures/tiny-encoder (a few short texts: little CPU).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scoreInfluence } from '../../activities/influence.js';
import { embeddingCacheOf, runDirOf, teacherCacheOf } from '../../activities/paths.js';
import type { TaskRefs } from '../../activities/prepare.js';
import { parseConfig } from '../../config/schema.js';
import { readJsonl, writeJsonl } from '../../data/jsonl.js';
import { ExampleSchema } from '../../domain/types.js';
import { folderUri, LocalFolderStore, openStore, type ArtifactStore } from '../../store/index.js';
import { embeddingStats, FrozenEncoder, resetEmbeddingCaches, type EmbeddingStats } from '../../student/encoder.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import {
  OBJECT_STORE_SKIP,
  startObjectStore,
  type ObjectStoreServer,
  useStoreCredentials,
} from '../helpers/objectStore.js';

const MODEL = fileURLToPath(new URL('../fixtures/tiny-encoder', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 's3-emb-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A valid run configuration with `over` (the task is never read here). */
const configOf = (over: Record<string, unknown>) =>
  parseConfig({
    task: { labels: ['a', 'b'], source: { type: 'files', validation: 'v.jsonl', test: 't.jsonl' } },
    ...over,
  });

const T = ['the cat sat', 'a dog barked twice', 'rain fell on the roof', 'the film was great'];

/** Requests a store received, by method. */
type Calls = { list: number; get: number; put: number };

/** `store` counting its list / get / put calls into `calls`. */
function counted(store: ArtifactStore, calls: Calls): ArtifactStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (prop === 'list' || prop === 'get' || prop === 'put')
        return (...args: unknown[]) => {
          calls[prop]++;
          return fn(...args);
        };
      return fn;
    },
  });
}

/** The counters' change while `fn` runs. */
async function delta<R>(fn: () => Promise<R>): Promise<{ result: R; d: EmbeddingStats }> {
  const before = embeddingStats();
  const result = await fn();
  const now = embeddingStats();
  return {
    result,
    d: {
      embedded: now.embedded - before.embedded,
      cacheHits: now.cacheHits - before.cacheHits,
      loadedFromDisk: now.loadedFromDisk - before.loadedFromDisk,
      passes: now.passes - before.passes,
    },
  };
}

const bytesOf = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Shard keys under the store's root, checked to be `<16 hex>/<sha256 of their bytes>.jsonl`. */
async function shards(store: ArtifactStore): Promise<string[]> {
  const keys = await store.list('');
  for (const key of keys) {
    assert.match(key, /^[0-9a-f]{16}\/[0-9a-f]{64}\.jsonl$/);
    assert.equal(sha256(await store.get(key)) + '.jsonl', key.slice(17), `${key} is named by its content`);
  }
  return keys;
}

test('embeddingCacheOf: the shared cache root when there is one, else <cacheDir>/embeddings', () => {
  const opened: string[] = [];
  const deps = {
    openStore: (c: { uri: string }) => {
      opened.push(c.uri);
      return openStore({ uri: join(tmp, 'unused') });
    },
  };
  const local = configOf({ cacheDir: join(tmp, 'c') });
  assert.deepEqual(embeddingCacheOf(deps, local), { cacheDir: join(tmp, 'c', 'embeddings') });
  const s3 = configOf({ artifacts: { uri: 's3://bkt/runs', endpoint: 'http://127.0.0.1:1' } });
  assert.ok('store' in embeddingCacheOf(deps, s3));
  teacherCacheOf(deps, s3);
  const named = configOf({ artifacts: { uri: 's3://bkt/runs', cacheUri: 's3://other/c' } });
  embeddingCacheOf(deps, named);
  assert.deepEqual(opened, [
    's3://bkt/runs/cache/embeddings/',
    's3://bkt/runs/cache/teacher/',
    's3://other/c/embeddings/',
  ]);
});

test('store cache: a second worker embeds nothing the first stored; each embed() lists at most once', async () => {
  resetEmbeddingCaches();
  const dir = join(tmp, 'shared');
  mkdirSync(dir);
  symlinkSync(dir, join(tmp, 'mount-b')); // worker B reaches the same folder by another root: its own memory
  const callsA: Calls = { list: 0, get: 0, put: 0 };
  const callsB: Calls = { list: 0, get: 0, put: 0 };
  const storeA = new LocalFolderStore(dir);
  const a = new FrozenEncoder(MODEL, { store: counted(storeA, callsA) });
  const b = new FrozenEncoder(MODEL, { store: counted(new LocalFolderStore(join(tmp, 'mount-b')), callsB) });
  assert.throws(() => a.cacheFile, /the embedding cache is the store/);

  const first = await delta(() => a.embed([T[0], T[1], T[2], T[0]]));
  assert.deepEqual(first.d, { embedded: 3, cacheHits: 1, loadedFromDisk: 0, passes: 1 });
  assert.deepEqual(callsA, { list: 1, get: 0, put: 1 });
  const [shard1] = await shards(storeA);
  const lines = (await storeA.get(shard1)).toString().trim().split('\n');
  assert.equal(lines.length, 3);
  const keys = lines.map((l) => (JSON.parse(l) as { k: string }).k);
  assert.deepEqual(keys, [...keys].sort(), 'lines sorted by key');

  // worker B: its own memory, the same shards; only the new text is embedded
  const second = await delta(() => b.embed([T[1], T[2], T[0], T[3]]));
  assert.deepEqual(second.d, { embedded: 1, cacheHits: 3, loadedFromDisk: 3, passes: 1 });
  assert.deepEqual(callsB, { list: 1, get: 1, put: 1 });
  assert.equal((await shards(storeA)).length, 2);
  second.result.slice(0, 3).forEach((v, i) => assert.ok(bytesOf(v).equals(bytesOf(first.result[[1, 2, 0][i]]))));

  // worker A, still running, misses T[3]: one LIST, reads only B's shard, embeds nothing
  const third = await delta(() => a.embed([T[3], T[0]]));
  assert.deepEqual(third.d, { embedded: 0, cacheHits: 2, loadedFromDisk: 1, passes: 0 });
  assert.deepEqual(callsA, { list: 2, get: 1, put: 1 });
  assert.ok(bytesOf(third.result[0]).equals(bytesOf(second.result[3])), 'the vector B computed, bit for bit');
  // everything in memory: the store is not asked at all
  await a.embed([T[1], T[3]]);
  assert.deepEqual(callsA, { list: 2, get: 1, put: 1 });

  // a fresh process reads both shards and skips one whose bytes do not match its name
  const prefix = shard1.slice(0, 17);
  writeFileSync(join(dir, prefix, `${'0'.repeat(64)}.jsonl`), lines[0] + '\n');
  resetEmbeddingCaches();
  const fresh = await delta(() => new FrozenEncoder(MODEL, { store: storeA }).embed(T));
  assert.deepEqual(fresh.d, { embedded: 0, cacheHits: 4, loadedFromDisk: 4, passes: 0 });
  fresh.result.forEach((v, i) => assert.ok(bytesOf(v).equals(bytesOf((i < 3 ? first.result : second.result)[i]))));

  // the same texts in a local-folder cache give the same vectors (to float rounding of a batch)
  resetEmbeddingCaches();
  const local = await new FrozenEncoder(MODEL, { cacheDir: join(tmp, 'local') }).embed(T);
  local.forEach((v, i) =>
    v.forEach((x, d) => assert.ok(Math.abs(x - fresh.result[i][d]) < 1e-5, `text ${i} dim ${d}`)),
  );
});

test('activities: with artifacts.cacheUri the encoder student keeps its embeddings there, not in cacheDir', async () => {
  const gold = writeGoldTask({ validation: 6, test: 2 });
  const shared = join(tmp, 'activity-cache');
  const config = parseConfig({
    ...fakeRunConfig(gold, 'http://127.0.0.1:9/v1', { runId: 'emb-activity', cacheDir: join(tmp, 'local-cache') }),
    runRoot: join(tmp, 'runs'),
    student: { kind: 'encoder-logreg', encoderPath: MODEL },
    artifacts: { cacheUri: folderUri(shared) },
  });
  const runDir = runDirOf(config);
  const validation = await readJsonl(gold.validation, ExampleSchema);
  const task: TaskRefs = {
    runDir,
    validation: await writeJsonl(join(runDir, 'gold', 'validation.jsonl'), validation),
    test: await writeJsonl(join(runDir, 'gold', 'test.jsonl'), await readJsonl(gold.test, ExampleSchema)),
    contexts: null,
  };
  const synth = ['great stay', 'awful food', 'loved it', 'boring day', 'kind staff', 'cold room'].map((text, i) => ({
    id: `s${i}`,
    text,
    label: i % 2 ? 'negative' : 'positive',
  }));
  const train = [await writeJsonl(join(runDir, 'synthetic', 'seed.jsonl'), synth)];

  resetEmbeddingCaches();
  await scoreInfluence({ config, task, train, round: 1, topK: 2 });
  const texts = new Set([...synth, ...validation].map((x) => x.text)).size;
  assert.equal(embeddingStats().embedded, texts);
  const store = new LocalFolderStore(join(shared, 'embeddings'));
  assert.ok((await shards(store)).length >= 1);
  assert.ok(!existsSync(join(tmp, 'local-cache', 'embeddings')), 'nothing in the local cacheDir');

  resetEmbeddingCaches(); // another worker: every text comes from the shards
  await scoreInfluence({ config, task, train, round: 1, topK: 2 });
  const again = embeddingStats();
  assert.equal(again.embedded, 0);
  assert.equal(again.loadedFromDisk, texts);
});

describe('store cache on a real S3-compatible server (versitygw)', { skip: OBJECT_STORE_SKIP }, () => {
  let s3: ObjectStoreServer;
  let restoreCredentials: (() => void) | undefined;
  before(async () => {
    s3 = await startObjectStore();
    restoreCredentials = useStoreCredentials(s3);
  });
  after(async () => {
    restoreCredentials?.();
    await s3?.stop();
  });

  test('workers that open the configuration share the shards under <uri>/cache/embeddings/', async () => {
    const config = configOf({
      cacheDir: join(tmp, 'never-used'),
      artifacts: { uri: `s3://${s3.bucket}/exp`, endpoint: s3.endpoint },
    });
    const worker = (calls: Calls) => {
      const cache = embeddingCacheOf({ openStore: (c) => counted(openStore(c), calls) }, config);
      assert.ok('store' in cache);
      return new FrozenEncoder(MODEL, cache);
    };
    const root = openStore({ uri: `s3://${s3.bucket}/exp/cache/embeddings/`, endpoint: s3.endpoint });

    resetEmbeddingCaches();
    const callsA: Calls = { list: 0, get: 0, put: 0 };
    const a = await delta(() => worker(callsA).embed([T[0], T[1]]));
    assert.equal(a.d.embedded, 2);
    assert.deepEqual(callsA, { list: 1, get: 0, put: 1 });

    resetEmbeddingCaches(); // another machine
    const callsB: Calls = { list: 0, get: 0, put: 0 };
    const b = await delta(() => worker(callsB).embed([T[1], T[0], T[2]]));
    assert.deepEqual(b.d, { embedded: 1, cacheHits: 2, loadedFromDisk: 2, passes: 1 });
    assert.deepEqual(callsB, { list: 1, get: 1, put: 1 });
    assert.ok(bytesOf(b.result[0]).equals(bytesOf(a.result[1])));
    assert.ok(bytesOf(b.result[1]).equals(bytesOf(a.result[0])));

    resetEmbeddingCaches(); // a third machine embeds nothing
    const callsC: Calls = { list: 0, get: 0, put: 0 };
    const c = await delta(() => worker(callsC).embed([T[0], T[1], T[2]]));
    assert.deepEqual(c.d, { embedded: 0, cacheHits: 3, loadedFromDisk: 3, passes: 0 });
    assert.deepEqual(callsC, { list: 1, get: 2, put: 0 });
    c.result.forEach((v, i) => assert.ok(bytesOf(v).equals(bytesOf([a.result[0], a.result[1], b.result[2]][i]))));
    assert.equal((await shards(root)).length, 2);
  });
});
