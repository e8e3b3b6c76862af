/**
 * Unit tests of the review page's data and server (scripts/review/round.ts, server.ts) on a run
 * folder written here and a test-double backend (no Temporal): the round's examples joined to
 * the gold example they extrapolate and the student's prediction; what GET /api/round answers
 * while a round waits, while the run runs and once it finished; POST /api/review forwarding the
 * decisions, and refusing a stale round, a malformed body, another origin or Host, and a
 * non-JSON request.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ReviewInput, SteeringState } from '../../domain/steering.js';
import { loadReviewRound } from '../../scripts/review/round.js';
import { startReviewServer, type ReviewBackend, type RoundView } from '../../scripts/review/server.js';

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const provenance = (over: Record<string, unknown>) => ({
  origin: 'seed',
  round: 0,
  rationales: ['it praises the film'],
  misclassifiedId: null,
  templateId: 't',
  prompt: 'SECRET-PROMPT',
  teacherModel: 'm',
  sampling: { temperature: 0.9, topP: 0.9, maxTokens: 64 },
  sampleIndex: 0,
  rawOutput: 'RAW-OUTPUT',
  ...over,
});

/** A run folder after round 0: config, gold validation, round-0/picked.jsonl, the EES data of round 1. */
function runFolder(): { dir: string; data: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 's3-review-round-'));
  mkdirSync(path.join(dir, 'gold'));
  mkdirSync(path.join(dir, 'round-0'));
  mkdirSync(path.join(dir, 'synthetic'));
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ seed: 1, task: { labels: ['positive', 'negative'] }, teacher: { apiKeyEnv: 'OPENAI_API_KEY' } }),
  );
  writeFileSync(
    path.join(dir, 'gold', 'validation.jsonl'),
    jsonl([
      { id: 'val-3', text: 'not bad at all', label: 'positive' },
      { id: 'val-7', text: 'a pair', text_pair: 'its other half', label: 'negative' },
    ]),
  );
  writeFileSync(
    path.join(dir, 'round-0', 'picked.jsonl'),
    jsonl([
      {
        index: 0,
        loss: 1.25,
        predicted: 'negative',
        example: { id: 'val-3', text: 'not bad at all', label: 'positive' },
        acquisition: 'misclassified',
        score: 1,
      },
    ]),
  );
  const data = path.join(dir, 'synthetic', 'ees-1.jsonl');
  writeFileSync(
    data,
    jsonl([
      {
        id: 'e-1',
        text: 'hardly bad',
        label: 'positive',
        provenance: provenance({ origin: 'ees', round: 1, misclassifiedId: 'val-3' }),
      },
      {
        id: 'e-2',
        text: 'meh',
        label: 'negative',
        provenance: provenance({ origin: 'ees', round: 1, misclassifiedId: 'val-7' }),
      },
      {
        id: 's-1',
        text: 'fine film',
        label: 'positive',
        provenance: provenance({ reference: { label: 'negative', p: 0.3 } }),
      },
    ]),
  );
  return { dir, data };
}

test('loadReviewRound: each example with its provenance, the gold example it extrapolates and the student’s prediction; no prompt, raw output or config', async () => {
  const { dir, data } = runFolder();
  const r = await loadReviewRound({ round: 1, data: [data] }, dir);
  assert.equal(r.round, 1);
  assert.deepEqual(r.labels, ['positive', 'negative']);
  assert.deepEqual(r.examples, [
    {
      id: 'e-1',
      label: 'positive',
      text: 'hardly bad',
      origin: 'ees',
      round: 1,
      rationales: ['it praises the film'],
      extrapolates: {
        id: 'val-3',
        text: 'not bad at all',
        label: 'positive',
        predicted: 'negative',
        loss: 1.25,
        acquisition: { name: 'misclassified', score: 1 },
      },
    },
    {
      // a gold example no pick names: from gold/validation.jsonl, without a prediction
      id: 'e-2',
      label: 'negative',
      text: 'meh',
      origin: 'ees',
      round: 1,
      rationales: ['it praises the film'],
      extrapolates: { id: 'val-7', text: 'a pair', text_pair: 'its other half', label: 'negative' },
    },
    {
      id: 's-1',
      label: 'positive',
      text: 'fine film',
      origin: 'seed',
      round: 0,
      rationales: ['it praises the film'],
      reference: { label: 'negative', p: 0.3 },
    },
  ]);
  assert.doesNotMatch(JSON.stringify(r), /SECRET-PROMPT|RAW-OUTPUT|OPENAI_API_KEY/);
  await assert.rejects(loadReviewRound({ round: null, data: [] }, dir), /no round is waiting/);
  await assert.rejects(loadReviewRound({ round: 1, data: [data] }, tmpdir()), /config\.json is missing/);
});

/** A test-double backend: a run whose round 1 waits until a review arrives, then finishes. */
function fakeBackend(data: string, runDir: string) {
  const reviews: ReviewInput[] = [];
  let waiting = true;
  let status = 'RUNNING';
  const review = (round: number | null) => ({
    mode: 'each-round' as const,
    round,
    examples: 3,
    data: round === null ? [] : [data],
  });
  const backend: ReviewBackend = {
    status: async () => status,
    progress: async () => ({
      phase: waiting ? 'review' : 'train',
      round: 1,
      runDir,
      steering: { waiting: waiting ? 'review' : null, review: review(waiting ? 1 : null) } as SteeringState,
    }),
    review: async (input) => {
      if (input.decisions?.some((d) => d.id === 'nope'))
        throw new WorkflowUpdateFailedError(
          'update failed',
          ApplicationFailure.create({ message: 'review: nope is not an example of round 1' }),
        );
      reviews.push(input);
      waiting = false;
      return { waiting: null } as SteeringState;
    },
  };
  return { backend, reviews, finish: () => (status = 'COMPLETED') };
}

function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown>; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: b.startsWith('{') ? JSON.parse(b) : {}, headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const closers: (() => Promise<void>)[] = [];
after(() => Promise.all(closers.map((c) => c())));

test('the review server: GET /api/round while a round waits, while the run runs, once it finished; POST /api/review with its checks', async () => {
  const { dir, data } = runFolder();
  const fake = fakeBackend(data, dir);
  const server = await startReviewServer({ backend: fake.backend, workflowId: 'run-1', by: 'ana' });
  closers.push(server.close);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const api = `${server.url}api/`;
  const JSON_TYPE = { 'Content-Type': 'application/json' };

  const page = await request(server.url, 'GET', {});
  assert.equal(page.status, 200);
  assert.match(
    String(page.headers['content-security-policy']),
    /default-src 'none'; script-src 'self' 'sha256-[\w+/=]+'/,
  );
  for (const f of ['app.js', 'style.css', 'vendor/preact.mjs', 'vendor/preact-hooks.mjs', 'vendor/htm.mjs'])
    assert.equal((await request(`${server.url}${f}`, 'GET', {})).status, 200, f);
  assert.equal((await request(`${server.url}../package.json`, 'GET', {})).status, 404);

  const waiting = (await request(`${api}round`, 'GET', {})).json as RoundView;
  assert.equal(waiting.state, 'waiting');
  assert.ok(waiting.state === 'waiting');
  assert.deepEqual([waiting.workflowId, waiting.by, waiting.round, waiting.runDir], ['run-1', 'ana', 1, dir]);
  assert.deepEqual(
    waiting.examples.map((e) => e.id),
    ['e-1', 'e-2', 's-1'],
  );

  // refused: another Host (DNS rebinding), another Origin, not JSON, malformed, a stale round, the validator's reason
  const port = new URL(server.url).port;
  assert.equal((await request(`${api}round`, 'GET', { Host: `attacker.test:${port}` })).status, 403);
  const body = { round: 1, decisions: [{ id: 'e-2', action: 'reject' }] };
  assert.equal(
    (await request(`${api}review`, 'POST', { ...JSON_TYPE, Origin: 'http://attacker.test' }, body)).status,
    403,
  );
  assert.equal((await request(`${api}review`, 'POST', { 'Content-Type': 'text/plain' }, body)).status, 415);
  assert.equal((await request(`${api}review`, 'POST', JSON_TYPE, '{not json')).status, 400);
  const bad = await request(`${api}review`, 'POST', JSON_TYPE, { round: 1, decisions: 'all' });
  assert.deepEqual([bad.status, bad.json.error], [400, 'decisions must be an array']);
  const stale = await request(`${api}review`, 'POST', JSON_TYPE, { ...body, round: 0 });
  assert.deepEqual(
    [stale.status, stale.json.error, stale.json.stale],
    [409, 'round 0 is not waiting for review (now: round 1 waits)', true],
  );
  const refused = await request(`${api}review`, 'POST', JSON_TYPE, {
    round: 1,
    decisions: [{ id: 'nope', action: 'reject' }],
  });
  assert.deepEqual([refused.status, refused.json.error], [409, 'review: nope is not an example of round 1']);
  assert.deepEqual(fake.reviews, [], 'nothing refused reached the workflow');

  // accepted: the decisions and the reviewer go to the Update as sent; the page's own origin is fine
  const ok = await request(
    `${api}review`,
    'POST',
    { ...JSON_TYPE, Origin: server.url.slice(0, -1) },
    { ...body, by: 'bo' },
  );
  assert.equal(ok.status, 200);
  assert.deepEqual(fake.reviews, [{ by: 'bo', decisions: [{ id: 'e-2', action: 'reject' }] }]);
  const running = (await request(`${api}round`, 'GET', {})).json;
  assert.deepEqual([running.state, running.phase, running.mode], ['running', 'train', 'each-round']);
  fake.finish();
  const finished = (await request(`${api}round`, 'GET', {})).json;
  assert.deepEqual([finished.state, finished.status], ['finished', 'completed']);
});
