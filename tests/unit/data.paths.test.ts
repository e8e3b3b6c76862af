/** Hostile input (issue 8): path confinement, symlinked data files, long rows, invalid UTF-8, excerpts. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadContextsFile, loadGoldFile, loadLabeledFile, type SourceFields } from '../../data/gold.js';
import { DatasetError, excerpt, readJsonl, sanitize } from '../../data/jsonl.js';
import { confinedPath, confinedRunDir, resolveDataFile } from '../../data/paths.js';
import { Rng } from '../../domain/rng.js';
import { ExampleSchema } from '../../domain/types.js';

const FIELDS: SourceFields = { text: 'text', textPair: 'text_pair', label: 'label', id: 'id' };
const single = { fields: FIELDS, labels: ['pos', 'neg'], kind: 'single' as const };

/** assert.rejects matcher: a DatasetError whose message matches every pattern and contains none of `absent` */
function datasetError(patterns: RegExp[], absent: string[] = []) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DatasetError, `expected DatasetError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    for (const a of absent) assert.ok(!err.message.includes(a), `message ${JSON.stringify(err.message)} contains ${a}`);
    return true;
  };
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('confinedRunDir / confinedPath', () => {
  it('returns <runRoot>/<runId> as an absolute path', () => {
    assert.equal(confinedRunDir('runs', 'my-run'), resolve('runs', 'my-run'));
    assert.equal(confinedRunDir('/tmp/r', 'a..b'), '/tmp/r/a..b');
    assert.equal(confinedPath('/tmp/r', 'a/b.jsonl'), '/tmp/r/a/b.jsonl');
  });

  it('refuses runIds that are not strictly under runRoot', () => {
    for (const id of ['..', '.', '', '../x', 'a/b', '/etc', 'a\\b'])
      assert.throws(() => confinedRunDir('/tmp/r', id), DatasetError, `runId ${JSON.stringify(id)}`);
    assert.throws(() => confinedRunDir('/tmp/r', '..'), /runId "\.\." would not lie strictly under runRoot \/tmp\/r/);
  });

  it('confinedPath refuses root itself, parents and absolute escapes', () => {
    for (const rel of ['', '.', '..', '../x', 'a/../../x', '/etc/passwd'])
      assert.throws(() => confinedPath('/tmp/r', rel), /is not strictly under \/tmp\/r/, `rel ${JSON.stringify(rel)}`);
  });
});

describe('data files: resolution, limits, encoding', () => {
  let dir: string;
  before(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 's3-paths-')));
    await writeFile(join(dir, 'secret.conf'), 'API_KEY=sk-secret\n');
    await symlink(join(dir, 'secret.conf'), join(dir, 'val.jsonl'));
    await writeFile(
      join(dir, 'real.jsonl'),
      '{"id":"a","text":"fine","label":"pos"}\n{"id":"b","text":"x","label":"neg"}\n',
    );
    await symlink(join(dir, 'real.jsonl'), join(dir, 'link.jsonl'));
    await symlink(join(dir, 'nowhere.jsonl'), join(dir, 'dangling.jsonl'));
    await mkdir(join(dir, 'adir.jsonl'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a symlink to a non-data file fails before reading, naming given and resolved path, without its content', async () => {
    const given = join(dir, 'val.jsonl');
    const check = datasetError(
      [new RegExp(`^${esc(given)}: is a symbolic link to ${esc(join(dir, 'secret.conf'))}, which is not a data file`)],
      ['sk-secret', 'API_KEY'],
    );
    await assert.rejects(loadLabeledFile(given, single), check);
    await assert.rejects(loadContextsFile(given, FIELDS, 5, new Rng(1)), check);
    await assert.rejects(resolveDataFile(given), check);
  });

  it('a symlink to a data file is followed; errors then show the resolved path', async () => {
    const r = await loadGoldFile(join(dir, 'link.jsonl'), single);
    assert.equal(r.rows.length, 2);
    assert.equal(r.resolvedPath, join(dir, 'real.jsonl'));
    assert.deepEqual(await resolveDataFile(join(dir, 'link.jsonl')), {
      given: join(dir, 'link.jsonl'),
      resolved: join(dir, 'real.jsonl'),
      viaSymlink: true,
    });
    await assert.rejects(
      loadLabeledFile(join(dir, 'link.jsonl'), { ...single, labels: ['x', 'y'] }),
      datasetError([
        new RegExp(`^${esc(join(dir, 'link.jsonl'))} \\(resolved: ${esc(join(dir, 'real.jsonl'))}\\), line 1: `),
      ]),
    );
  });

  it('dangling symlinks, directories and missing files are DatasetErrors with the resolved path', async () => {
    await assert.rejects(
      loadLabeledFile(join(dir, 'dangling.jsonl'), single),
      datasetError([/is a symbolic link whose target does not exist \(resolved: /]),
    );
    await assert.rejects(
      loadLabeledFile(join(dir, 'adir.jsonl'), single),
      datasetError([/adir\.jsonl: is a directory, expected a data file \(resolved: /]),
    );
    await assert.rejects(
      loadLabeledFile(join(dir, 'none.csv'), single),
      datasetError([new RegExp(`none\\.csv: file not found \\(resolved: ${esc(join(dir, 'none.csv'))}\\)`)]),
    );
  });

  it('a 5 MB row loads quickly and is cut to maxChars with truncatedFrom', async (t) => {
    const big = 'word '.repeat(1_000_000); // 5,000,000 characters
    const pair = 'p'.repeat(150);
    const file = join(dir, 'big.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({ id: 'big', text: big, text_pair: pair, label: 'pos' }),
        JSON.stringify({ id: 'small', text: 'short', text_pair: 'also short', label: 'neg' }),
      ].join('\n'),
    );
    const t0 = performance.now();
    const r = await loadGoldFile(file, { ...single, kind: 'pair', maxChars: 4000 });
    const ms = performance.now() - t0;
    t.diagnostic(`5 MB row: ${ms.toFixed(0)} ms`);
    assert.ok(ms < 5000, `took ${ms} ms`);
    assert.equal(r.truncated, 1);
    assert.equal(r.rows[0].text.length, 4000);
    assert.equal(r.rows[0].text, big.slice(0, 4000));
    assert.equal(r.rows[0].text_pair, pair);
    assert.deepEqual(r.rows[0].truncatedFrom, { text: 5_000_000 });
    assert.deepEqual(r.rows[1], { id: 'small', text: 'short', text_pair: 'also short', label: 'neg' });
    assert.ok(ExampleSchema.safeParse(r.rows[0]).success);

    // the default limit (task.maxChars default 4000) applies without options; text_pair too
    const rows = await loadLabeledFile(file, { ...single, kind: 'pair' });
    assert.equal(rows[0].text.length, 4000);
    const r2 = await loadGoldFile(file, { ...single, kind: 'pair', maxChars: 100 });
    assert.deepEqual(r2.rows[0].truncatedFrom, { text: 5_000_000, text_pair: 150 });
    assert.equal(r2.rows[0].text_pair, 'p'.repeat(100));

    const ctx = await loadContextsFile(file, FIELDS, 10, new Rng(1), { maxChars: 1000 });
    assert.deepEqual(
      ctx.contexts.map((c) => c.length),
      [999, 5], // trimmed after the cut: "word word … word " ends in a space
    );
    assert.equal(ctx.truncated, 1);
  });

  it('CSV rows are limited too, and a surrogate pair is never split', async () => {
    const file = join(dir, 'long.csv');
    await writeFile(file, `id,text,label\nc1,${'a'.repeat(99)}😀tail,pos\nc2,ok,neg\n`);
    const r = await loadGoldFile(file, { ...single, maxChars: 100 });
    assert.equal(r.rows[0].text, 'a'.repeat(99));
    assert.deepEqual(r.rows[0].truncatedFrom, { text: 105 });
    assert.equal(r.truncated, 1);
  });

  it('invalid UTF-8 fails with file and 1-based line; "replace" reads U+FFFD and counts lines', async () => {
    const file = join(dir, 'latin1.jsonl');
    await writeFile(
      file,
      Buffer.concat([
        Buffer.from('{"id":"1","text":"fine","label":"pos"}\n\n'),
        Buffer.from('{"id":"2","text":"caf'),
        Buffer.from([0xe9]), // latin-1 é
        Buffer.from('","label":"neg"}\n{"id":"3","text":"'),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('","label":"neg"}\n'),
      ]),
    );
    await assert.rejects(
      loadLabeledFile(file, single),
      (err: unknown) =>
        datasetError([new RegExp(`^${esc(file)}, line 3: invalid UTF-8 .*invalidUtf8 .*"replace"`)])(err) &&
        (err as DatasetError).line === 3,
    );
    const r = await loadGoldFile(file, { ...single, invalidUtf8: 'replace' });
    assert.equal(r.replacedLines, 2);
    assert.deepEqual(
      r.rows.map((x) => x.text),
      ['fine', 'caf\uFFFD', '\uFFFD\uFFFD'],
    );
    // CSV and contexts go through the same decoder
    const csv = join(dir, 'latin1.csv');
    await writeFile(
      csv,
      Buffer.concat([Buffer.from('id,text,label\nc1,ok,pos\nc2,na'), Buffer.from([0xef]), Buffer.from('ve,neg\n')]),
    );
    await assert.rejects(loadLabeledFile(csv, single), datasetError([/latin1\.csv, line 3: invalid UTF-8/]));
    const c = await loadGoldFile(csv, { ...single, invalidUtf8: 'replace' });
    assert.equal(c.replacedLines, 1);
    assert.equal(c.rows[1].text, 'na\uFFFDve');
    await assert.rejects(loadContextsFile(file, FIELDS, 5, new Rng(1)), datasetError([/line 3: invalid UTF-8/]));
    // run artifacts (readJsonl) are strict UTF-8 too
    await assert.rejects(readJsonl(file, ExampleSchema), datasetError([/line 3: invalid UTF-8/]));
  });

  it('valid multi-byte UTF-8 split across read chunks decodes intact', async () => {
    const file = join(dir, 'multibyte.jsonl');
    const text = 'é✓😀'.repeat(40_000); // > 64 KiB per line, so chunk edges fall inside characters
    await writeFile(file, `${JSON.stringify({ id: 'm', text, label: 'pos' })}\r\n`);
    const r = await loadGoldFile(file, { ...single, maxChars: 1_000_000 });
    assert.equal(r.rows[0].text, text);
    assert.equal(r.replacedLines, 0);
  });

  it('errors quote at most a short, escaped excerpt of a line, never the whole line', async () => {
    const secretTail = 'TAIL-' + 'z'.repeat(500);
    const cases: Array<[string, string]> = [
      // invalid JSON: V8 would quote the input into its message
      ['badjson.jsonl', `API_KEY=${'x'.repeat(300)}${secretTail}\n`],
      [
        'badjson2.jsonl',
        `{"id":"1","text":"${'y'.repeat(300)}" "label":"pos", "k":"${'k'.repeat(100)}${secretTail}"}\n`,
      ],
      // a JSON value that is not an object
      ['string.jsonl', `${JSON.stringify('s'.repeat(300) + secretTail)}\n`],
      // an unknown label / duplicate id quoting a long value
      ['label.jsonl', `${JSON.stringify({ id: '1', text: 't', label: 'L'.repeat(300) + secretTail })}\n`],
      [
        'dup.jsonl',
        `${JSON.stringify({ id: 'I'.repeat(300) + secretTail, text: 't', label: 'pos' })}\n${JSON.stringify({ id: 'I'.repeat(300) + secretTail, text: 't', label: 'pos' })}\n`,
      ],
      // control characters inside the excerpt
      ['ctrl.jsonl', `${JSON.stringify({ id: '1', text: 't', label: '\u001b[31mred\u0007\u202e' })}\n`],
    ];
    for (const [name, content] of cases) {
      const file = join(dir, name);
      await writeFile(file, content);
      await assert.rejects(loadLabeledFile(file, single), (err: unknown) => {
        assert.ok(err instanceof DatasetError, name);
        assert.ok(!err.message.includes('TAIL-'), `${name}: ${err.message}`);
        assert.ok(
          ![...err.message].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f' || c === '\u202e'),
          `${name}: raw control character in ${JSON.stringify(err.message)}`,
        );
        const quoted = [...err.message.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
        for (const q of quoted) assert.ok(q.length <= 100, `${name}: excerpt of ${q.length} characters: ${q}`);
        assert.ok(err.message.length < 400, `${name}: message of ${err.message.length} characters`);
        return true;
      });
    }
    await assert.rejects(
      loadLabeledFile(join(dir, 'ctrl.jsonl'), single),
      /label "\\u001b\[31mred\\u0007\\u202e" is not one of/,
    );
  });

  it('excerpt / sanitize: capped at 80 characters with ellipses, JSON-like escapes', () => {
    assert.equal(excerpt('short'), '"short"');
    const long = 'a'.repeat(50) + 'b'.repeat(100);
    const e = excerpt(long, 60);
    assert.ok(e.startsWith('"…') && e.endsWith('…"'));
    assert.equal(e.length, 80 + 4);
    assert.equal(
      sanitize('a"b\\c\n\t\u0000\u0085\u2028\ufeff\ud800'),
      'a\\"b\\\\c\\n\\t\\u0000\\u0085\\u2028\\ufeff\\ud800',
    );
  });
});
