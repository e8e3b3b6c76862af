/**
 * QA rows (data/qa.ts): the JSONL loader's span and id checks with file:line errors, on small
 * fixtures and on AdversarialQA (../shared/datasets/adversarial_qa/test.jsonl, skipped when absent),
 * and the seeded split by context.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../../activities/paths.js';
import { DatasetError } from '../../data/jsonl.js';
import { contextsOf, loadQaJsonl, splitByContext, type QaRow } from '../../data/qa.js';
import { spanAt } from '../../domain/squad.js';

const FIX = fileURLToPath(new URL('../fixtures/data/', import.meta.url));
const fx = (name: string): string => join(FIX, name);
const ADQA = join(PROJECT_ROOT, '..', 'shared', 'datasets', 'adversarial_qa', 'test.jsonl');

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

/** n questions over contexts c0..c(k-1): context i has i % 4 + 1 questions. */
function rows(k: number): QaRow[] {
  const out: QaRow[] = [];
  for (let c = 0; c < k; c++)
    for (let q = 0; q <= c % 4; q++)
      out.push({
        id: `c${c}q${q}`,
        context: `context ${c} answer`,
        question: `question ${q}?`,
        answers: { text: ['answer'], answer_start: [`context ${c} `.length] },
      });
  return out;
}

describe('loadQaJsonl', () => {
  it('reads good rows in file order, blank lines skipped', async () => {
    const got = await loadQaJsonl(fx('qa-good.jsonl'));
    assert.deepEqual(
      got.map((r) => r.id),
      ['q1', 'q2', 'q3'],
    );
    assert.equal(spanAt(got[1].context, got[1].answers.answer_start[0], 16), 'annually in June');
  });

  it('names file, line, id and what the context has at answer_start instead', async () => {
    await assert.rejects(
      loadQaJsonl(fx('qa-bad-span.jsonl')),
      datasetError(
        2,
        'qa-bad-span.jsonl, line 2',
        'id "q2"',
        'answer "June" is not the context at answer_start 111',
        'the context has " Jun" there',
        'the answer occurs at 112',
      ),
    );
  });

  it('refuses a repeated id, naming the line of the first', async () => {
    await assert.rejects(
      loadQaJsonl(fx('qa-duplicate-id.jsonl')),
      datasetError(3, 'qa-duplicate-id.jsonl, line 3', 'duplicate id "q1" (first on line 1)'),
    );
  });

  it('refuses a missing file and rows that are not QA rows', async () => {
    await assert.rejects(loadQaJsonl(fx('no-such-qa.jsonl')), datasetError(undefined, 'file not found'));
    await assert.rejects(loadQaJsonl(fx('good.jsonl')), datasetError(1, 'record does not match the schema'));
  });

  it('reads AdversarialQA: 3,000 questions, every answer a span, unique ids', { skip: !existsSync(ADQA) }, async () => {
    const got = await loadQaJsonl(ADQA);
    assert.equal(got.length, 3000);
    assert.equal(new Set(got.map((r) => r.id)).size, 3000);
    assert.ok(contextsOf(got).length > 300);
    const parts = splitByContext(got, { seed: 1, shares: { validation: 1, test: 1 } });
    const val = new Set(contextsOf(parts.validation));
    assert.ok(contextsOf(parts.test).every((c) => !val.has(c)));
    assert.equal(parts.validation.length + parts.test.length, 3000);
    assert.ok(Math.abs(parts.validation.length - 1500) <= 16, `validation ${parts.validation.length}`);
  });
});

describe('splitByContext', () => {
  const all = rows(40);

  it('gives the splits of the shared fixture (the Python worker split_by_context checks the same file)', () => {
    const fx = JSON.parse(
      readFileSync(join(PROJECT_ROOT, 'tests', 'fixtures', 'student-contract', 'qa-split.json'), 'utf8'),
    ) as {
      rows: QaRow[];
      cases: { seed: number; shares: Record<string, number>; expected: Record<string, string[]> }[];
    };
    for (const c of fx.cases) {
      const got = splitByContext(fx.rows, c);
      assert.deepEqual(Object.fromEntries(Object.entries(got).map(([k, xs]) => [k, xs.map((r) => r.id)])), c.expected);
    }
  });

  it('never puts one context into two splits, and keeps every question', () => {
    const parts = splitByContext(all, { seed: 7, shares: { pool: 2, validation: 1, test: 1 } });
    const seen = new Map<string, string>();
    for (const [name, xs] of Object.entries(parts))
      for (const r of xs) {
        const other = seen.get(r.context);
        assert.ok(other === undefined || other === name, `${r.context} in ${other} and ${name}`);
        seen.set(r.context, name);
      }
    assert.deepEqual(
      Object.values(parts)
        .flat()
        .map((r) => r.id)
        .sort(),
      all.map((r) => r.id).sort(),
    );
  });

  it('follows the shares within one context of questions', () => {
    const parts = splitByContext(all, { seed: 7, shares: { pool: 2, validation: 1, test: 1 } });
    const n = all.length;
    assert.ok(Math.abs(parts.pool.length - n / 2) <= 4, `pool ${parts.pool.length} of ${n}`);
    assert.ok(Math.abs(parts.validation.length - n / 4) <= 4);
    assert.ok(Math.abs(parts.test.length - n / 4) <= 4);
  });

  it('is seeded: the same seed gives the same split, another seed another one', () => {
    const ids = (seed: number) => splitByContext(all, { seed, shares: { a: 1, b: 1 } }).a.map((r) => r.id);
    assert.deepEqual(ids(3), ids(3));
    assert.notDeepEqual(ids(3), ids(4));
  });

  it('keeps a split with share 0 empty and refuses bad shares', () => {
    const parts = splitByContext(all, { seed: 1, shares: { a: 1, none: 0 } });
    assert.equal(parts.none.length, 0);
    assert.equal(parts.a.length, all.length);
    assert.throws(() => splitByContext(all, { seed: 1, shares: { a: 0 } }), RangeError);
    assert.throws(() => splitByContext(all, { seed: 1, shares: { a: -1, b: 2 } }), RangeError);
  });
});
