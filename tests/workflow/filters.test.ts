/**
 * A quality filter in a real run (issue 18 item 2): the teacher self-check on the loopback fake
 * teacher (a test double), through s3Synthesis on a dev server. The fake answers the self-check
 * question with the first label it names ("positive"), so every output asked for "negative" is
 * dropped. The test follows the drops and the self-check's calls through every place they must
 * be counted: the rejected outputs (`seed.rejected.jsonl`, reason `selfCheck:other-label`), the
 * run's usage (`usage.filters`, calls, tokens, rejected), report.json, the fake's own request
 * count, a token budget, and the cache (a second run pays for none of them again).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { S3ConfigInput } from '../../config/schema.js';
import type { S3Result } from '../../workflows/types.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';
import { startWorkflowHarness } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-filters-test';
let h: Awaited<ReturnType<typeof startWorkflowHarness>>;
const gold = writeGoldTask({ validation: 40, test: 40 });

before(async () => {
  h = await startWorkflowHarness(TASK_QUEUE);
});

after(async () => {
  await h.close();
});

const tokensOf = (u: { promptTokens: number; completionTokens: number }) => u.promptTokens + u.completionTokens;
const readJsonl = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

/** The fixture run with the self-check on (seed data only, so that one activity holds every drop). */
function checkedConfig(runId: string, cacheDir: string, extra: Partial<S3ConfigInput> = {}): S3ConfigInput {
  const base = fakeRunConfig(gold, h.fake.baseURL, { runId, seedSize: 12, rounds: 0, cacheDir });
  return { ...base, synthesis: { ...base.synthesis, maxAttempts: 2, filters: { selfCheck: true } }, ...extra };
}

async function run(config: S3ConfigInput): Promise<S3Result> {
  return (await h.env.client.workflow.execute('s3Synthesis', {
    taskQueue: TASK_QUEUE,
    workflowId: config.runId!,
    args: [config],
  })) as S3Result;
}

test('self-check drops are rejections with reasons, in the usage and report.json, and its calls are paid once', async () => {
  const cacheDir = path.join(gold.dir, 'cache-checked');
  const before = h.fake.requests;
  const r = await run(checkedConfig('self-check', cacheDir));
  const paid = h.fake.requests - before;
  const f = r.usage.filters?.selfCheck;
  assert.ok(f, `usage.filters: ${JSON.stringify(r.usage.filters)}`);

  // the rejected outputs: one row per drop, with the reason and the teacher's answer
  const runDir = path.join(gold.dir, 'runs', 'self-check');
  const rejected = readJsonl(path.join(runDir, 'synthetic', 'seed.rejected.jsonl')).filter((x) =>
    String(x.reason).startsWith('selfCheck:'),
  );
  assert.ok(f.dropped > 0, 'the fake answers "positive": outputs asked for "negative" are dropped');
  assert.equal(rejected.length, f.dropped);
  assert.ok(rejected.every((x) => x.reason === 'selfCheck:other-label' && x.label === 'negative'));
  assert.ok(rejected.every((x) => /teacher answered .*\(positive\)/.test(x.detail)));
  // every kept seed example was asked for the label the teacher confirmed
  const seed = readJsonl(path.join(runDir, 'synthetic', 'seed.jsonl'));
  assert.ok(seed.length > 0 && seed.every((x) => x.label === 'positive'));
  assert.equal(f.checked, seed.length + f.dropped, 'every output that passed cleaning was checked once');

  // counted: one self-check call per checked output, inside the run's calls and tokens
  assert.equal(f.calls, f.checked);
  assert.ok(f.tokens! > 0);
  assert.equal(r.usage.calls, paid, 'the run counts every call the teacher answered (generation + self-check)');
  assert.ok(r.usage.rejected >= f.dropped);
  const report = JSON.parse(readFileSync(r.reportJson, 'utf8'));
  assert.deepEqual(report.usage.filters, r.usage.filters);
  assert.equal(tokensOf(report.usage), tokensOf(r.usage));
  const md = readFileSync(path.join(runDir, 'report.md'), 'utf8');
  assert.ok(
    md.includes(`Filters: selfCheck dropped ${f.dropped} of ${f.checked} outputs (${f.calls} teacher calls`),
    md,
  );

  // the same run again on the same cache: every call (self-check included) comes from the cache
  const again0 = h.fake.requests;
  const again = await run(checkedConfig('self-check-again', cacheDir));
  assert.equal(h.fake.requests, again0, 'a re-run pays for no call twice');
  assert.equal(again.usage.cachedCalls, again.usage.calls);
  assert.deepEqual(again.usage.filters, r.usage.filters);
});

test('the self-check spends the run’s token budget: its calls are counted against teacherTokens', async () => {
  const cacheDir = path.join(gold.dir, 'cache-budget');
  const free = await run(checkedConfig('self-check-free', cacheDir));
  const budget = Math.floor(tokensOf(free.usage) * 0.6);
  const cut = await run(checkedConfig('self-check-cut', cacheDir, { budget: { teacherTokens: budget } }));
  const spent = tokensOf(cut.usage);
  assert.ok(spent <= budget, `spent ${spent} of ${budget}`);
  assert.ok(cut.usage.filters!.selfCheck.tokens! > 0);
  assert.ok(spent >= cut.usage.filters!.selfCheck.tokens!, 'the self-check tokens are part of what the run spent');
  assert.ok(cut.dataset.count < free.dataset.count, 'the budget left fewer examples');
});

test('s3-demos: every seed prompt shows 2 gold validation examples of the asked label, recorded in provenance', async () => {
  const base = fakeRunConfig(gold, h.fake.baseURL, { runId: 's3-demos', seedSize: 8, rounds: 0 });
  const r = await run({ ...base, method: 's3-demos' });
  const runDir = path.join(gold.dir, 'runs', 's3-demos');
  const validation = new Map(readJsonl(gold.validation).map((x) => [x.id, x]));
  const seed = readJsonl(path.join(runDir, 'synthetic', 'seed.jsonl'));
  assert.ok(seed.length > 0 && r.dataset.count === seed.length);
  for (const x of seed) {
    const p = x.provenance;
    assert.equal(p.demos.length, 2);
    assert.match(p.templateId, /\+demos$/);
    assert.ok(p.prompt.startsWith(`Here are examples of a ${x.label} review:\n- `), p.prompt);
    for (const id of p.demos) {
      assert.equal(validation.get(id)?.label, x.label, `demo ${id} has the asked label`);
      assert.ok(p.prompt.includes(validation.get(id)!.text));
    }
  }
});

test('near-duplicates: a seed batch given the training set drops outputs that repeat it (activity level)', async () => {
  const { createActivities } = await import('../../activities/index.js');
  const { parseConfig } = await import('../../config/schema.js');
  const { createTeacherPool } = await import('../../workers/worker.js');
  const teachers = createTeacherPool();
  try {
    const acts = createActivities({ teachers });
    const base = fakeRunConfig(gold, h.fake.baseURL, { runId: 'near-dup', seedSize: 6, rounds: 0 });
    const config = parseConfig({ ...base, synthesis: { ...base.synthesis, filters: { nearDuplicates: true } } });
    const task = await acts.prepareTask(config);
    const rationales = await acts.synthesizeRationales({ config, task });
    const first = await acts.synthesizeSeed({ config, task, rationales: rationales.ref, file: 'first' });
    assert.equal(first.usage.filters?.nearDuplicates.dropped, 0, 'distinct outputs within one batch');
    // the same prompts again (the cache answers the same outputs), now with the first batch as training data
    const again = await acts.synthesizeSeed({
      config,
      task,
      rationales: rationales.ref,
      file: 'again',
      train: [first.ref],
    });
    const dropped = readJsonl(again.rejectedRef.path).filter((x) => x.reason === 'nearDuplicates:jaccard');
    assert.equal(dropped.length, first.ref.count, 'every repeat of a training example is dropped once');
    assert.ok(
      dropped.every((x) =>
        /near-duplicate of an example of the training set \(estimated Jaccard 1\.00\)/.test(x.detail),
      ),
    );
    assert.equal(again.usage.filters?.nearDuplicates.dropped, first.ref.count);
    assert.equal(again.ref.count, first.ref.count, 'each was asked again and a new output kept');
  } finally {
    await teachers.close();
  }
});
