/** synthesis.review / synthesis.reviewTimeoutMin (config/schema.ts; issue 20 item 3): what parses and what is refused, with which message. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../config/schema.js';

const TASK = { labels: ['ham', 'spam'], source: { type: 'spamassassin' } };
const parse = (synthesis: Record<string, unknown>) => parseConfig({ task: TASK, synthesis });

test('review "each-round" with an optional timeout parses; absent means none (the field stays unset)', () => {
  assert.equal(parse({ review: 'each-round' }).synthesis.review, 'each-round');
  assert.equal(parse({ review: 'each-round', reviewTimeoutMin: 2.5 }).synthesis.reviewTimeoutMin, 2.5);
  assert.equal(parse({ review: 'none' }).synthesis.review, 'none');
  const plain = parse({});
  assert.equal(plain.synthesis.review, undefined);
  assert.ok(!('review' in plain.synthesis), 'an old configuration parses to the same object as before');
});

test('an unknown mode, a timeout ≤ 0, and a timeout without review each-round are refused with the field named', () => {
  assert.throws(() => parse({ review: 'always' }), /synthesis\.review/);
  assert.throws(() => parse({ review: 'each-round', reviewTimeoutMin: 0 }), /synthesis\.reviewTimeoutMin/);
  assert.throws(() => parse({ reviewTimeoutMin: 5 }), /reviewTimeoutMin needs synthesis\.review "each-round"/);
  assert.throws(
    () => parse({ review: 'none', reviewTimeoutMin: 5 }),
    /reviewTimeoutMin needs synthesis\.review "each-round"/,
  );
});
