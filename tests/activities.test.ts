/**
 * The teacher activities called directly (outside Temporal, as plain functions built by
 * `createActivities(deps)`), against the loopback fake teacher (a test double).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { createActivities } from '../activities/index.js';
import { parseConfig } from '../config/schema.js';
import { createTeacherPool } from '../workers/worker.js';
import { startFakeTeacher } from './helpers/fake-teacher.js';
import { fakeRunConfig, writeGoldTask } from './helpers/fixtures.js';

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
