/**
 * Behaviour check for refactors (issue 16 "same behaviour"): runs a run configuration as a
 * single s3Synthesis on a throwaway dev server with the loopback fake teacher (a test
 * double), then prints the sha256 of synthetic/final.jsonl and the per-round table as JSON.
 * Run it on two commits and compare:
 *   node --import tsx scripts/dev/final-sha.ts configs/spamassassin.json [--set teacherTokens=N]
 * The teacher section of the config is replaced by the fake teacher; runs and the cache go
 * to a fresh temporary folder.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startWorkflowHarness } from '../../tests/helpers/temporal.js';

const [file, ...rest] = process.argv.slice(2);
const tokens = rest.find((a) => a.startsWith('teacherTokens='))?.split('=')[1];
const raw = JSON.parse(readFileSync(file, 'utf8'));
const dir = mkdtempSync(path.join(os.tmpdir(), 's3-final-sha-'));
const { env, fake, close } = await startWorkflowHarness('final-sha');
try {
  const config = {
    ...raw,
    runRoot: path.join(dir, 'runs'),
    cacheDir: path.join(dir, 'cache'),
    teacher: { provider: 'openai', baseURL: fake.baseURL, model: 'fake-teacher', concurrency: 4 },
    ...(tokens ? { budget: { teacherTokens: Number(tokens) } } : {}),
  };
  const t0 = Date.now();
  const result = (await env.client.workflow.execute('s3Synthesis', {
    taskQueue: 'final-sha',
    workflowId: `final-sha-${Date.now()}`,
    args: [config],
  })) as {
    dataset: { path?: string; uri?: string; count: number };
    rounds: {
      round: number;
      origin: string;
      added: number;
      trainSize: number;
      validation: { accuracy: number };
      test: { accuracy: number };
    }[];
    stopReason: string | null;
    usage: { promptTokens: number; completionTokens: number; calls: number };
  };
  const p = result.dataset.path ?? new URL(result.dataset.uri!).pathname;
  const sha = createHash('sha256').update(readFileSync(p)).digest('hex');
  console.log(
    JSON.stringify(
      {
        finalSha256: sha,
        examples: result.dataset.count,
        stopReason: result.stopReason,
        tokens: result.usage.promptTokens + result.usage.completionTokens,
        calls: result.usage.calls,
        rounds: result.rounds.map((r) => [
          r.round,
          r.origin,
          r.added,
          r.trainSize,
          r.validation.accuracy,
          r.test.accuracy,
        ]),
        wallS: (Date.now() - t0) / 1000,
      },
      null,
      1,
    ),
  );
} finally {
  await close();
}
