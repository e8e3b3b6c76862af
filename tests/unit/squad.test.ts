/**
 * SQuAD v1.1 Exact Match and F1 and the span check of QA rows (domain/squad.ts) against the shared
 * fixtures tests/fixtures/student-contract/squad-metrics.json and qa-spans.json, which the Python
 * worker's s3_finetune/squad.py checks too (workers/finetune/tests/test_squad.py).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PROJECT_ROOT } from '../../activities/paths.js';
import {
  exactMatch,
  f1Score,
  normalizeAnswer,
  occurrences,
  qaScore,
  QaRowSchema,
  scoreQa,
  spanAt,
} from '../../domain/squad.js';

const FIXTURES = path.join(PROJECT_ROOT, 'tests', 'fixtures', 'student-contract');
const fixture = <T>(name: string): T => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;

interface MetricCase {
  why: string;
  prediction: string;
  golds: string[];
  exactMatch: number;
  f1: number;
}
const metrics = fixture<{
  cases: MetricCase[];
  total: { count: number; exactMatch: number; f1: number; wrong: number };
}>('squad-metrics.json');

describe('SQuAD v1.1 metrics', () => {
  it('gives the EM and F1 of every case of the shared fixture', () => {
    assert.ok(metrics.cases.length >= 20);
    for (const c of metrics.cases) {
      const got = qaScore(c.prediction, c.golds);
      assert.equal(got.exactMatch, c.exactMatch, `EM: ${c.why}`);
      assert.ok(Math.abs(got.f1 - c.f1) < 1e-12, `F1 ${got.f1} vs ${c.f1}: ${c.why}`);
    }
  });

  it('averages over questions as the official script does (fractions, EM = 0 counted as wrong)', () => {
    const got = scoreQa(
      metrics.cases.map((c) => c.prediction),
      metrics.cases.map((c) => c.golds),
    );
    assert.equal(got.count, metrics.total.count);
    assert.equal(got.wrong, metrics.total.wrong);
    assert.ok(Math.abs(got.exactMatch - metrics.total.exactMatch) < 1e-12);
    assert.ok(Math.abs(got.f1 - metrics.total.f1) < 1e-12);
  });

  it('normalises as evaluate-v1.1.py: lower-case, punctuation, articles, whitespace', () => {
    assert.equal(normalizeAnswer('  The  "Town" Moor, an area!\t'), 'town moor area');
    assert.equal(normalizeAnswer('theatre ANTHEM a'), 'theatre anthem');
    assert.equal(normalizeAnswer('\u00f1a'), '\u00f1a');
    assert.equal(exactMatch('the', 'an'), true);
    assert.equal(f1Score('the', 'an'), 0);
  });

  it('refuses a question without gold answers and splits of different lengths', () => {
    assert.throws(() => qaScore('x', []), RangeError);
    assert.throws(() => scoreQa(['x'], []), RangeError);
    assert.throws(() => scoreQa([], []), RangeError);
  });
});

describe('QA rows: answer spans', () => {
  const spans = fixture<{ cases: { why: string; row: unknown; problems: string[] }[] }>('qa-spans.json');

  it('reports exactly the problems of the shared fixture', () => {
    assert.ok(spans.cases.some((c) => c.problems.length === 0) && spans.cases.some((c) => c.problems.length > 0));
    for (const c of spans.cases) {
      const r = QaRowSchema.safeParse(c.row);
      assert.deepEqual(r.success ? [] : r.error.issues.map((i) => i.message), c.problems, c.why);
    }
  });

  it('counts offsets in code points, as Python does', () => {
    const context = '\u{1F642}\u{1F642} Town Moor';
    assert.equal(spanAt(context, 3, 4), 'Town');
    assert.deepEqual(occurrences(context, 'Moor'), [8]);
    assert.equal(spanAt('plain Town Moor', 6, 4), 'Town');
  });

  it('keeps an optional title and refuses rows without answers', () => {
    const row = { id: 'q', title: 'T', context: 'abc', question: 'q?', answers: { text: ['b'], answer_start: [1] } };
    assert.equal(QaRowSchema.parse(row).title, 'T');
    assert.equal(QaRowSchema.safeParse({ ...row, answers: { text: [], answer_start: [] } }).success, false);
  });
});
