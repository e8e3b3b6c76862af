/**
 * prepareTask on a files source whose validation, test and train name one file (QNLI: only
 * GLUE dev is labeled): the three splits are disjoint and no test premise is a context.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createActivities } from '../../activities/index.js';
import { parseConfig } from '../../config/schema.js';
import { createTeacherPool } from '../../workers/worker.js';
import { startFakeTeacher } from '../helpers/fake-teacher.js';

const teachers = createTeacherPool();
const acts = createActivities({ teachers });
after(() => teachers.close());

const read = (p: string) =>
  readFileSync(p, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; text: string });

test('one labeled file split into disjoint validation / test / train; contexts avoid test premises', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-onefile-'));
  const file = path.join(dir, 'dev.jsonl');
  const labels = ['entailment', 'not_entailment'];
  const rows = Array.from({ length: 60 }, (_, i) => ({
    id: `r${i}`,
    text: `Premise number ${i % 30} says something.`,
    text_pair: `What does premise ${i} say?`,
    label: labels[i % 2],
  }));
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const fake = await startFakeTeacher({});
  try {
    const config = parseConfig({
      runId: 'onefile',
      runRoot: path.join(dir, 'runs'),
      cacheDir: path.join(dir, 'cache'),
      seed: 7,
      task: {
        kind: 'pair',
        labels,
        source: { type: 'files', validation: file, test: file, train: file, validationSize: 10, testSize: 20 },
      },
      teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher' },
      synthesis: { seedSize: 4, rounds: 1 },
    });
    const task = await acts.prepareTask(config);
    const v = read(task.validation.path);
    const t = read(task.test.path);
    const tr = read(task.train!.path);
    assert.equal(v.length, 10);
    assert.equal(t.length, 20);
    assert.equal(tr.length, 30);
    const ids = [...v, ...t, ...tr].map((r) => r.id);
    assert.equal(new Set(ids).size, 60, 'disjoint');
    const testPremises = new Set(t.map((r) => r.text));
    const contexts = read(task.contexts!.path);
    assert.ok(contexts.length > 0);
    assert.ok(
      contexts.every((c) => !testPremises.has(c.text)),
      'no test premise among the contexts',
    );
  } finally {
    await fake.close();
  }
});
