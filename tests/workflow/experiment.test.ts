/**
 * The experiment harness end to end against a real local Temporal dev server, the loopback
 * fake teacher (a test double that counts every call) and the real TF-IDF student: every
 * method's selection and stopping, equal budgets (examples and tokens), shared calls paid
 * once, children visible under stable ids, and a re-started experiment reusing finished arms.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseExperiment, type ExperimentConfigInput } from '../../config/experiment.js';
import { readJsonl } from '../../data/jsonl.js';
import { METHOD_NAMES, type ArmSeedResult } from '../../domain/experiment.js';
import { splitHoldout } from '../../acquisition/holdout.js';
import { Rng } from '../../domain/rng.js';
import { PickedRowSchema, SyntheticExampleSchema } from '../../domain/types.js';
import { s3Experiment, type ExperimentResult } from '../../workflows/s3Experiment.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { writeGoldTask } from '../helpers/fixtures.js';
import { startWorkflowHarness } from '../helpers/temporal.js';

const TASK_QUEUE = 's3-experiment-test';
let env: TestWorkflowEnvironment;
let close: () => Promise<void>;
let fake: Awaited<ReturnType<typeof startFakeTeacher>>;
const gold = writeGoldTask({ validation: 40, test: 60 });
const trainFile = path.join(gold.dir, 'train.jsonl');
writeFileSync(
  trainFile,
  Array.from({ length: 80 }, (_, i) => {
    const label = i % 2 ? 'negative' : 'positive';
    return JSON.stringify({ id: `tr-${i}`, text: `a ${label} thing number ${i}`, label });
  }).join('\n') + '\n',
);

before(async () => {
  ({ env, fake, close } = await startWorkflowHarness(TASK_QUEUE));
});

after(() => close());

function experiment(over: Partial<ExperimentConfigInput> & { experimentId: string }): ExperimentConfigInput {
  return {
    runRoot: path.join(gold.dir, 'runs'),
    cacheDir: path.join(gold.dir, 'cache'),
    task: {
      kind: 'single',
      item: 'review',
      labels: ['positive', 'negative'],
      source: { type: 'files', validation: gold.validation, test: gold.test, train: trainFile },
    },
    teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 4 },
    synthesis: { rounds: 2, numRationales: 4 },
    timeouts: { heartbeatSec: 30, activityMin: 10 },
    seeds: [1, 2],
    budget: { examples: 24 },
    quality: true,
    ...over,
  };
}

async function run(cfg: ExperimentConfigInput): Promise<ExperimentResult> {
  parseExperiment(cfg); // valid as written
  return env.client.workflow.execute(s3Experiment, {
    taskQueue: TASK_QUEUE,
    workflowId: String(cfg.experimentId),
    args: [cfg],
  });
}

const byArm = (rs: ArmSeedResult[], arm: string) => rs.filter((r) => r.arm === arm);

test('every method runs under one examples budget; shared calls are paid once; a re-start reuses every arm', async () => {
  const cfg = experiment({ experimentId: 'exp-all', arms: METHOD_NAMES.map((method) => ({ method })) });
  const requestsBefore = fake.answered;
  const out = await run(cfg);
  const rs = out.summary.results;
  assert.equal(rs.length, METHOD_NAMES.length * 2);
  for (const r of rs) assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);

  // equal budgets: every teacher arm trains its final student on exactly 24 synthetic examples
  for (const m of ['s3', 'zerogen', 'seed-only', 'no-rationales', 'goldgen', 'progen', 'active'])
    for (const r of byArm(rs, m)) {
      assert.equal(r.used.syntheticExamples, 24, `${r.workflowId}`);
      assert.equal(r.used.goldExamples, 0);
      assert.equal(r.rounds[r.rounds.length - 1].trainSize, 24, `${r.workflowId} final student`);
    }
  for (const r of byArm(rs, 'gold')) assert.deepEqual([r.used.syntheticExamples, r.used.goldExamples], [0, 24]);
  for (const r of byArm(rs, 'gold-all')) assert.equal(r.used.goldExamples, 80);
  for (const r of byArm(rs, 'gold-validation')) {
    assert.equal(r.used.goldExamples, 40);
    assert.equal(r.validation, null, 'trained on validation: no validation score');
    assert.equal(r.usage.calls, 0, 'gold arms never call the teacher');
  }
  for (const r of byArm(rs, 's3+gold-validation')) {
    assert.deepEqual([r.used.syntheticExamples, r.used.goldExamples], [24, 40]);
    const s3 = byArm(rs, 's3').find((x) => x.seed === r.seed)!;
    assert.equal(r.used.paidCalls, 0, 'its synthesis is the s3 arm’s, served from the cache');
    assert.equal(r.used.reusedCalls, s3.usage.calls);
  }

  // selection: s3 seeds half the budget then extrapolates misclassified examples; zerogen and
  // seed-only synthesize everything as seed data; goldgen extrapolates correctly classified ones too
  for (const r of byArm(rs, 's3')) {
    assert.equal(r.rounds[0].origin, 'seed');
    assert.equal(r.rounds[0].added, 12);
    const rows = await readJsonl(r.dataset!.path, SyntheticExampleSchema);
    const ees = rows.filter((x) => x.provenance.origin === 'ees');
    const mis = await readJsonl(path.join(r.runDir, 'round-0', 'picked.jsonl'), PickedRowSchema, {
      allowEmpty: true,
    });
    const wrong = new Set(mis.map((m) => m.example.id));
    for (const x of ees.filter((e) => e.provenance.round === 1))
      assert.ok(wrong.has(x.provenance.misclassifiedId!), 'EES extrapolates misclassified examples only');
    assert.ok(
      rows.every((x) => x.provenance.templateId !== 'single.queryPlain.table1' || x.provenance.origin !== 'ees'),
    );
  }
  for (const r of byArm(rs, 'zerogen')) {
    const rows = await readJsonl(r.dataset!.path, SyntheticExampleSchema);
    assert.ok(rows.every((x) => x.provenance.origin === 'seed' && x.provenance.rationales.length === 0));
    assert.equal(r.rounds.length, 1, 'no rounds');
  }
  for (const r of byArm(rs, 'seed-only')) {
    const rows = await readJsonl(r.dataset!.path, SyntheticExampleSchema);
    assert.ok(rows.every((x) => x.provenance.origin === 'seed' && x.provenance.rationales.length > 0));
  }
  for (const r of byArm(rs, 'goldgen')) {
    const extrapolated = await readJsonl(path.join(r.runDir, 'round-0', 'picked.jsonl'), PickedRowSchema);
    assert.equal(extrapolated.length, 12, 'every validation example is a candidate, capped at the budget left');
    const wrong = extrapolated.filter((x) => x.predicted !== x.example.label).length;
    assert.ok(wrong < 12 || r.rounds[0].validation.misclassified >= 30, 'a uniform sample, not only errors');
  }
  for (const r of byArm(rs, 's3-demos')) {
    // s3 with 2 gold validation examples of the asked label above every seed prompt
    const seed = (await readJsonl(r.dataset!.path, SyntheticExampleSchema)).filter(
      (x) => x.provenance.origin === 'seed',
    );
    assert.ok(seed.length > 0 && seed.every((x) => x.provenance.demos?.length === 2), r.workflowId);
  }
  for (const r of byArm(rs, 'progen')) {
    assert.ok(existsSync(path.join(r.runDir, 'round-0', 'in-context.jsonl')), 'ProGen scored influence');
    const rows = await readJsonl(r.dataset!.path, SyntheticExampleSchema);
    assert.ok(rows.some((x) => x.provenance.origin === 'icl' && /Here are examples/.test(x.provenance.prompt)));
  }

  // shared calls: seed-only's first prompts are s3's (same seed) and are served from the cache
  for (const r of byArm(rs, 'seed-only')) assert.ok(r.used.reusedCalls >= 12, `${r.workflowId} reused`);
  assert.deepEqual(fake.answeredTwice(), [], 'no teacher call paid twice');
  const paid = rs.reduce((n, r) => n + r.used.paidCalls, 0);
  assert.equal(fake.answered - requestsBefore, paid, 'paid calls in the results = calls the teacher answered');

  // the children have stable ids and are visible as workflows
  const child = await env.client.workflow.getHandle('exp-all/s3/seed-1').describe();
  assert.equal(child.type, 'synthesisArm');
  assert.equal(child.parentExecution?.workflowId, 'exp-all');

  // quality study for s3, s3-demos and goldgen, report files
  assert.equal(out.summary.quality.length, 6);
  for (const f of [out.reportHtml, out.reportMd, out.resultsJsonl]) assert.ok(existsSync(f), f);
  assert.equal(readFileSync(out.resultsJsonl, 'utf8').trim().split('\n').length, rs.length);

  // a re-started experiment reuses every finished arm: no teacher call, same results
  const answered = fake.answered;
  const again = await run(cfg);
  assert.equal(fake.answered, answered, 'nothing paid again');
  assert.deepEqual(
    again.summary.results.map((r) => r.test?.accuracy),
    rs.map((r) => r.test?.accuracy),
  );
});

test('a token budget: every teacher arm stops at it, never past it', async () => {
  const limit = 3000;
  const cfg = experiment({
    experimentId: 'exp-tokens',
    seeds: [1],
    budget: { tokens: limit },
    arms: [{ method: 's3' }, { method: 'zerogen' }, { method: 'goldgen' }, { method: 'gold', goldExamples: 20 }],
  });
  const out = await run(cfg);
  for (const r of out.summary.results) {
    assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
    if (r.method === 'gold') continue;
    assert.ok(r.used.tokens <= limit, `${r.arm} spent ${r.used.tokens} > ${limit}`);
    // the fake's calls cost well under 200 tokens each, so stopping short by more means a bug
    assert.ok(r.used.tokens > limit - 200, `${r.arm} stopped at ${r.used.tokens}`);
    assert.equal(r.used.tokens, r.usage.promptTokens + r.usage.completionTokens);
  }
});

test('a failing child is recorded with its error and the others go on', async () => {
  const cfg = experiment({
    experimentId: 'exp-fail',
    seeds: [1],
    arms: [{ method: 'gold', goldExamples: 500 }, { method: 'zerogen' }],
  });
  const out = await run(cfg);
  const [goldArm, zerogen] = out.summary.results;
  assert.equal(goldArm.status, 'failed');
  assert.match(goldArm.error ?? '', /500 gold train examples, the split has 80/);
  assert.equal(zerogen.status, 'completed');
  assert.match(readFileSync(out.reportMd, 'utf8'), /500 gold train examples/);

  // started again with another budget: the finished zerogen arm is not reused (its input changed)
  const again = await run({ ...cfg, budget: { examples: 12 } });
  assert.equal(again.summary.results[1].used.syntheticExamples, 12);
});

test('active arms: the acquisition function picks from its pool, never from the dev holdout, and provenance records it', async () => {
  const cfg = experiment({
    experimentId: 'exp-active',
    seeds: [1],
    arms: [
      { method: 'active', name: 'entropy', acquisition: 'entropy', validationHoldout: 0.25 },
      { method: 'active', name: 'lc-synthetic', acquisition: 'least-confidence', pool: 'synthetic' },
      { method: 'active', name: 'coreset', acquisition: 'coreset' },
      { method: 'active', name: 'judge', acquisition: 'teacher-judge' },
    ],
  });
  const out = await run(cfg);
  const validationIds = readFileSync(gold.validation, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).id as string);
  for (const r of out.summary.results) {
    assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
    assert.equal(r.used.syntheticExamples, 24);
    const rows = await readJsonl(r.dataset!.path, SyntheticExampleSchema);
    const ees = rows.filter((x) => x.provenance.origin === 'ees');
    assert.ok(ees.length > 0, `${r.arm} expanded pool items`);
    assert.ok(
      r.rounds.slice(0, -1).every((x) => x.acquisition?.picked),
      `${r.arm}: per-round picked-score summary`,
    );
    for (const x of ees) assert.ok(x.provenance.acquisition, `${r.arm}: provenance records the pick`);
    if (r.arm === 'entropy') {
      const validationRows = await readJsonl(
        path.join(r.runDir, 'gold', 'validation.jsonl'),
        PickedRowSchema.shape.example,
      );
      const { dev } = splitHoldout(validationRows.length, 0.25, 1);
      const devIds = new Set(dev.map((i) => validationRows[i].id));
      assert.equal(devIds.size, 10);
      for (const x of ees) {
        assert.equal(x.provenance.acquisition!.name, 'entropy');
        assert.ok(!devIds.has(x.provenance.acquisition!.poolItem), 'a dev example was picked');
      }
      assert.ok(r.rounds[0].selection, 'both the selection part and the dev part are scored');
      assert.equal(r.rounds[0].validation.count, 10, 'validation accuracy is reported on the dev part');
    }
    if (r.arm === 'judge') {
      const ratings = await readJsonl(
        path.join(r.runDir, 'round-1', 'judge-ratings.jsonl'),
        PickedRowSchema.shape.example.pick({ id: true }).extend({ rating: z.number().nullable() }),
      );
      assert.equal(ratings.length, 40, 'the teacher rated every candidate');
      const rated = new Map(ratings.map((x) => [x.id, x.rating!]));
      const round1 = ees.filter((x) => x.provenance.round === 1);
      const minPicked = Math.min(...round1.map((x) => rated.get(x.provenance.acquisition!.poolItem)!));
      const unpicked = ratings.filter((x) => !round1.some((e) => e.provenance.acquisition!.poolItem === x.id));
      assert.ok(
        unpicked.every((x) => x.rating! <= minPicked),
        'the picked candidates are the ones the teacher rated hardest',
      );
      assert.ok(r.usage.calls >= 40 + 24, 'judge calls are counted in the arm’s usage');
    }
    if (r.arm === 'lc-synthetic')
      for (const x of ees) {
        assert.equal(x.provenance.acquisition!.pool, 'synthetic');
        assert.ok(!validationIds.includes(x.provenance.acquisition!.poolItem), 'no human label spent');
        assert.equal(x.provenance.templateId, 'single.query.table1', 'T_query with the picked item’s rationales');
      }
  }
});

test('active arms under a token budget: every round gets its share, and the teacher expands the best-ranked picks first', async () => {
  const limit = 4000;
  const out = await run(
    experiment({
      experimentId: 'exp-active-tokens',
      seeds: [1],
      budget: { tokens: limit },
      synthesis: { rounds: 3, numRationales: 4 },
      quality: false,
      arms: [
        { method: 'active', name: 'entropy', acquisition: 'entropy' },
        { method: 'active', name: 'judge', acquisition: 'teacher-judge' },
        { method: 's3' },
      ],
    }),
  );
  for (const r of out.summary.results) {
    assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
    assert.ok(r.used.tokens <= limit, `${r.arm} spent ${r.used.tokens} > ${limit}`);
    // a remainder smaller than one call ends the arm: no student re-trained on unchanged data,
    // no "budget not met" warning
    assert.ok(
      r.rounds.slice(1).every((x) => x.added > 0),
      `${r.arm}: rounds ${JSON.stringify(r.rounds.map((x) => x.added))}`,
    );
    assert.ok(!r.warnings.some((w) => w.includes('budget not met')), `${r.arm}: ${r.warnings.join('; ')}`);
    if (r.arm === 's3') continue;
    const rows = await readJsonl(r.dataset!.path, SyntheticExampleSchema);
    for (const q of [1, 2, 3])
      assert.ok(
        rows.some((x) => x.provenance.origin === 'ees' && x.provenance.round === q),
        `${r.arm}: round ${q} expanded pool items (the budget is shared by the rounds)`,
      );
    if (r.arm === 'entropy') {
      // round 0's student ranked the whole pool; round 1 expanded a prefix of that ranking
      const ranked = await readJsonl(path.join(r.runDir, 'round-0', 'picked.jsonl'), PickedRowSchema);
      const scores = ranked.map((x) => x.score!);
      assert.ok(ranked.length >= 30, `the whole pool is ranked (${ranked.length})`);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
        'best first',
      );
      const calls = r.rounds[1].teacher.calls;
      const asked = new Set(ranked.slice(0, calls).map((x) => x.example.id));
      for (const x of rows.filter((e) => e.provenance.round === 1))
        assert.ok(asked.has(x.provenance.acquisition!.poolItem), 'an item outside the best-ranked prefix was expanded');
      assert.ok(calls < ranked.length, 'the round stopped at its token share');
    }
  }
});

test('generate–evaluate–select: m candidates per pick, the student keeps one per pool item, the discarded ones are paid and counted', async () => {
  assert.throws(
    () =>
      parseExperiment(
        experiment({
          experimentId: 'bad',
          arms: [{ method: 'active', acquisition: 'teacher-judge', candidatesPerPick: 2 }],
        }),
      ),
    /candidatesPerPick > 1 needs an acquisition function the student computes/,
  );
  assert.throws(
    () => parseExperiment(experiment({ experimentId: 'bad', arms: [{ method: 's3', candidatesPerPick: 2 }] })),
    /options of method "active"/,
  );
  const out = await run(
    experiment({
      experimentId: 'exp-candidates',
      seeds: [1],
      quality: false,
      arms: [
        { method: 'active', name: 'margin-m3', acquisition: 'margin', candidatesPerPick: 3 },
        { method: 'active', name: 'margin', acquisition: 'margin' },
      ],
    }),
  );
  const [m3, m1] = out.summary.results;
  for (const r of [m3, m1]) {
    assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
    assert.equal(r.used.syntheticExamples, 24, 'the examples budget counts kept examples');
  }
  const rows = await readJsonl(m3.dataset!.path, SyntheticExampleSchema);
  const ees = rows.filter((x) => x.provenance.origin === 'ees');
  assert.ok(ees.length > 0);
  for (const q of new Set(ees.map((x) => x.provenance.round))) {
    const items = ees.filter((x) => x.provenance.round === q).map((x) => x.provenance.acquisition!.poolItem);
    assert.equal(new Set(items).size, items.length, `round ${q}: one kept candidate per pool item`);
    const discarded = await readJsonl(
      path.join(m3.runDir, 'synthetic', `ees-round-${q}.selected.jsonl`).replace('.selected', '.discarded'),
      SyntheticExampleSchema,
    );
    assert.ok(discarded.length > 0, `round ${q}: discarded candidates kept for inspection`);
    for (const d of discarded) assert.ok(items.includes(d.provenance.acquisition!.poolItem));
  }
  for (const x of ees) {
    const c = x.provenance.acquisition!.candidate!;
    assert.ok(c, 'provenance records the candidate');
    assert.ok(c.index >= 0 && c.index < c.of && c.of <= 3);
    assert.equal(typeof c.score, 'number');
    assert.ok(c.decidedBy === 'margin');
  }
  // the discarded candidates were paid for: m3 made (about) 3 calls per EES example
  const eesCalls = (r: ArmSeedResult) => r.rounds.slice(1).reduce((n, x) => n + x.teacher.calls, 0);
  assert.ok(eesCalls(m3) >= 2.5 * ees.length, `${eesCalls(m3)} EES calls for ${ees.length} kept examples`);
  assert.ok(m3.used.tokens > m1.used.tokens, 'the same examples cost more tokens with 3 candidates per pick');
});

test('token budgets are never exceeded (random budgets, seeded)', async () => {
  const rng = new Rng(2026, 'budgets');
  for (let i = 0; i < 3; i++) {
    const limit = 600 + rng.int(3000);
    const out = await run(
      experiment({
        experimentId: `exp-budget-${i}`,
        seeds: [1 + rng.int(100)],
        budget: { tokens: limit },
        arms: [
          { method: 's3' },
          { method: 'zerogen' },
          { method: 'active', acquisition: 'margin' },
          { method: 'active', name: 'judge', acquisition: 'teacher-judge' },
          { method: 'active', name: 'entropy-m3', acquisition: 'entropy', candidatesPerPick: 3 },
        ],
      }),
    );
    for (const r of out.summary.results) {
      assert.equal(r.status, 'completed', `${r.workflowId}: ${r.error}`);
      assert.ok(r.used.tokens <= limit, `${r.arm} spent ${r.used.tokens} > ${limit}`);
      assert.ok(r.used.tokens > limit - 200, `${r.arm} stopped at ${r.used.tokens} of ${limit}`);
    }
  }
});
