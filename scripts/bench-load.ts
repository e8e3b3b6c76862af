/**
 * Load benchmark of one worker: N small s3Synthesis workflows started together on one
 * in-process worker, against the loopback fake teacher (a test double, no model) answering
 * after a set latency — by default twice the heartbeat timeout, the case that used to time
 * activities out and pay calls twice. Prints figures; asserts nothing.
 *
 *   npm run bench:load [-- --workflows 10 --heartbeat-sec 2 --latency-ms 4000 --seed-size 6 --rounds 1]
 *
 * Prints: wall time until all finished, fake-teacher completions answered per distinct call
 * (1.00 = no call paid twice), heartbeat/activity timeouts in the histories (0 expected),
 * failed workflows, retried teacher attempts, and the largest history event.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startFakeTeacher } from '../tests/helpers/fake-teacher.js';
import { createWorker } from '../workers/worker.js';
import { s3Synthesis } from '../workflows/s3Synthesis.js';
import { temporalBin } from './devserver.js';

const { EventType } = proto.temporal.api.enums.v1;
const o = new Command()
  .option('--workflows <n>', 'workflows started together', '10')
  .option('--heartbeat-sec <s>', 'timeouts.heartbeatSec of each run', '2')
  .option('--latency-ms <ms>', 'fake teacher latency per call (default 2 × heartbeatSec)')
  .option('--seed-size <n>', 'synthesis.seedSize of each run', '6')
  .option('--rounds <n>', 'EES rounds of each run', '1')
  .option('--concurrency <n>', 'teacher.concurrency (slots of the one shared backend)', '4')
  .parse()
  .opts<{
    workflows: string;
    heartbeatSec: string;
    latencyMs?: string;
    seedSize: string;
    rounds: string;
    concurrency: string;
  }>();

const n = Number(o.workflows);
const heartbeatSec = Number(o.heartbeatSec);
const latencyMs = Number(o.latencyMs ?? 2 * heartbeatSec * 1000);

// a small two-label gold task
const dir = mkdtempSync(path.join(tmpdir(), 's3-bench-load-'));
const rows = (k: number, p: string) =>
  Array.from({ length: k }, (_, i) => {
    const label = i % 2 ? 'negative' : 'positive';
    const words = ['the', 'day', 'was', i % 3 ? label : 'fine', 'and', 'long'];
    return JSON.stringify({ id: `${p}-${i}`, text: words.join(' '), label });
  }).join('\n') + '\n';
writeFileSync(path.join(dir, 'val.jsonl'), rows(20, 'v'));
writeFileSync(path.join(dir, 'test.jsonl'), rows(40, 't'));

Runtime.install({ logger: new DefaultLogger('WARN') });
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: temporalBin() } },
});
const fake = await startFakeTeacher({ delayMs: latencyMs });
const { worker, teachers } = await createWorker({
  connection: env.nativeConnection,
  namespace: env.namespace,
  taskQueue: 'bench-load',
});
const running = worker.run();

console.log(
  `bench:load — ${n} workflows on one worker, teacher latency ${latencyMs} ms, heartbeatSec ${heartbeatSec}, ` +
    `seedSize ${o.seedSize}, rounds ${o.rounds}, teacher.concurrency ${o.concurrency}`,
);
const t0 = Date.now();
const handles = await Promise.all(
  Array.from({ length: n }, (_, i) =>
    env.client.workflow.start(s3Synthesis, {
      taskQueue: 'bench-load',
      workflowId: `load-${i}`,
      args: [
        {
          runId: `load-${i}`,
          runRoot: path.join(dir, 'runs'),
          cacheDir: path.join(dir, 'cache'),
          seed: i, // different seed data per run; the rationale prompts are shared (de-duplicated)
          task: {
            item: 'review',
            labels: ['positive', 'negative'],
            source: { type: 'files', validation: path.join(dir, 'val.jsonl'), test: path.join(dir, 'test.jsonl') },
          },
          teacher: {
            provider: 'openai',
            baseURL: fake.baseURL,
            model: 'fake-teacher',
            concurrency: Number(o.concurrency),
          },
          synthesis: { seedSize: Number(o.seedSize), rounds: Number(o.rounds), numRationales: 4 },
          timeouts: { heartbeatSec, activityMin: 30 },
        },
      ],
    }),
  ),
);
const outcomes = await Promise.allSettled(handles.map((h) => h.result()));
const wallS = (Date.now() - t0) / 1000;

let timeouts = 0;
let largest = 0;
for (const h of handles) {
  for (const ev of (await h.fetchHistory()).events ?? []) {
    if (ev.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) timeouts++;
    largest = Math.max(largest, proto.temporal.api.history.v1.HistoryEvent.encode(ev).finish().length);
  }
}
const distinct = new Set(fake.requestLog.map((r) => JSON.stringify([r.prompt, r.seed, r.max_tokens, r.temperature])))
  .size;
const failed = outcomes.filter((x) => x.status === 'rejected');
const stats = teachers.backends[0]?.stats;

console.log(`finished:                      ${n - failed.length}/${n} workflows in ${wallS.toFixed(1)} s`);
console.log(
  `calls answered per distinct:   ${(fake.answered / Math.max(1, distinct)).toFixed(2)} (${fake.answered} answered, ${distinct} distinct, ${fake.aborted} abandoned)`,
);
console.log(`activity timeouts in history:  ${timeouts}`);
console.log(`largest history event:         ${(largest / 1024).toFixed(1)} KB`);
if (stats)
  console.log(
    `shared backend:                ${teachers.backends.length} backend(s); paid ${stats.paid}, cache hits ${stats.cacheHits}, joined in flight ${stats.joined}, retries ${stats.retries}`,
  );
for (const f of failed) console.log(`failed: ${(f as PromiseRejectedResult).reason}`);

worker.shutdown();
await running;
await teachers.close();
await fake.close();
await env.teardown();
