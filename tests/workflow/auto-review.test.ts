/**
 * The automated reviewer (scripts/review/auto.ts, the loop of scripts/dev/auto-review.ts) on a
 * real dev server with the loopback fake teacher: a run reviewing each round is reviewed through
 * the review server's HTTP API until it finishes; every round's review.json / reviewed.jsonl
 * must hold exactly what the reference rule decides (checked against a reference fitted here
 * on the run's gold validation set), and the summary must add up.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readJsonl } from '../../data/jsonl.js';
import { ExampleSchema } from '../../domain/types.js';
import { fitReference } from '../../quality/labelAgreement.js';
import { autoReview } from '../../scripts/review/auto.js';
import { ReviewApi } from '../../scripts/review/client.js';
import type { ReviewItem } from '../../scripts/review/round.js';
import { startReviewServer, temporalBackend, type RoundView } from '../../scripts/review/server.js';
import type { S3Result } from '../../workflows/types.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { startWorkflowHarness } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-auto-review-test';
let env: TestWorkflowEnvironment;
let close: () => Promise<void>;
let baseURL: string;
const gold = writeGoldTask({ validation: 40, test: 40 });
// a gold validation set without the label words, three quarters "positive": the reference it
// fits judges the fake teacher's examples (which carry their label word) by the other words and
// its prior, so it disagrees with some of them, and the rule has something to reject
writeFileSync(
  gold.validation,
  Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({
      id: `val-${i}`,
      text:
        ['the day was quite', 'a service item story', 'really felt the place', 'a thing was really'][i % 4] + ` ${i}`,
      label: i % 4 === 3 ? 'negative' : 'positive',
    }),
  ).join('\n') + '\n',
);

before(async () => {
  const h = await startWorkflowHarness(TASK_QUEUE, { delayMs: 5 });
  ({ env, close } = h);
  baseURL = h.fake.baseURL;
});
after(() => close());

test('auto-review --rule reference: every round rejected exactly where the gold-validation reference disagrees; the summary adds up', async (t) => {
  const runId = 'auto-review';
  const config = fakeRunConfig(gold, baseURL, { runId, seedSize: 16, rounds: 2 });
  const h = await env.client.workflow.start('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: runId,
    args: [config],
  });
  await h.executeUpdate('setReview', { args: [{ mode: 'each-round' }] });
  const server = await startReviewServer({ backend: temporalBackend(h), workflowId: runId, by: 'auto' });
  const lines: string[] = [];
  // a spy on the API: the rounds as the reviewer saw them
  const shown = new Map<number, ReviewItem[]>();
  class SpyApi extends ReviewApi {
    override async round(): Promise<RoundView> {
      const v = await super.round();
      if (v.state === 'waiting') shown.set(v.round, v.examples);
      return v;
    }
  }
  const summary = await autoReview({
    api: new SpyApi(server.url),
    rule: 'reference',
    by: 'auto',
    pollMs: 100,
    log: (l) => lines.push(l),
  }).finally(() => server.close());
  const result = (await h.result()) as S3Result;
  t.diagnostic(JSON.stringify({ ...summary, perRound: undefined }));

  assert.equal(summary.finished, 'completed');
  assert.equal(summary.reference?.trainedOn, 'gold-validation');
  assert.ok(summary.rounds >= 2, `${summary.rounds} rounds reviewed (seed and at least one EES round)`);
  assert.deepEqual(
    summary.perRound.map((r) => r.round),
    [...shown.keys()],
  );
  assert.equal(lines.length, summary.rounds);

  // the reference, fitted here as the rule must fit it: gold validation, the run's labels and seed
  const runDir = path.join(config.runRoot!, runId);
  const validation = await readJsonl(path.join(runDir, 'gold', 'validation.jsonl'), ExampleSchema);
  const reference = await fitReference({ train: null, validation }, ['positive', 'negative'], 42);
  let reviewed = 0;
  let rejected = 0;
  for (const [i, r] of summary.perRound.entries()) {
    const examples = shown.get(r.round)!;
    const verdicts = await reference.judge(examples);
    const disagree = examples.filter((x, k) => verdicts[k].label !== x.label).map((x) => x.id);
    // review.json is written when a review has decisions; an all-approved round has none
    const file = path.join(runDir, `round-${r.round}`, 'review.json');
    const decisions = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as { by: string; decisions: { id: string; action: string }[] })
          .decisions
      : [];
    assert.deepEqual(
      decisions.map((d) => [d.id, d.action]),
      disagree.map((id) => [id, 'reject']),
      `round ${r.round}: rejected exactly where the reference disagrees`,
    );
    assert.deepEqual([r.shown, r.rejected], [examples.length, disagree.length], `round ${r.round}`);
    if (disagree.length) {
      const kept = await readJsonl(path.join(runDir, `round-${r.round}`, 'reviewed.jsonl'), ExampleSchema, {
        allowEmpty: true,
      });
      assert.equal(kept.length, examples.length - disagree.length);
    }
    assert.match(lines[i], new RegExp(`^round ${r.round}: ${r.shown} shown, ${r.rejected} rejected, [\\d.]+ s$`));
    reviewed += r.shown;
    rejected += r.rejected;
  }
  // no rejected example reached the dataset
  const synthetic = readFileSync(path.join(runDir, 'synthetic', 'final.jsonl'), 'utf8');
  const finalIds = new Set(
    synthetic
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id),
  );
  for (const r of summary.perRound) {
    const file = path.join(runDir, `round-${r.round}`, 'review.json');
    if (!existsSync(file)) continue;
    for (const d of (JSON.parse(readFileSync(file, 'utf8')) as { decisions: { id: string }[] }).decisions)
      assert.ok(!finalIds.has(d.id), `${d.id} rejected but in final.jsonl`);
  }
  assert.ok(rejected > 0, 'the rule rejected something');
  assert.equal(summary.reviewed, reviewed);
  assert.equal(summary.rejected, rejected);
  assert.equal(result.rounds[0].trainSize, summary.perRound[0].shown - summary.perRound[0].rejected);
  assert.ok(summary.examplesPerMinute !== null && summary.examplesPerMinute > 0);
  assert.ok(Math.abs(summary.examplesPerMinute - reviewed / (summary.seconds / 60)) < 0.1 * summary.examplesPerMinute);
});
