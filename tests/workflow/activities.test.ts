/**
 * The teacher activities called directly (outside Temporal, as plain functions built by
 * `createActivities(deps)`), against the loopback fake teacher (a test double).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { createActivities } from '../../activities/index.js';
import { parseConfig } from '../../config/schema.js';
import { createTeacherPool } from '../../workers/worker.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from '../helpers/fixtures.js';

const teachers = createTeacherPool();
const acts = createActivities({ teachers });
after(() => teachers.close());

test('when every rationale is rejected the fallback to the plain template is recorded and warned about', async () => {
  const gold = writeGoldTask();
  const fake = await startFakeTeacher({ mode: 'garbage' });
  try {
    const config = parseConfig({
      ...fakeRunConfig(gold, fake.baseURL, { runId: 'fallback', seedSize: 6 }),
      runId: 'fallback',
    });
    const task = await acts.prepareTask(config);
    mkdirSync(path.join(task.runDir, 'synthetic'), { recursive: true });
    const rationales = await acts.synthesizeRationales({ config, task });
    assert.ok(
      rationales.warnings?.some((w) => /no rationale survived for label\(s\) positive, negative/.test(w)),
      JSON.stringify(rationales.warnings),
    );
    fake.mode = 'normal';
    const seed = await acts.synthesizeSeed({ config, task, rationales: rationales.ref });
    assert.ok(
      seed.warnings?.some((w) => /fell back to the plain template/.test(w)),
      JSON.stringify(seed.warnings),
    );
    const rows = readFileSync(seed.ref.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      rows.length > 0 && rows.every((r) => r.provenance.templateId === 'single.queryPlain.table1'),
      'plain template used',
    );
    assert.match(task.teacherCheck ?? '', /answered/);
  } finally {
    await fake.close();
  }
});

test('changing synthesis.maxAttempts keeps the cache keys of the attempts already made (nothing paid again)', async () => {
  const gold = writeGoldTask();
  const fake = await startFakeTeacher({ mode: 'garbage' }); // every output rejected: all attempts are used
  try {
    const base = fakeRunConfig(gold, fake.baseURL, { runId: 'attempts', seedSize: 5 });
    const config = parseConfig({ ...base, synthesis: { ...base.synthesis, maxAttempts: 2, useRationales: false } });
    const task = await acts.prepareTask(config);
    const rationales = await acts.synthesizeRationales({ config, task });
    await acts.synthesizeSeed({ config, task, rationales: rationales.ref });
    assert.equal(fake.answered, 10, '5 wants × 2 attempts');
    const more = parseConfig({ ...base, synthesis: { ...base.synthesis, maxAttempts: 3, useRationales: false } });
    const r = await acts.synthesizeSeed({ config: more, task, rationales: rationales.ref });
    assert.equal(fake.answered, 15, 'only the third attempt of each want is new');
    assert.equal(r.usage.cachedCalls, 10);
    assert.deepEqual(fake.answeredTwice(), []);
  } finally {
    await fake.close();
  }
});

test('seed batches continue one seeded sequence: [0, 4) then [4, 8) asks exactly what [0, 8) asks', async () => {
  const gold = writeGoldTask();
  const fake = await startFakeTeacher();
  try {
    const config = parseConfig(fakeRunConfig(gold, fake.baseURL, { runId: 'batches', seedSize: 8 }));
    const task = await acts.prepareTask(config);
    const rationales = await acts.synthesizeRationales({ config, task });
    const a = await acts.synthesizeSeed({ config, task, rationales: rationales.ref, from: 0, count: 4, file: 'a' });
    const b = await acts.synthesizeSeed({ config, task, rationales: rationales.ref, from: 4, count: 4, file: 'b' });
    const paid = fake.answered;
    const whole = await acts.synthesizeSeed({ config, task, rationales: rationales.ref });
    assert.equal(fake.answered, paid, 'the whole run is served from the cache');
    const ids = (p: string) =>
      readFileSync(p, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).provenance.prompt);
    assert.deepEqual([...ids(a.ref.path), ...ids(b.ref.path)], ids(whole.ref.path));
  } finally {
    await fake.close();
  }
});
