/**
 * S3ObjectStore's bounded local read-through copy (store/localcache.ts) and its multipart uploads
 * (`@aws-sdk/lib-storage`), against a REAL S3-compatible server: versitygw started on loopback
 * (tests/helpers/objectStore.ts; skipped when it is not built). The S3 calls are counted by an
 * SDK middleware on the store's client (every command the client sends), not by the store itself.
 * The LocalReadCache tests without a server (eviction order, bound, corrupt copies, options from
 * the environment) always run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { IntegrityError, S3ObjectStore } from '../../store/index.js';
import {
  DEFAULT_LOCAL_CACHE_BYTES,
  defaultLocalCacheDir,
  LocalReadCache,
  localCacheOptionsFromEnv,
} from '../../store/localcache.js';
import { meterStore, resetStoreMetrics, storeMetrics } from '../../store/metered.js';
import {
  OBJECT_STORE_SKIP,
  startObjectStore,
  type ObjectStoreServer,
  useStoreCredentials,
} from '../helpers/objectStore.js';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Total bytes of the copies (files named by a sha256) in `dir`. */
const folderBytes = (dir: string) =>
  readdirSync(dir)
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .reduce((s, n) => s + statSync(path.join(dir, n)).size, 0);

describe('LocalReadCache (no server)', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'local-copy-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  test('options from the environment: folder, bound, 0 turns it off, junk refused', () => {
    assert.deepEqual(localCacheOptionsFromEnv({}), {
      dir: defaultLocalCacheDir(),
      maxBytes: DEFAULT_LOCAL_CACHE_BYTES,
    });
    assert.equal(defaultLocalCacheDir(), path.join(os.tmpdir(), 's3-synth', 'store'));
    assert.deepEqual(localCacheOptionsFromEnv({ S3_STORE_LOCAL_CACHE: dir, S3_STORE_LOCAL_CACHE_BYTES: '4096' }), {
      dir,
      maxBytes: 4096,
    });
    assert.equal(localCacheOptionsFromEnv({ S3_STORE_LOCAL_CACHE_BYTES: '0' }), undefined);
    assert.throws(() => localCacheOptionsFromEnv({ S3_STORE_LOCAL_CACHE_BYTES: '1GB' }), /S3_STORE_LOCAL_CACHE_BYTES/);
    assert.throws(() => new LocalReadCache({ dir, maxBytes: 0 }), RangeError);
  });

  test('least recently used copies are evicted beyond the bound; a hit counts as a use', async () => {
    const cache = new LocalReadCache({ dir: path.join(dir, 'lru'), maxBytes: 3000 });
    const blobs = ['a', 'b', 'c', 'd'].map((c) => Buffer.alloc(1000, c));
    for (const b of blobs.slice(0, 3)) {
      await cache.write(sha(b), b);
      await sleep(15); // distinct mtimes
    }
    assert.equal(folderBytes(cache.dir), 3000);
    assert.deepEqual(await cache.read(sha(blobs[0])), blobs[0]); // a: used again, now the newest
    await sleep(15);
    await cache.write(sha(blobs[3]), blobs[3]);
    assert.ok(folderBytes(cache.dir) <= 3000, `${folderBytes(cache.dir)} bytes`);
    assert.equal(await cache.read(sha(blobs[1])), undefined, 'b (least recently used) evicted');
    for (const b of [blobs[0], blobs[2], blobs[3]]) assert.deepEqual(await cache.read(sha(b)), b);
    assert.equal(cache.stats.evicted, 1);
    const big = Buffer.alloc(3001, 'z');
    await cache.write(sha(big), big);
    assert.equal(existsSync(cache.fileOf(sha(big))), false, 'larger than the bound: not kept');
    assert.ok(folderBytes(cache.dir) <= 3000);
  });

  test('a corrupt copy is deleted and reported as a miss', async () => {
    const cache = new LocalReadCache({ dir: path.join(dir, 'corrupt'), maxBytes: 1 << 20 });
    const b = Buffer.from('hello');
    await cache.write(sha(b), b);
    writeFileSync(cache.fileOf(sha(b)), 'hellO');
    assert.equal(await cache.read(sha(b)), undefined);
    assert.equal(existsSync(cache.fileOf(sha(b))), false);
    assert.equal(cache.stats.corrupt, 1);
    assert.throws(() => cache.fileOf('../etc/passwd'), RangeError);
    assert.equal(LocalReadCache.usable('ABC'), false);
  });
});

describe(
  'S3ObjectStore on versitygw: local read-through copy and multipart uploads',
  { skip: OBJECT_STORE_SKIP },
  () => {
    let s3: ObjectStoreServer;
    let dir: string;
    let restoreCredentials: (() => void) | undefined;
    /** S3 commands sent by the clients of the stores under test, by command name */
    const sent: Record<string, number> = {};
    const count = (name: string) => sent[name] ?? 0;

    /** A store on the test bucket whose client (shared by the stores of one endpoint) counts every command. */
    async function countedStore(prefix: string, opts: ConstructorParameters<typeof S3ObjectStore>[1]) {
      const store = new S3ObjectStore({ uri: `s3://${s3.bucket}/${prefix}`, endpoint: s3.endpoint }, opts);
      (await store.client).middlewareStack.add(
        (next, context) => (args) => {
          sent[context.commandName!] = (sent[context.commandName!] ?? 0) + 1;
          return next(args);
        },
        { step: 'initialize', name: 'countCommands', override: true },
      );
      return store;
    }

    before(async () => {
      s3 = await startObjectStore('local-copy-test');
      dir = await mkdtemp(path.join(os.tmpdir(), 'local-copy-s3-'));
      restoreCredentials = useStoreCredentials(s3);
    });
    after(async () => {
      restoreCredentials?.();
      await s3?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    test('a second read by sha256 makes no GetObject; the metered wrapper counts it as a local hit', async () => {
      const folder = path.join(dir, 'hits');
      const store = await countedStore('hits', { localCache: { dir: folder, maxBytes: 1 << 20 } });
      const Row = z.object({ id: z.string(), label: z.string() });
      const rows = [
        { id: 'a', label: 'ham' },
        { id: 'b', label: 'spam' },
      ];
      const ref = await store.putJsonl('gold/validation.jsonl', rows);
      const metered = meterStore(store);
      resetStoreMetrics();
      const gets0 = count('GetObjectCommand');
      assert.deepEqual(await metered.getJsonl(ref, Row), rows);
      assert.equal(count('GetObjectCommand'), gets0 + 1, 'first read: from the store');
      assert.ok(existsSync(path.join(folder, ref.sha256)), 'the verified bytes kept under their sha256');
      assert.deepEqual(await metered.getJsonl(ref, Row), rows);
      assert.deepEqual(
        JSON.parse((await metered.get('gold/validation.jsonl', { sha256: ref.sha256 })).toString().split('\n')[0]),
        rows[0],
      );
      assert.equal(count('GetObjectCommand'), gets0 + 1, 'second and third read by sha256: no GetObject');
      const m = storeMetrics();
      assert.deepEqual(m.calls, { getJsonl: 1 });
      assert.deepEqual(m.localHits, { getJsonl: 1, get: 1 });

      // a read without an expected sha256 bypasses the local copy, every time (as localCopy: false)
      const files = readdirSync(folder).length;
      await store.get('gold/validation.jsonl');
      await store.get('gold/validation.jsonl');
      assert.equal(count('GetObjectCommand'), gets0 + 3);
      assert.equal(readdirSync(folder).length, files, 'nothing kept for a read without sha256');
      await store.get('gold/validation.jsonl', { sha256: ref.sha256, localCopy: false });
      assert.equal(count('GetObjectCommand'), gets0 + 4, 'localCopy: false reads the store itself');

      // the object rewritten under the same key: a read by the old reference gets the bytes it names
      // from the local copy; by key, the new bytes; without the local copy, the rewrite is refused
      await store.put('gold/validation.jsonl', '{"id":"z","label":"ham"}\n');
      assert.deepEqual(await store.getJsonl(ref, Row), rows);
      assert.deepEqual(await store.getJsonl('gold/validation.jsonl', Row), [{ id: 'z', label: 'ham' }]);
      const direct = new S3ObjectStore({ uri: `s3://${s3.bucket}/hits`, endpoint: s3.endpoint }, { localCache: false });
      await assert.rejects(direct.getJsonl(ref, Row), IntegrityError);
    });

    test('a corrupted local copy is fetched again (and replaced)', async () => {
      const folder = path.join(dir, 'corrupt');
      const store = await countedStore('corrupt', { localCache: { dir: folder, maxBytes: 1 << 20 } });
      const put = await store.put('a.txt', 'the right bytes');
      const gets0 = count('GetObjectCommand');
      assert.equal((await store.get('a.txt', { sha256: put.sha256 })).toString(), 'the right bytes');
      writeFileSync(path.join(folder, put.sha256), 'the wrong bytes');
      assert.equal((await store.get({ uri: put.uri, sha256: put.sha256 })).toString(), 'the right bytes');
      assert.equal(count('GetObjectCommand'), gets0 + 2, 'the corrupt copy sent the read to the store');
      assert.equal(store.localCache!.stats.corrupt, 1);
      assert.equal(sha(readFileSync(path.join(folder, put.sha256))), put.sha256, 'replaced by the verified bytes');
      assert.equal((await store.get('a.txt', { sha256: put.sha256 })).toString(), 'the right bytes');
      assert.equal(count('GetObjectCommand'), gets0 + 2);
    });

    test('eviction keeps the folder under its bound', async () => {
      const folder = path.join(dir, 'bound');
      const store = await countedStore('bound', { localCache: { dir: folder, maxBytes: 10_000 } });
      const refs = [];
      for (let i = 0; i < 8; i++) refs.push(await store.put(`o${i}.bin`, Buffer.alloc(3000, i)));
      for (const r of refs) {
        await store.get({ uri: r.uri, sha256: r.sha256 });
        assert.ok(folderBytes(folder) <= 10_000, `${folderBytes(folder)} bytes after ${r.uri}`);
        await sleep(15);
      }
      assert.deepEqual(
        readdirSync(folder).sort(),
        refs
          .slice(5)
          .map((r) => r.sha256)
          .sort(),
        'the three most recently read are kept',
      );
      const gets = count('GetObjectCommand');
      await store.get({ uri: refs[0].uri, sha256: refs[0].sha256 });
      assert.equal(count('GetObjectCommand'), gets + 1, 'an evicted copy is fetched again');
    });

    test('a body above the multipart threshold is uploaded in parts, with its sha256, and read back', async () => {
      const folder = path.join(dir, 'mp');
      const store = await countedStore('mp', {
        localCache: { dir: folder, maxBytes: 64 << 20 },
        multipartBytes: 1 << 20,
        partBytes: 5 << 20,
      });
      const big = Buffer.alloc(11 << 20);
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
      const before = { ...sent };
      const put = await store.put('big/model.bin', big);
      assert.equal(put.written, true);
      assert.equal(put.sha256, sha(big));
      const delta = (n: string) => count(n) - (before[n] ?? 0);
      assert.equal(delta('CreateMultipartUploadCommand'), 1);
      assert.equal(delta('UploadPartCommand'), 3, '11 MiB in parts of 5 MiB');
      assert.equal(delta('CompleteMultipartUploadCommand'), 1);
      assert.equal(delta('PutObjectCommand'), 0);
      assert.equal(await store.recordedSha256('big/model.bin'), sha(big), 'the sha256 metadata kept');
      assert.ok((await store.get('big/model.bin', { sha256: put.sha256 })).equals(big));
      const again = await store.put('big/model.bin', big);
      assert.equal(again.written, false, 'same sha256 and size: no upload');
      assert.equal(delta('CreateMultipartUploadCommand'), 1);
      const small = await store.put('big/small.txt', 'under the threshold');
      assert.equal(small.written, true);
      assert.equal(delta('PutObjectCommand'), 1, 'a small body: one PutObject');
      assert.throws(
        () => new S3ObjectStore({ uri: `s3://${s3.bucket}/mp` }, { partBytes: 1 << 20 }),
        /at least 5242880 bytes/,
      );
    });
  },
);
