import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DatasetError, readJsonl, sha256File, writeJsonl } from '../../data/jsonl.js';
import { ExampleSchema, type Example } from '../../domain/types.js';

const FIX = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const fx = (name: string): string => join(FIX, name);
const Loose = z.object({ text: z.string(), label: z.string() });

/** assert.rejects matcher: a DatasetError at `line` whose message contains every fragment */
function datasetError(line: number | undefined, ...fragments: string[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DatasetError, `expected DatasetError, got ${String(err)}`);
    assert.equal(err.line, line);
    for (const f of fragments)
      assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  };
}

describe('readJsonl', () => {
  it('reads records in order and skips blank lines', async () => {
    const rows = await readJsonl(fx('good.jsonl'), Loose);
    assert.deepEqual(
      rows.map((r) => r.label),
      ['pos', 'neg', 'pos'],
    );
  });

  it('names file and line of invalid JSON', async () => {
    await assert.rejects(
      readJsonl(fx('malformed.jsonl'), Loose),
      datasetError(3, 'malformed.jsonl, line 3: invalid JSON'),
    );
  });

  it('names file and line of a schema mismatch and what is wrong', async () => {
    // line 2 has no id; ExampleSchema requires one
    await assert.rejects(
      readJsonl(fx('good.jsonl'), ExampleSchema),
      datasetError(2, 'good.jsonl, line 2: record does not match the schema: id: '),
    );
  });

  it('rejects an empty file unless allowEmpty', async () => {
    await assert.rejects(readJsonl(fx('empty.jsonl'), Loose), datasetError(undefined, 'empty.jsonl', 'is empty'));
    assert.deepEqual(await readJsonl(fx('empty.jsonl'), Loose, { allowEmpty: true }), []);
  });

  it('names the path of a missing file', async () => {
    await assert.rejects(readJsonl(fx('nope.jsonl'), Loose), datasetError(undefined, 'nope.jsonl', 'file not found'));
  });

  it('hints that JSON arrays are not JSON Lines', async () => {
    await assert.rejects(
      readJsonl(fx('array.json'), Loose),
      datasetError(1, 'array.json, line 1', 'JSON array is not supported'),
    );
  });
});

describe('writeJsonl', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-jsonl-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rows: Example[] = [
    { id: 'a', text: 'first line\nwith a newline', label: 'pos' },
    { id: 'b', text: 'ünïcödé ✓ \u2028', label: 'neg' },
    { id: 'c', text: 'pair', text_pair: 'other', label: 'pos' },
  ];

  it('round-trips rows with sha256, count and labelCounts', async () => {
    const target = join(dir, 'nested', 'deeper', 'out.jsonl');
    const ref = await writeJsonl(target, rows);
    assert.ok(isAbsolute(ref.path));
    assert.equal(ref.path, target);
    assert.equal(ref.count, 3);
    assert.deepEqual(ref.labelCounts, { pos: 2, neg: 1 });
    const bytes = await readFile(target);
    assert.equal(ref.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(await sha256File(target), ref.sha256);
    assert.equal(bytes.toString('utf8').split('\n').length, 4); // 3 lines + trailing newline
    assert.deepEqual(await readJsonl(target, ExampleSchema), rows);
    assert.deepEqual(await readdir(join(dir, 'nested', 'deeper')), ['out.jsonl']); // no temp file left
  });

  it('replaces an existing file and honours labelOf', async () => {
    const target = join(dir, 'replace.jsonl');
    await writeFile(target, 'old content that is not JSON\n');
    const ref = await writeJsonl(target, [{ k: 1 }, { k: 2 }, { k: 2 }], { labelOf: (r) => `k${r.k}` });
    assert.deepEqual(ref.labelCounts, { k1: 1, k2: 2 });
    assert.equal(await readFile(target, 'utf8'), '{"k":1}\n{"k":2}\n{"k":2}\n');
  });

  it('writes zero rows as an empty file with empty counts', async () => {
    const ref = await writeJsonl(join(dir, 'none.jsonl'), []);
    assert.deepEqual({ count: ref.count, labelCounts: ref.labelCounts }, { count: 0, labelCounts: {} });
    assert.equal(ref.sha256, createHash('sha256').digest('hex'));
  });

  it('throws on a row that is not JSON and leaves no file behind', async () => {
    const target = join(dir, 'bad', 'x.jsonl');
    await assert.rejects(writeJsonl(target, [{ ok: true }, undefined]), TypeError);
    assert.deepEqual(await readdir(join(dir, 'bad')), []);
  });

  it('writes 100k rows quickly', async (t) => {
    const many = (function* () {
      for (let i = 0; i < 100_000; i++)
        yield { id: `s${i}`, text: `synthetic example number ${i}`, label: i % 3 ? 'ham' : 'spam' };
    })();
    const t0 = performance.now();
    const ref = await writeJsonl(join(dir, 'many.jsonl'), many);
    const ms = performance.now() - t0;
    t.diagnostic(`writeJsonl 100k rows: ${ms.toFixed(0)} ms`);
    assert.equal(ref.count, 100_000);
    assert.deepEqual(ref.labelCounts, { spam: 33_334, ham: 66_666 });
    const t1 = performance.now();
    const back = await readJsonl(ref.path, ExampleSchema);
    t.diagnostic(`readJsonl 100k rows: ${(performance.now() - t1).toFixed(0)} ms`);
    assert.equal(back.length, 100_000);
    assert.equal(back[99_999].id, 's99999');
  });
});

describe('sha256File', () => {
  it('throws DatasetError naming a missing path', async () => {
    await assert.rejects(sha256File(fx('missing.bin')), datasetError(undefined, 'missing.bin'));
  });
});
