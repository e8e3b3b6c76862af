/** store/metered.ts: call counts, bytes and the busy-time union against known values. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { LocalFolderStore } from '../../store/index.js';
import { meterStore, resetStoreMetrics, storeMetrics, writeStoreMetrics } from '../../store/metered.js';
import type { ArtifactStore } from '../../store/types.js';

test('meterStore counts calls and bytes of a local store and leaves results unchanged', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'metered-'));
  try {
    resetStoreMetrics();
    const store = meterStore(new LocalFolderStore(dir));
    const put = await store.put('a.txt', 'hello');
    assert.equal(put.bytes, 5);
    const again = await store.put('a.txt', 'hello');
    assert.equal(again.written, false);
    assert.equal((await store.get('a.txt')).toString(), 'hello');
    const rows = [
      { id: 'x', label: 'ham' },
      { id: 'y', label: 'spam' },
    ];
    const ref = await store.putJsonl('r.jsonl', rows);
    assert.deepEqual(await store.getJsonl(ref, z.object({ id: z.string(), label: z.string() })), rows);
    const streamed = [];
    for await (const r of store.streamJsonl(ref, z.object({ id: z.string(), label: z.string() }))) streamed.push(r);
    assert.equal(streamed.length, 2);
    assert.equal(await store.exists('a.txt'), true);
    assert.deepEqual(await store.list(''), ['a.txt', 'r.jsonl']);
    const m = storeMetrics();
    assert.deepEqual(m.calls, { put: 2, get: 1, putJsonl: 1, getJsonl: 1, streamJsonl: 1, exists: 1, list: 1 });
    const jsonlBytes = rows.reduce((s, r) => s + JSON.stringify(r).length + 1, 0);
    assert.equal(m.bytesWritten, 10 + jsonlBytes);
    assert.equal(m.bytesRead, 5 + 2 * jsonlBytes);
    assert.equal(m.skippedWrites, 1);
    assert.ok(m.busyMs > 0 && m.busyMs <= m.callMs + 1e-9);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('busyMs is the union of overlapping calls, callMs their sum', async () => {
  resetStoreMetrics();
  const slow = (ms: number) => new Promise<boolean>((r) => setTimeout(() => r(true), ms));
  const fake = { rootUri: 'mem:/', exists: () => slow(100) } as unknown as ArtifactStore;
  const store = meterStore(fake);
  await Promise.all([store.exists('a'), store.exists('b')]); // two calls of ~100 ms, overlapping
  const m = storeMetrics();
  assert.equal(m.calls.exists, 2);
  assert.ok(m.callMs >= 190, `callMs ${m.callMs}`);
  assert.ok(m.busyMs >= 95 && m.busyMs < 0.75 * m.callMs, `busyMs ${m.busyMs} vs callMs ${m.callMs}`);
});

test('writeStoreMetrics adds to what an earlier process wrote', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'metered-'));
  const file = path.join(dir, 'm.json');
  try {
    const store = meterStore(new LocalFolderStore(dir));
    resetStoreMetrics();
    await store.put('a', 'abc');
    writeStoreMetrics(file);
    await store.put('b', 'de');
    writeStoreMetrics(file);
    const m = JSON.parse(await readFile(file, 'utf8'));
    assert.equal(m.calls.put, 2);
    assert.equal(m.bytesWritten, 5);
    assert.deepEqual(storeMetrics().calls, {});
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a metered store still answers the sha256 its store recorded (s3 pull checks it), and a local one has none', async () => {
  resetStoreMetrics();
  const fake = { rootUri: 'mem:/', recordedSha256: (key: string) => Promise.resolve(`sha-of-${key}`) };
  const metered = meterStore(fake as unknown as ArtifactStore);
  assert.equal(await metered.recordedSha256?.('a/b.jsonl'), 'sha-of-a/b.jsonl');
  assert.equal(storeMetrics().calls.recordedSha256, 1);
  assert.equal(meterStore(new LocalFolderStore(os.tmpdir())).recordedSha256, undefined);
});
