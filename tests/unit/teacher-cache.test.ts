/** The persisted per-call teacher cache (teacher/cache.ts). */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cacheKey, TeacherCache } from '../../teacher/cache.js';
import type { TeacherReply } from '../../teacher/types.js';

const params = { temperature: 0.9, topP: 0.95, maxTokens: 64 };
const reply: TeacherReply = { text: 'A spam e-mail.', promptTokens: 12, completionTokens: 5, cached: false, ms: 321 };
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 's3-cache-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('cacheKey: 64 hex chars, independent of property order, sensitive to every part', () => {
  const k = cacheKey('m', { prompt: 'p', sampleIndex: 0 }, params);
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(k, cacheKey('m', { sampleIndex: 0, prompt: 'p' }, { maxTokens: 64, topP: 0.95, temperature: 0.9 }));
  const variants = [
    cacheKey('m2', { prompt: 'p', sampleIndex: 0 }, params),
    cacheKey('m', { prompt: 'p2', sampleIndex: 0 }, params),
    cacheKey('m', { prompt: 'p', sampleIndex: 1 }, params),
    cacheKey('m', { prompt: 'p', sampleIndex: 0 }, { ...params, temperature: 1 }),
    cacheKey('m', { prompt: 'p', sampleIndex: 0 }, { ...params, topP: 1 }),
    cacheKey('m', { prompt: 'p', sampleIndex: 0 }, { ...params, maxTokens: 65 }),
    cacheKey('m', { prompt: 'p', sampleIndex: 0, seed: 1 }, params),
    cacheKey('m', { prompt: 'p', sampleIndex: 0, seed: 2 }, params),
    cacheKey('m', { prompt: 'p', sampleIndex: 0, grammar: 'root ::= "a"' }, params),
    cacheKey('m', { prompt: 'p', sampleIndex: 0, grammar: 'root ::= "b"' }, params),
  ];
  assert.equal(new Set([k, ...variants]).size, 11);
});

test('put then get returns the reply with cached: true, stored at <dir>/<key[0..2]>/<key>.json', async () => {
  const cache = new TeacherCache(path.join(dir, 'teacher'));
  const key = cacheKey('m', { prompt: 'p', sampleIndex: 0 }, params);
  assert.equal(await cache.get(key), undefined);
  await cache.put(key, reply);
  assert.deepEqual(await cache.get(key), { ...reply, cached: true });
  const file = path.join(dir, 'teacher', key.slice(0, 2), `${key}.json`);
  assert.equal(cache.fileOf(key), file);
  const stored = JSON.parse(await readFile(file, 'utf8'));
  assert.equal(stored.text, reply.text);
  assert.equal('cached' in stored, false);
  assert.deepEqual(await readdir(path.dirname(file)), [`${key}.json`], 'no temp file left behind');
});

test('a corrupt or truncated entry counts as a miss and is removed', async () => {
  const cache = new TeacherCache(path.join(dir, 'corrupt'));
  const key = cacheKey('m', { prompt: 'q', sampleIndex: 0 }, params);
  await cache.put(key, reply);
  await writeFile(cache.fileOf(key), '{"key": "');
  assert.equal(await cache.get(key), undefined);
  await assert.rejects(readFile(cache.fileOf(key)), { code: 'ENOENT' });
});

test('concurrent puts of one key leave one valid entry', async () => {
  const cache = new TeacherCache(path.join(dir, 'race'));
  const key = cacheKey('m', { prompt: 'r', sampleIndex: 0 }, params);
  await Promise.all(Array.from({ length: 10 }, (_, i) => cache.put(key, { ...reply, text: `v${i}` })));
  assert.match((await cache.get(key))!.text, /^v\d$/);
});

test('invalid keys are refused (no path traversal)', async () => {
  const cache = new TeacherCache(dir);
  await assert.rejects(cache.get('../../etc/passwd'), TypeError);
  await assert.rejects(cache.put('abc', reply), TypeError);
});
