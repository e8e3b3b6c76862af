/**
 * report.html's two results tables (report/experimentReport.ts RESULTS_TABLE_PARTS): together
 * they hold every column of the one table that report.md and the CLI print, each exactly once,
 * with the arm first in each.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXPERIMENT_TABLE_HEAD, RESULTS_TABLE_PARTS } from '../../report/experimentReport.js';

test('RESULTS_TABLE_PARTS: the arm first in each, every other column of EXPERIMENT_TABLE_HEAD in exactly one', () => {
  assert.ok(RESULTS_TABLE_PARTS.length >= 2);
  for (const p of RESULTS_TABLE_PARTS) assert.equal(p.columns[0], 'arm', p.id);
  const rest = RESULTS_TABLE_PARTS.flatMap((p) => p.columns.slice(1));
  assert.equal(new Set(rest).size, rest.length, `a column in two parts: ${rest.join(', ')}`);
  assert.deepEqual(['arm', ...rest].sort(), [...EXPERIMENT_TABLE_HEAD].sort());
  // within a part, columns keep the one table's order
  for (const p of RESULTS_TABLE_PARTS) {
    const idx = p.columns.map((c) => EXPERIMENT_TABLE_HEAD.indexOf(c));
    assert.deepEqual(
      idx,
      [...idx].sort((a, b) => a - b),
      p.id,
    );
  }
});
