/**
 * The scoreInfluence activity (ProGen in-context selection) called as a plain function on a
 * tiny run directory with the tfidf-logreg student: influence.jsonl has every training row,
 * in-context.jsonl the ceil(topK / numLabels) most helpful rows per label in label order.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { scoreInfluence, type InfluenceRow } from '../../activities/influence.js';
import type { TaskRefs } from '../../activities/prepare.js';
import { runDirOf } from '../../activities/paths.js';
import { parseConfig } from '../../config/schema.js';
import { readJsonl, writeJsonl } from '../../data/jsonl.js';
import { ExampleSchema, type SyntheticExample } from '../../domain/types.js';
import { Rng } from '../../domain/rng.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';

const readRows = (p: string): InfluenceRow[] =>
  readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

async function setup() {
  const gold = writeGoldTask({ validation: 40 });
  const config = parseConfig({
    ...fakeRunConfig(gold, 'http://127.0.0.1:9/v1', { runId: 'influence' }),
    student: { kind: 'tfidf-logreg', l2: 1e-2 },
  });
  const runDir = runDirOf(config);
  const gv = await readJsonl(gold.validation, ExampleSchema);
  const gt = await readJsonl(gold.test, ExampleSchema);
  const task: TaskRefs = {
    runDir,
    validation: await writeJsonl(path.join(runDir, 'gold', 'validation.jsonl'), gv),
    test: await writeJsonl(path.join(runDir, 'gold', 'test.jsonl'), gt),
    contexts: null,
  };
  // 40 synthetic rows carrying their label word among filler words; 6 more that are only the
  // other label's word (so they pull the label words the wrong way and nothing else)
  const rng = new Rng(11, 'influence-activity');
  const filler = ['the', 'a', 'service', 'item', 'story', 'day', 'thing', 'place', 'was', 'felt'];
  const labels = ['positive', 'negative'];
  const synth: SyntheticExample[] = Array.from({ length: 46 }, (_, i) => {
    const label = labels[i % 2];
    const word = i < 40 ? label : labels[(i + 1) % 2];
    return {
      id: `syn-${i}`,
      text: i < 40 ? [...rng.sample(filler, 4), word].join(' ') : word,
      label,
      provenance: {
        origin: 'seed',
        round: 0,
        rationales: [],
        misclassifiedId: null,
        templateId: 'test',
        prompt: 'p',
        teacherModel: 'fake',
        sampling: { temperature: 0.9, topP: 0.9, maxTokens: 64 },
        sampleIndex: i,
        rawOutput: '',
      },
    };
  });
  const train = [
    await writeJsonl(path.join(runDir, 'synthetic', 'a.jsonl'), synth.slice(0, 30)),
    await writeJsonl(path.join(runDir, 'synthetic', 'b.jsonl'), synth.slice(30)),
  ];
  return { config, task, train };
}

test('scoreInfluence writes every row with its helpfulness and the balanced top-k in label order', async () => {
  const { config, task, train } = await setup();
  const out = await scoreInfluence({ config, task, train, round: 1, topK: 5 });
  assert.equal(out.scored, 46);
  assert.ok(out.cgIterations > 0);
  assert.ok(out.ms >= 0);

  const all = readRows(path.join(task.runDir, 'round-1', 'influence.jsonl'));
  assert.deepEqual(
    all.map((r) => r.id),
    Array.from({ length: 46 }, (_, i) => `syn-${i}`),
  );
  assert.ok(all.every((r) => Number.isFinite(r.helpfulness) && typeof r.text === 'string'));
  // the six rows whose word contradicts their label hurt the validation loss the most
  const byHelp = [...all].sort((a, b) => a.helpfulness - b.helpfulness);
  const contradicting = new Set(Array.from({ length: 6 }, (_, i) => `syn-${40 + i}`));
  assert.deepEqual(new Set(byHelp.slice(0, 6).map((r) => r.id)), contradicting);
  assert.ok(byHelp.slice(0, 6).every((r) => r.helpfulness < 0));

  // ceil(5 / 2) = 3 per label: positive first (config order), most helpful first
  assert.equal(out.ref.path, path.join(task.runDir, 'round-1', 'in-context.jsonl'));
  assert.equal(out.ref.count, 6);
  assert.deepEqual(out.ref.labelCounts, { positive: 3, negative: 3 });
  const picked = readRows(out.ref.path);
  assert.deepEqual(
    picked.map((r) => r.label),
    ['positive', 'positive', 'positive', 'negative', 'negative', 'negative'],
  );
  for (const label of ['positive', 'negative']) {
    const expected = all
      .filter((r) => r.label === label)
      .sort((a, b) => b.helpfulness - a.helpfulness)
      .slice(0, 3);
    assert.deepEqual(
      picked.filter((r) => r.label === label),
      expected,
    );
  }
  assert.ok(picked.every((r) => !contradicting.has(r.id)));
  // the in-context rows are valid examples for the next round's prompts
  assert.equal((await readJsonl(out.ref.path, ExampleSchema)).length, 6);
});

test('scoreInfluence rejects a bad topK and empty training data as InvalidInput', async () => {
  const { config, task, train } = await setup();
  await assert.rejects(
    scoreInfluence({ config, task, train, round: 1, topK: 0 }),
    (e) => e instanceof ApplicationFailure && e.type === 'InvalidInput' && e.nonRetryable,
  );
  const empty = await writeJsonl(path.join(task.runDir, 'synthetic', 'empty.jsonl'), []);
  await assert.rejects(
    scoreInfluence({ config, task, train: [empty], round: 1, topK: 4 }),
    (e) => e instanceof ApplicationFailure && e.type === 'InvalidInput' && /no synthetic examples/.test(e.message),
  );
});
