/** The fake teacher test double itself (tests/helpers/fake-teacher.ts), in-process and as a CLI. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanOutput, judgeOutput, parseRationales } from '../../domain/cleaning.js';
import { callSeed, OpenAITeacher } from '../../teacher/index.js';
import { fakeReply, labelOf } from '../helpers/fake-teacher.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const params = { temperature: 0.9, topP: 0.95, maxTokens: 64 };

test('replies to the S3 Table 1 prompts parse and clean into label-bearing examples', () => {
  const ration =
    'Imagine you are reading a e-mail; consider 5 reasons that may lead to a spam e-mail. List them one per line.';
  const rs = parseRationales(fakeReply(ration, 1), 5);
  assert.equal(rs.length, 5);
  assert.ok(rs.every((r) => r.includes('spam')));

  const query = `Now imagine that you just read a e-mail that has ${rs[0]}. Now you should write a ham e-mail.`;
  const texts = [1, 2, 3].map((seed) => cleanOutput(fakeReply(query, seed)));
  assert.ok(texts.every((t) => / ham /.test(t) && judgeOutput(t, { seen: new Set() }).ok));
  assert.equal(new Set(texts).size, 3, 'seeds vary the text');

  assert.equal(labelOf('Write a positive review similar to: \n I hated it, so negative.'), 'positive');
  assert.equal(
    labelOf(
      'The result was correct. \nBased on the above description, the following sentence is definitely incorrect:',
    ),
    'incorrect',
  );
  assert.equal(labelOf('Write something.', ['a-label']), 'generic');
});

test('CLI mode: prints the baseURL, serves, logs each request as a JSON line, stops on SIGTERM', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 's3-fake-cli-'));
  const log = path.join(dir, 'requests.jsonl');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/helpers/fake-teacher.ts', '--port', '0', '--log', log],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`fake teacher exited early (${code})`)));
    });
    const { baseURL } = JSON.parse(first) as { baseURL: string };
    assert.match(baseURL, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);

    const teacher = new OpenAITeacher({ baseURL, model: 'm', apiKeyEnv: 'S3_TEST_NO_SUCH_KEY', timeoutMs: 5000 });
    const call = { prompt: 'Write a spam e-mail.', sampleIndex: 4 };
    const r = await teacher.complete(call, params);
    assert.match(r.text, /spam/);
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 1);
    assert.deepEqual(JSON.parse(lines[0]), {
      prompt: call.prompt,
      seed: callSeed(call),
      model: 'm',
      temperature: 0.9,
      top_p: 0.95,
      max_tokens: 64,
    });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await rm(dir, { recursive: true, force: true });
  }
});
