import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadContexts, loadLabeledFile, takeSample, type SourceFields } from '../../data/gold.js';
import { DatasetError } from '../../data/jsonl.js';
import { Rng } from '../../domain/rng.js';

const FIX = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const fx = (name: string): string => join(FIX, name);
const DEFAULT_FIELDS: SourceFields = { text: 'text', textPair: 'text_pair', label: 'label', id: 'id' };
const single = { fields: DEFAULT_FIELDS, labels: ['pos', 'neg'], kind: 'single' as const };
const PAIR_FIELDS: SourceFields = { ...DEFAULT_FIELDS, text: 'premise', textPair: 'hypothesis' };
const NLI = ['entailment', 'neutral', 'contradiction'];

/** assert.rejects matcher: a DatasetError whose message is exactly `file, line N: problem` */
function exactError(file: string, line: number | undefined, problem: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DatasetError, `expected DatasetError, got ${String(err)}`);
    assert.equal(err.line, line);
    assert.equal(err.message, line === undefined ? `${fx(file)}: ${problem}` : `${fx(file)}, line ${line}: ${problem}`);
    return true;
  };
}

describe('loadLabeledFile', () => {
  it('maps JSONL records; default id is <basename>:<line>; numeric ids become strings', async () => {
    const rows = await loadLabeledFile(fx('good.jsonl'), single);
    assert.deepEqual(rows, [
      { id: 'r1', text: 'A wonderful, heartfelt film.', label: 'pos' },
      { id: 'good.jsonl:2', text: 'Dull and far too long.', label: 'neg' },
      { id: '7', text: 'I would watch it again.', label: 'pos' },
    ]);
  });

  it('reads CSV with custom column names, quoted multi-line cells and start-line ids', async () => {
    const fields = { ...DEFAULT_FIELDS, text: 'review', label: 'sentiment', id: 'review_id' };
    const rows = await loadLabeledFile(fx('good.csv'), { ...single, fields });
    assert.deepEqual(rows, [
      { id: 'c1', text: 'Great acting, weak plot.', label: 'neg' },
      { id: 'good.csv:3', text: 'A quote: "superb"\nacross two lines', label: 'pos' },
      { id: 'c3', text: 'Plain row', label: 'neg' },
    ]);
  });

  it('reads TSV', async () => {
    const rows = await loadLabeledFile(fx('good.tsv'), single);
    assert.deepEqual(
      rows.map((r) => [r.id, r.text, r.label]),
      [
        ['t1', 'Tabs are fine', 'pos'],
        ['t2', 'So are these', 'neg'],
      ],
    );
  });

  it('reads sentence pairs into text / text_pair', async () => {
    const rows = await loadLabeledFile(fx('pair.jsonl'), { fields: PAIR_FIELDS, labels: NLI, kind: 'pair' });
    assert.equal(rows.length, 3);
    assert.deepEqual(rows[1], {
      id: 'p2',
      text: 'A man plays a guitar on stage.',
      text_pair: 'The man is asleep at home.',
      label: 'contradiction',
    });
    const asSingle = await loadLabeledFile(fx('pair.jsonl'), { fields: PAIR_FIELDS, labels: NLI, kind: 'single' });
    assert.equal(asSingle[0].text_pair, undefined);
    assert.ok(!('text_pair' in asSingle[0]));
  });

  it('requires the text pair for pair tasks', async () => {
    await assert.rejects(
      loadLabeledFile(fx('pair-missing.jsonl'), { fields: PAIR_FIELDS, labels: NLI, kind: 'pair' }),
      exactError('pair-missing.jsonl', 2, 'missing text pair field "hypothesis" (record has: id, premise, label)'),
    );
  });

  it('rejects a label outside the label set, listing the allowed labels', async () => {
    await assert.rejects(
      loadLabeledFile(fx('unknown-label.jsonl'), single),
      exactError('unknown-label.jsonl', 2, 'label "maybe" is not one of the configured labels: "pos", "neg"'),
    );
    // CSV line numbers count the header (line 1) and the newline inside a quoted cell
    await assert.rejects(
      loadLabeledFile(fx('unknown-label.csv'), single),
      exactError('unknown-label.csv', 5, 'label "meh" is not one of the configured labels: "pos", "neg"'),
    );
  });

  it('names a missing text field and the fields the record has', async () => {
    await assert.rejects(
      loadLabeledFile(fx('missing-text.jsonl'), single),
      exactError('missing-text.jsonl', 2, 'missing text field "text" (record has: id, body, label)'),
    );
  });

  it('accepts numeric labels only when their string form is a configured label', async () => {
    const rows = await loadLabeledFile(fx('numeric-label.jsonl'), { ...single, labels: ['0', '1'] });
    assert.deepEqual(
      rows.map((r) => r.label),
      ['0', '1'],
    );
    await assert.rejects(
      loadLabeledFile(fx('numeric-label.jsonl'), single),
      exactError('numeric-label.jsonl', 1, 'label 0 (a number) is not one of the configured labels: "pos", "neg"'),
    );
  });

  it('rejects duplicate ids', async () => {
    await assert.rejects(
      loadLabeledFile(fx('duplicate-id.jsonl'), single),
      exactError('duplicate-id.jsonl', 2, 'duplicate id "d1" (first on line 1)'),
    );
  });

  it('rejects empty files (JSONL and header-only CSV)', async () => {
    await assert.rejects(
      loadLabeledFile(fx('empty.jsonl'), single),
      exactError('empty.jsonl', undefined, 'is empty (no records)'),
    );
    await assert.rejects(
      loadLabeledFile(fx('empty.csv'), single),
      exactError('empty.csv', undefined, 'is empty (no records)'),
    );
  });

  it('rejects malformed JSON with file and line', async () => {
    await assert.rejects(loadLabeledFile(fx('malformed.jsonl'), single), (err: unknown) => {
      assert.ok(err instanceof DatasetError);
      assert.equal(err.line, 3);
      assert.match(err.message, /malformed\.jsonl, line 3: invalid JSON: /);
      return true;
    });
  });

  it('rejects a JSON array file with a hint, unknown extensions and missing files', async () => {
    await assert.rejects(
      loadLabeledFile(fx('array.json'), single),
      /array\.json, line 1: expected a JSON object, got an array .*not supported/,
    );
    await assert.rejects(loadLabeledFile(fx('plain.eml'), single), /unsupported extension "\.eml"/);
    await assert.rejects(loadLabeledFile(fx('absent.csv'), single), /absent\.csv: file not found/);
  });
});

describe('loadContexts', () => {
  it('returns distinct contexts in file order when under max', async () => {
    const ctx = await loadContexts(fx('pair.jsonl'), PAIR_FIELDS, 10, new Rng(1, 'contexts'));
    assert.deepEqual(ctx, ['A man plays a guitar on stage.', 'Two dogs run through a field.']);
  });

  it('samples deterministically when over max, and needs no labels', async () => {
    const a = await loadContexts(fx('pair.jsonl'), PAIR_FIELDS, 1, new Rng(5, 'contexts'));
    const b = await loadContexts(fx('pair.jsonl'), PAIR_FIELDS, 1, new Rng(5, 'contexts'));
    assert.equal(a.length, 1);
    assert.deepEqual(a, b);
    const unlabeled = await loadContexts(fx('missing-text.jsonl'), { text: 'label' }, 5, new Rng(5));
    assert.deepEqual(unlabeled, ['pos', 'neg']);
  });

  it('rejects a record without the text field and a bad max', async () => {
    await assert.rejects(
      loadContexts(fx('missing-text.jsonl'), DEFAULT_FIELDS, 5, new Rng(1)),
      /missing-text\.jsonl, line 2: missing text field/,
    );
    await assert.rejects(loadContexts(fx('pair.jsonl'), PAIR_FIELDS, 0, new Rng(1)), RangeError);
  });
});

describe('takeSample', () => {
  const rows = Array.from({ length: 50 }, (_, i) => i);
  it('is a seeded subset without repeats', () => {
    const a = takeSample(rows, 10, new Rng(42, 'gold-val'));
    assert.deepEqual(a, takeSample(rows, 10, new Rng(42, 'gold-val')));
    assert.notDeepEqual(a, takeSample(rows, 10, new Rng(43, 'gold-val')));
    assert.equal(new Set(a).size, 10);
    assert.ok(a.every((x) => rows.includes(x)));
  });
  it('keeps everything (original order) when n is undefined or too large; rejects n < 1', () => {
    assert.deepEqual(takeSample(rows, undefined, new Rng(1)), rows);
    assert.deepEqual(takeSample(rows, 500, new Rng(1)), rows);
    assert.throws(() => takeSample(rows, 0, new Rng(1)), RangeError);
  });
});
