/**
 * The artifact store on a REAL S3-compatible server (issue 17): versitygw (Apache-2.0), started
 * on loopback by this test (tests/helpers/objectStore.ts; built by `S3_OBJECT_STORE=1 bash
 * scripts/setup.sh`, skipped with a message when it is missing). Not a mock: the S3 API is
 * served by the gateway over HTTP and the objects are files under its POSIX root.
 * - S3ObjectStore's contract: JSONL round trip, idempotent rewrite (no PUT), sha256 checked on
 *   read, missing objects, listing, and the errors for an unreachable store, missing credentials
 *   and a missing bucket (each naming the URI);
 * - a tiny s3Synthesis run (real dev server, the TypeScript worker in-process, the loopback fake
 *   teacher — a test double) with `artifacts.uri: s3://…`: every artifact lands in the bucket and
 *   nothing in the local run folder; the teacher cache is in the bucket too, so the same run on a
 *   second worker (own task queue, own teacher pool, nothing local shared) pays for no call.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { DatasetError, readJsonl } from '../../data/jsonl.js';
import {
  IntegrityError,
  openStore,
  pullArtifacts,
  S3ObjectStore,
  StoreAccessError,
  storeFor,
} from '../../store/index.js';
import { TeacherCache } from '../../teacher/cache.js';
import type { S3Result } from '../../workflows/types.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import {
  OBJECT_STORE_SKIP,
  startObjectStore,
  timedOpenStore,
  type ObjectStoreServer,
  type StoreStats,
  useStoreCredentials,
} from '../helpers/objectStore.js';
import { startWorkflowHarness } from '../helpers/temporal.js';

const Row = z.object({ label: z.string(), text: z.string() });
let s3: ObjectStoreServer;
let restoreCredentials: (() => void) | undefined;

describe('artifact store on a real S3-compatible server (versitygw)', { skip: OBJECT_STORE_SKIP }, () => {
  before(async () => {
    s3 = await startObjectStore();
    restoreCredentials = useStoreCredentials(s3);
  });
  after(async () => {
    restoreCredentials?.();
    await s3?.stop();
  });

  test('S3ObjectStore: atomic idempotent writes, sha256 checked on read, listing', async () => {
    const store = openStore({ uri: `s3://${s3.bucket}/unit`, endpoint: s3.endpoint });
    assert.ok(store instanceof S3ObjectStore);
    assert.equal(store.rootUri, `s3://${s3.bucket}/unit/`);
    const rows = [
      { label: 'positive', text: 'good' },
      { label: 'negative', text: 'bad ✓' },
    ];
    const ref = await store.putJsonl('r1/a.jsonl', rows);
    assert.equal(ref.uri, `s3://${s3.bucket}/unit/r1/a.jsonl`);
    assert.deepEqual(ref.labelCounts, { positive: 1, negative: 1 });
    assert.equal(ref.count, 2);
    // the object is a file under the gateway's POSIX root
    assert.ok(existsSync(path.join(s3.root, 'data', s3.bucket, 'unit', 'r1', 'a.jsonl')));
    const again = await store.put('r1/a.jsonl', rows.map((r) => JSON.stringify(r) + '\n').join(''));
    assert.equal(again.written, false, 'same bytes: no PUT');
    assert.equal(again.sha256, ref.sha256);
    assert.deepEqual(await store.getJsonl(ref, Row), rows);
    const streamed = [];
    for await (const r of storeFor(ref.uri!).streamJsonl(ref, Row)) streamed.push(r);
    assert.deepEqual(streamed, rows);
    assert.equal(store.keyOf(ref.uri!), 'r1/a.jsonl');
    assert.equal(await store.exists('r1/a.jsonl'), true);
    assert.equal(await store.exists('r1/b.jsonl'), false);
    await store.put('r1/b.txt', 'x');
    await store.put('r2/c.txt', 'y');
    assert.deepEqual(await store.list('r1/'), ['r1/a.jsonl', 'r1/b.txt']);
    assert.deepEqual(await store.list('r'), ['r1/a.jsonl', 'r1/b.txt', 'r2/c.txt']);

    const changed = await store.put('r1/a.jsonl', '{"label":"positive","text":"changed"}\n');
    assert.equal(changed.written, true);
    // the read by reference is now served from this machine's local copy of the bytes it names
    // (store/localcache.ts); without one, the changed object is refused
    assert.deepEqual(await store.getJsonl(ref, Row), rows);
    const noLocalCopy = new S3ObjectStore(
      { uri: `s3://${s3.bucket}/unit`, endpoint: s3.endpoint },
      { localCache: false },
    );
    await assert.rejects(noLocalCopy.getJsonl(ref, Row), (e: unknown) => {
      assert.ok(e instanceof IntegrityError);
      assert.equal(e.uri, ref.uri);
      assert.equal(e.expected, ref.sha256);
      return true;
    });
    await assert.rejects(store.get('r1/missing.jsonl'), (e: unknown) => {
      assert.ok(e instanceof DatasetError && !(e instanceof IntegrityError));
      assert.match((e as Error).message, /unit\/r1\/missing\.jsonl.*object not found/);
      return true;
    });
  });

  test('the teacher cache in the store: an entry put by one worker is a hit for another', async () => {
    const a = new TeacherCache(openStore({ uri: `s3://${s3.bucket}/cache/teacher/`, endpoint: s3.endpoint }));
    const b = new TeacherCache(storeFor(`s3://${s3.bucket}/cache/teacher/`));
    const key = 'ab'.repeat(32);
    assert.equal(await a.get(key), undefined);
    await a.put(key, { text: 'hi', promptTokens: 3, completionTokens: 1, ms: 5, cached: false });
    assert.deepEqual(await b.get(key), { text: 'hi', promptTokens: 3, completionTokens: 1, ms: 5, cached: true });
    assert.equal(b.fileOf(key), `s3://${s3.bucket}/cache/teacher/ab/${key}.json`);
  });

  test('clear errors naming the URI: unreachable store, missing credentials, missing bucket', async () => {
    const dead = openStore({ uri: `s3://${s3.bucket}/x/`, endpoint: 'http://127.0.0.1:9' });
    await assert.rejects(dead.put('k.json', '{}'), (e: unknown) => {
      assert.ok(e instanceof StoreAccessError, String(e));
      assert.match(
        (e as Error).message,
        /artifact store s3:\/\/.*\/x\/k\.json: cannot reach the endpoint http:\/\/127\.0\.0\.1:9/,
      );
      return true;
    });
    await assert.rejects(
      openStore({ uri: 's3://no-such-bucket/x/', endpoint: s3.endpoint }).put('k.json', '{}'),
      /artifact store s3:\/\/no-such-bucket\/x\/k\.json: the bucket does not exist/,
    );
    // no credentials anywhere in the default chain (a fresh client: another region)
    const env = { ...process.env };
    try {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
        delete process.env[k];
      process.env.AWS_EC2_METADATA_DISABLED = 'true';
      process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
      process.env.AWS_CONFIG_FILE = '/nonexistent/config';
      const noCreds = openStore({ uri: `s3://${s3.bucket}/y/`, endpoint: s3.endpoint, region: 'eu-nocreds-1' });
      await assert.rejects(noCreds.get('k.json'), (e: unknown) => {
        assert.ok(e instanceof StoreAccessError, String(e));
        assert.match(
          (e as Error).message,
          /artifact store s3:\/\/.*\/y\/k\.json: no credentials: set AWS_ACCESS_KEY_ID/,
        );
        return true;
      });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
      Object.assign(process.env, env);
    }
  });

  test('a run with artifacts.uri s3://…: every artifact in the bucket, none local; a second worker pays for no call', async () => {
    const gold = writeGoldTask({ validation: 30, test: 30 });
    const h = await startWorkflowHarness('s3-objstore-a');
    try {
      const artifacts = { uri: `s3://${s3.bucket}/runs`, endpoint: s3.endpoint };
      const config = (runId: string) => ({
        ...fakeRunConfig(gold, h.fake.baseURL, { runId, seedSize: 12, rounds: 1 }),
        artifacts,
      });
      const t0 = Date.now();
      const first = (await h.env.client.workflow.execute('s3Synthesis', {
        taskQueue: 's3-objstore-a',
        workflowId: 'objstore-1',
        args: [config('objstore-1')],
      })) as S3Result;
      const ms = Date.now() - t0;
      assert.match(first.dataset.uri ?? '', new RegExp(`^s3://${s3.bucket}/runs/objstore-1/`));
      const store = openStore({ uri: `s3://${s3.bucket}/runs/`, endpoint: s3.endpoint });
      const keys = await store.list('objstore-1/');
      for (const k of ['config.json', 'report.json', 'report.md', 'synthetic/final.jsonl'])
        assert.ok(keys.includes(`objstore-1/${k}`), `objstore-1/${k} in the bucket (${keys.join(', ')})`);
      assert.ok(
        keys.some((k) => k.startsWith('objstore-1/gold/')),
        'gold splits in the bucket',
      );
      assert.equal(existsSync(path.join(gold.dir, 'runs')), false, 'nothing in the local runRoot');
      assert.equal(existsSync(path.join(gold.dir, 'cache', 'teacher')), false, 'no local teacher cache');
      const final = await store.getJsonl(first.dataset, z.object({ label: z.string() }).loose());
      assert.equal(final.length, first.dataset.count);
      // a run pulled from the bucket into a local folder (s3 pull), then again: nothing to copy
      const local = path.join(gold.dir, 'pulled');
      const pulled = await pullArtifacts(store, 'objstore-1/', local);
      assert.equal(pulled.files.length, keys.length);
      assert.equal(pulled.written, keys.length);
      assert.deepEqual(
        await readJsonl(path.join(local, 'synthetic', 'final.jsonl'), z.object({ label: z.string() }).loose()),
        final,
      );
      assert.equal((await pullArtifacts(store, 'objstore-1/', local)).written, 0, 'identical files left untouched');
      const cached = await store.list('cache/teacher/');
      assert.ok(cached.length > 0, 'teacher cache entries in the bucket');
      const paid = h.fake.answered;
      assert.equal(h.fake.answeredTwice().length, 0);

      // "another machine": a second worker, its own teacher pool and task queue, nothing local shared
      const { createWorker } = await import('../../workers/worker.js');
      const stats: StoreStats = { calls: 0, ms: 0 };
      const other = await createWorker({
        connection: h.env.nativeConnection,
        namespace: h.env.namespace,
        taskQueue: 's3-objstore-b',
        openStore: timedOpenStore(stats),
      });
      const running = other.worker.run();
      try {
        const t1 = Date.now();
        const second = (await h.env.client.workflow.execute('s3Synthesis', {
          taskQueue: 's3-objstore-b',
          workflowId: 'objstore-2',
          args: [{ ...config('objstore-2'), cacheDir: path.join(gold.dir, 'other-cache') }],
        })) as S3Result;
        assert.equal(h.fake.answered, paid, 'every teacher call of the same run was a hit in the shared cache');
        assert.equal(second.dataset.sha256, first.dataset.sha256, 'same data from the shared cache');
        assert.equal(second.usage.cachedCalls, second.usage.calls);
        const wall = Date.now() - t1;
        assert.ok(stats.calls > 0, 'the second worker went through the store');
        console.log(
          `second run (every teacher call from the shared cache): ${wall} ms wall, ${stats.calls} store calls, ` +
            `${Math.round(stats.ms)} ms in store calls (summed over concurrent calls)`,
        );
      } finally {
        other.worker.shutdown();
        await running;
        await other.teachers.close();
      }
      console.log(
        `object store run: ${ms} ms, ${keys.length} artifacts, ${cached.length} cache entries, ${paid} teacher calls paid once`,
      );
    } finally {
      await h.close();
    }
  });
  test('an experiment with artifacts.uri s3://…: arms, quality maps and the report all in the bucket', async () => {
    const gold = writeGoldTask({ validation: 30, test: 40 });
    const h = await startWorkflowHarness('s3-objstore-exp');
    try {
      const cfg = {
        experimentId: 'exp-bucket',
        runRoot: path.join(gold.dir, 'runs'),
        cacheDir: path.join(gold.dir, 'cache'),
        artifacts: { uri: `s3://${s3.bucket}/experiments`, endpoint: s3.endpoint },
        task: {
          kind: 'single' as const,
          item: 'review',
          labels: ['positive', 'negative'],
          source: { type: 'files' as const, validation: gold.validation, test: gold.test },
        },
        teacher: { provider: 'openai' as const, baseURL: h.fake.baseURL, model: 'fake-teacher', concurrency: 4 },
        synthesis: { rounds: 1, numRationales: 4 },
        timeouts: { heartbeatSec: 30, activityMin: 10 },
        seeds: [1],
        budget: { examples: 12 },
        arms: [{ method: 's3' as const }, { method: 'zerogen' as const }],
        quality: true,
      };
      const out = (await h.env.client.workflow.execute('s3Experiment', {
        taskQueue: 's3-objstore-exp',
        workflowId: 'exp-bucket',
        args: [cfg],
      })) as { summary: { results: { status: string; error?: string; workflowId: string }[] } };
      for (const r of out.summary.results) assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
      const store = openStore({ uri: `s3://${s3.bucket}/experiments/`, endpoint: s3.endpoint });
      const keys = await store.list('exp-bucket/');
      for (const k of ['report.md', 'report.html', 'results.json', 'results.jsonl'])
        assert.ok(keys.includes(`exp-bucket/${k}`), `${k} in the bucket (${keys.join(', ')})`);
      for (const arm of ['s3', 'zerogen'])
        assert.ok(keys.includes(`exp-bucket/${arm}/seed-1/synthetic/final.jsonl`), `${arm}'s final dataset`);
      assert.ok(
        keys.some((k) => /^exp-bucket\/s3\/seed-1\/quality\/map\.jsonl$/.test(k)),
        'the quality map in the bucket',
      );
      const html = (await store.get('exp-bucket/report.html')).toString('utf8');
      assert.match(html, /<svg/);
      assert.doesNotMatch(html, /not drawn/, 'every chart drawn: the report read the quality maps from the bucket');
      assert.ok((await store.list('cache/teacher/')).length > 0, "the experiment's teacher cache in the bucket");
      assert.equal(existsSync(path.join(gold.dir, 'runs')), false, 'nothing in the local runRoot');
    } finally {
      await h.close();
    }
  });
});
