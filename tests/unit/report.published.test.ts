/**
 * Published figures in the experiment report (report/published.ts, config `published`): the
 * configuration's figures shown as written beside this experiment's test metric, for the arms
 * it names, in arm order; EM / F1 for extractive QA; nothing without `published`; an unknown
 * arm name is a configuration error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseExperiment } from '../../config/experiment.js';
import type { ArmSeedResult, ExperimentSummary, MethodName } from '../../domain/experiment.js';
import { armSummaries } from '../../domain/statistics.js';
import type { SplitMetrics } from '../../domain/types.js';
import { writeExperimentReport } from '../../report/experimentReport.js';
import { publishedOf, publishedTable } from '../../report/published.js';

/** QA results hold EM in accuracy and F1 in macroF1 too (the student contract). */
const split = (qa: boolean, acc: number): SplitMetrics => ({
  count: 100,
  accuracy: acc,
  macroF1: qa ? acc + 0.1 : acc - 0.1,
  misclassified: Math.round(100 * (1 - acc)),
  ...(qa ? { exactMatch: acc, f1: acc + 0.1 } : {}),
});

/** A finished (arm, seed) with final test accuracy (or EM) `acc`; rounds are not needed here. */
const result = (qa: boolean, arm: string, method: MethodName, seed: number, acc: number): ArmSeedResult => ({
  experimentId: 'x',
  arm,
  method,
  seed,
  workflowId: `x/${arm}/seed-${seed}`,
  status: 'completed',
  runDir: `/runs/x/${arm}/seed-${seed}`,
  budget: { kind: 'examples', limit: 100 },
  used: { syntheticExamples: 100, goldExamples: 0, tokens: 1000, paidCalls: 1, reusedCalls: 0, filledUp: 0 },
  rounds: [],
  test: split(qa, acc),
  validation: split(qa, acc),
  usage: { calls: 1, cachedCalls: 0, promptTokens: 500, completionTokens: 500, rejected: 0, teacherMs: 1 },
  dataset: null,
  stopReason: null,
  warnings: [],
  wallMs: 1000,
});

const PUBLISHED = { source: 'S3 Table 2 (DistilBERT, GPT-3.5)', arms: { s3: '79.92 (168k)', zerogen: '71.19' } };

function summary(qa: boolean, published: unknown): ExperimentSummary {
  return {
    experimentId: 'x',
    config: { task: { kind: qa ? 'qa' : 'pair', labels: qa ? ['answer'] : ['a', 'b'] }, published },
    budget: { kind: 'examples', limit: 100 },
    seeds: [1, 2],
    arms: [
      { name: 'zerogen', method: 'zerogen' },
      { name: 'gold-validation', method: 'gold-validation' },
      { name: 's3', method: 's3' },
    ],
    results: [
      result(qa, 'zerogen', 'zerogen', 1, 0.5),
      result(qa, 'zerogen', 'zerogen', 2, 0.6),
      result(qa, 'gold-validation', 'gold-validation', 1, 0.7),
      result(qa, 'gold-validation', 'gold-validation', 2, 0.7),
      result(qa, 's3', 's3', 1, 0.55),
    ],
    quality: [],
    wallMs: 1000,
  };
}

test('publishedTable: the named arms in arm order, this experiment’s mean ± std beside the figure as written', () => {
  const s = summary(false, PUBLISHED);
  const t = publishedTable(s, armSummaries(s, 's3'))!;
  assert.equal(t.source, PUBLISHED.source);
  assert.deepEqual(t.head, ['arm', 'this experiment: test accuracy', 'published']);
  assert.deepEqual(t.rows, [
    ['zerogen', '55.0 ± 7.1%', '71.19'],
    ['s3', '55.0%', '79.92 (168k)'],
  ]);
  assert.equal(publishedTable(summary(false, undefined), armSummaries(summary(false, undefined), 's3')), null);
  assert.equal(publishedOf(summary(false, { source: '' })), null, 'a malformed section is ignored, not thrown');
});

test('publishedTable for extractive QA: EM / F1 in the head and the cells', () => {
  const s = summary(true, PUBLISHED);
  const t = publishedTable(s, armSummaries(s, 's3'))!;
  assert.deepEqual(t.head, ['arm', 'this experiment: test EM / F1', 'published']);
  assert.deepEqual(t.rows[0], ['zerogen', '55.0 ± 7.1% / 65.0 ± 7.1%', '71.19']);
});

test('report.md and report.html carry the section with its source only when the configuration publishes figures', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-published-'));
  const withFigures = await writeExperimentReport(summary(false, { ...PUBLISHED, source: 'Table <2> & 3' }), dir);
  const md = readFileSync(withFigures.md, 'utf8');
  assert.match(md, /## Published figures\n\nSource: Table <2> & 3\./);
  assert.match(md, /\| s3 \| 55\.0% \| 79\.92 \(168k\) \|/);
  const html = readFileSync(withFigures.html, 'utf8');
  assert.match(html, /<h2>Published figures<\/h2>/);
  assert.ok(html.includes('Source: Table &lt;2&gt; &amp; 3.'), 'the source is escaped');
  const dir2 = mkdtempSync(path.join(tmpdir(), 's3-published-'));
  const without = await writeExperimentReport(summary(false, undefined), dir2);
  assert.doesNotMatch(readFileSync(without.md, 'utf8'), /Published figures/);
  assert.doesNotMatch(readFileSync(without.html, 'utf8'), /Published figures/);
});

test('parseExperiment: published.arms must name arms of the experiment', () => {
  const base = {
    task: { labels: ['a', 'b'], source: { type: 'spamassassin' } },
    arms: [{ method: 's3' }, { method: 'zerogen' }],
  };
  assert.deepEqual(parseExperiment({ ...base, published: PUBLISHED }).published, PUBLISHED);
  assert.throws(
    () => parseExperiment({ ...base, published: { source: 'x', arms: { goldgen: '78.31' } } }),
    /published\.arms names "goldgen", which is not an arm \(s3, zerogen\)/,
  );
  assert.throws(() => parseExperiment({ ...base, published: { arms: {} } }), /published\.source/);
});
