/**
 * The experiment report (report/) in the task kind's metric names: an experiment whose arm results
 * are extractive QA scores (SQuAD EM / F1, tasks/qa.ts) says EM / F1 in the table, the section
 * titles, the text and the chart titles and axes, never "accuracy"; a classification experiment
 * keeps accuracy / macro-F1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ArmSeedResult, ExperimentSummary, MethodName } from '../../domain/experiment.js';
import type { RoundResult, SplitMetrics, TeacherUsage } from '../../domain/types.js';
import { finalAccuracyBarSpec, pairedDiffSpec, roundAccuracySpec } from '../../report/charts.js';
import {
  EXPERIMENT_TABLE_HEAD,
  experimentTableHead,
  experimentTableRows,
  RESULTS_TABLE_PARTS,
  writeExperimentReport,
} from '../../report/experimentReport.js';
import { CLASSIFICATION_METRICS, metricNamesOf, QA_METRICS } from '../../report/metrics.js';
import { armSummaries } from '../../domain/statistics.js';

const usage = (tokens: number): TeacherUsage => ({
  calls: 1,
  cachedCalls: 0,
  promptTokens: tokens,
  completionTokens: 0,
  rejected: 0,
  teacherMs: 1,
});

/** Scores of one split: QA ones carry exactMatch / f1 (and the same numbers in accuracy / macroF1). */
const scores = (qa: boolean, em: number, f1: number): SplitMetrics => ({
  count: 50,
  accuracy: em,
  macroF1: f1,
  misclassified: Math.round(50 * (1 - em)),
  ...(qa ? { exactMatch: em, f1 } : {}),
});

/** One arm on one seed: round 0 after 100 tokens (EM em0), round 1 after 200 (EM em1). */
function result(qa: boolean, arm: string, method: MethodName, seed: number, em0: number, em1: number): ArmSeedResult {
  const round = (q: number, em: number): RoundResult => ({
    round: q,
    origin: q === 0 ? 'seed' : 'ees',
    added: 10,
    trainSize: 10 * (q + 1),
    validation: scores(qa, em + 0.05, em + 0.1),
    test: scores(qa, em, em + 0.1),
    teacher: usage(100),
    studentMs: 5,
  });
  return {
    experimentId: 'adqa',
    arm,
    method,
    seed,
    workflowId: `adqa/${arm}/seed-${seed}`,
    status: 'completed',
    runDir: `/runs/adqa/${arm}/seed-${seed}`,
    budget: { kind: 'tokens', limit: 200 },
    used: { syntheticExamples: 20, goldExamples: 0, tokens: 200, paidCalls: 2, reusedCalls: 0, filledUp: 0 },
    rounds: [round(0, em0), round(1, em1)],
    test: scores(qa, em1, em1 + 0.1),
    validation: scores(qa, em1 + 0.05, em1 + 0.1),
    usage: usage(200),
    dataset: null,
    stopReason: null,
    warnings: [],
    wallMs: 1000,
  };
}

function summary(qa: boolean): ExperimentSummary {
  return {
    experimentId: 'adqa',
    config: { task: { kind: qa ? 'qa' : 'single', labels: qa ? ['answer'] : ['ham', 'spam'] } },
    budget: { kind: 'tokens', limit: 200 },
    seeds: [1, 2],
    arms: [
      { name: 's3', method: 's3' },
      { name: 'zerogen', method: 'zerogen' },
    ],
    results: [
      result(qa, 's3', 's3', 1, 0.2, 0.4),
      result(qa, 's3', 's3', 2, 0.2, 0.5),
      result(qa, 'zerogen', 'zerogen', 1, 0.1, 0.2),
      result(qa, 'zerogen', 'zerogen', 2, 0.15, 0.25),
    ],
    quality: [],
    wallMs: 60_000,
  };
}

/** The text a reader sees in report.html: tags, ids and the configuration block left out. */
const visibleText = (html: string) =>
  html
    .replace(/<details>[\s\S]*?<\/details>/, '')
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<[^>]*>/g, ' ');

test('metricNamesOf: EM / F1 when the results carry SQuAD scores, accuracy / macro-F1 otherwise', () => {
  assert.equal(metricNamesOf(summary(true)), QA_METRICS);
  assert.equal(metricNamesOf(summary(false)), CLASSIFICATION_METRICS);
});

test('a QA experiment report says EM / F1 in the table, titles, text and charts, never accuracy', async () => {
  const s = summary(true);
  const dir = mkdtempSync(path.join(tmpdir(), 's3-report-qa-'));
  const files = await writeExperimentReport(s, dir);
  const md = readFileSync(files.md, 'utf8');
  assert.match(md, /^## Results \(ranked by mean test EM\)$/m);
  assert.match(
    md,
    /\| arm \| method \| ok\/failed \| test EM \| test F1 \| val EM \| val−test gap \| Δ EM vs s3 \[95% CI\] \|/,
  );
  assert.match(md, /SQuAD exact match \(EM\) and SQuAD token F1 are on the gold test split/);
  assert.match(md, /Δ EM vs s3 is the mean of the per-seed differences/);
  assert.match(md, /they would be training EM\. The val−test gap \(validation − test EM\)/);
  assert.match(
    md,
    /charts? in report\.html: Test EM per round; Final test EM vs teacher tokens; Learning curves: test EM vs teacher tokens spent; Final test EM per arm; Paired difference vs s3\./,
  );
  assert.doesNotMatch(md, /accuracy|\bacc\b|macro-F1/i);

  const html = readFileSync(files.html, 'utf8');
  const text = visibleText(html);
  assert.match(text, /Results \(ranked by mean test EM\)/);
  for (const axis of ['test EM', 'final test EM']) assert.ok(html.includes(`>${axis}</text>`), `axis title "${axis}"`);
  assert.doesNotMatch(text, /accuracy|\bacc\b|macro-F1/i);

  // the learning-curve AUC starts QA at 0 (no answer), not at 1 / labels = 100% for ["answer"]:
  // each s3 seed: (0 × 100 + 0.2 × 100) / 200 = 10% (with chance 1: 60%)
  const rows = experimentTableRows(s);
  const aucColumn = experimentTableHead(s).indexOf('AUC EM×tokens');
  assert.equal(rows.find((r) => r[0] === 's3')![aucColumn], '10.0 ± 0.0%');
});

test('chart specs take the metric names: axis titles and the paired-difference legend', () => {
  const s = summary(true);
  const stats = armSummaries(s, 's3');
  const order = ['s3', 'zerogen'];
  const round = roundAccuracySpec(stats.arms, order, QA_METRICS) as {
    layer: { encoding: { y: { title?: string } } }[];
  };
  assert.equal(round.layer[0].encoding.y.title, 'test EM');
  const bars = finalAccuracyBarSpec(stats.arms, s, QA_METRICS) as { layer: { encoding: { y: { title: string } } }[] };
  assert.equal(bars.layer[0].encoding.y.title, 'final test EM');
  const diff = pairedDiffSpec(stats, QA_METRICS) as { layer: { data: { values: { metric?: string }[] } }[] };
  assert.deepEqual([...new Set(diff.layer[1].data.values.map((v) => v.metric))], ['EM', 'F1']);
  const classification = pairedDiffSpec(armSummaries(summary(false), 's3')) as typeof diff;
  assert.deepEqual([...new Set(classification.layer[1].data.values.map((v) => v.metric))], ['accuracy', 'macro-F1']);
});

test('a classification experiment keeps accuracy / macro-F1 and chance 1 / labels', async () => {
  const s = summary(false);
  const dir = mkdtempSync(path.join(tmpdir(), 's3-report-cls-'));
  const md = readFileSync((await writeExperimentReport(s, dir)).md, 'utf8');
  assert.match(md, /^## Results \(ranked by mean test accuracy\)$/m);
  assert.match(md, /Accuracy and macro-F1 are on the gold test split/);
  assert.match(md, /Test accuracy per round; Final test accuracy vs teacher tokens/);
  assert.doesNotMatch(md, /\bEM\b/);
  // chance 1/2 before the first student: (0.5 × 100 + 0.2 × 100) / 200 = 35%
  const rows = experimentTableRows(s);
  assert.equal(rows.find((r) => r[0] === 's3')![experimentTableHead(s).indexOf('AUC acc×tokens')], '35.0 ± 0.0%');
});

test('report.html splits the results table in two (scores; seeds, cost and data) in the task’s metric names', async () => {
  const s = summary(true);
  const html = readFileSync(
    (await writeExperimentReport(s, mkdtempSync(path.join(tmpdir(), 's3-report-split-')))).html,
    'utf8',
  );
  const decode = (t: string) =>
    t
      .replace(/<[^>]*>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&');
  const tables = [...html.matchAll(/<table class="results" data-part="([^"]+)">([\s\S]*?)<\/table>/g)].map((m) => ({
    part: m[1],
    head: [...m[2].matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map((c) => decode(c[1])),
    titles: Object.fromEntries(
      [...m[2].matchAll(/<th title="([^"]*)">([\s\S]*?)<\/th>/g)].map((c) => [decode(c[2]), decode(c[1])]),
    ),
    rows: [...m[2].matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
      .slice(1)
      .map((r) => [...r[1].matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => decode(c[1]))),
    tds: [...m[2].matchAll(/<td>([\s\S]*?)<\/td>/g)].map((c) => c[1]),
  }));
  assert.deepEqual(
    tables.map((t) => t.part),
    RESULTS_TABLE_PARTS.map((p) => p.id),
  );
  const head = experimentTableHead(s);
  const rows = experimentTableRows(s);
  for (const [k, t] of tables.entries()) {
    const idx = RESULTS_TABLE_PARTS[k].columns.map((c) => EXPERIMENT_TABLE_HEAD.indexOf(c));
    assert.deepEqual(
      t.head,
      idx.map((i) => head[i]),
      `${t.part}: head in EM / F1`,
    );
    assert.deepEqual(
      t.rows,
      rows.map((r) => idx.map((i) => r[i])),
      `${t.part}: cells (text unchanged by the spans)`,
    );
  }
  assert.deepEqual(tables[0].head.slice(0, 4), ['arm', 'method', 'test EM', 'test F1']);
  assert.ok(tables[0].head.includes('Δ EM vs s3 [95% CI]'));
  assert.match(tables[1].titles['AUC EM×tokens'], /test EM vs teacher tokens/);
  for (const t of tables) for (const title of Object.values(t.titles)) assert.doesNotMatch(title, /accuracy/);
  // a Δ cell may break before its interval only: "−x pp" | "[lo, hi] (n=2)"
  const zerogenDiff = tables[0].tds.find((td) => td.includes('(n=2)'));
  assert.match(
    zerogenDiff ?? '',
    /^<span class="nw">[+−]?\d+\.\d pp<\/span> <span class="nw">\[[^\]]+\] \(n=2\)<\/span>$/,
  );
});
