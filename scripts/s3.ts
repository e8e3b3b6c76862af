/**
 * s3-synth command line.
 *
 *   s3 start [config.json] [--set synthesis.seedSize=50] [--run-id NAME]
 *       starts (or reuses) a local Temporal dev server + Web UI, runs a worker in this
 *       process, starts the s3Synthesis workflow (or attaches to the running one with the
 *       same run id), shows progress, prints the per-round table and writes the report.
 *   s3 experiment configs/experiments/NAME.json [--set budget.examples=50]
 *       runs every arm of an experiment on every seed (s3Experiment with synthesisArm children),
 *       one progress bar per child, then the results table and report.html / report.md
 *   s3 progress RUN_ID     prints the workflow's `progress` query
 *   s3 check [config.json] validates a configuration and prints it with defaults filled in
 *   s3 teacher-server start|stop|status   llama.cpp's llama-server, one model shared by many workers
 *   s3 predict runs/<runId>/student FILE.jsonl   predictions of an exported finetune student (ONNX)
 *   s3 contract [--check]  writes the trainAndEvaluate JSON Schemas for the Python training worker
 */
import { Command } from 'commander';
import { Client, Connection, WorkflowIdConflictPolicy } from '@temporalio/client';
import { loadConfig } from '../config/load.js';
import { s3Synthesis } from '../workflows/s3Synthesis.js';
import { TASK_QUEUE, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } from '../workers/options.js';
import type { S3Result } from '../workflows/types.js';
import { startLocal } from './local.js';
import { describeFailure, printRounds, watchProgress } from './progress.js';
import { experimentCommand } from './experiment.js';
import { teacherServerCommand } from './teacher-server.js';
import { contractCommand } from './contract.js';
import { predictCommand } from './predict.js';
import { ensureFinetuneWorker } from '../workers/finetune.js';

const DEFAULT_CONFIG = 'configs/spamassassin.json';

const collect = (v: string, prev: string[]) => [...prev, v];

const program = new Command('s3')
  .description('S3 (Let’s Synthesize Step by Step) dataset synthesis on Temporal')
  .option('--address <host:port>', 'Temporal frontend', TEMPORAL_ADDRESS)
  .option('--namespace <ns>', 'Temporal namespace', TEMPORAL_NAMESPACE)
  .option('--task-queue <name>', 'task queue', TASK_QUEUE);

program
  .command('start')
  .argument('[config]', 'run configuration (JSON)', DEFAULT_CONFIG)
  .option('--set <key=value>', 'override a config field (repeatable)', collect, [])
  .option('--run-id <id>', 'run id (= workflow id and run folder name)')
  .option('--ui-port <port>', 'Web UI port of a dev server started here', '8233')
  .option('--db <file>', 'dev server database file', '.s3-cache/temporal.db')
  .option('--no-worker', 'do not run a worker in this process (use `npm run worker` elsewhere)')
  .action(async (file: string, o: { set: string[]; runId?: string; uiPort: string; db: string; worker: boolean }) => {
    const g = program.opts<{ address: string; namespace: string; taskQueue: string }>();
    const config = loadConfig(file, o.set, o.runId);
    const t0 = Date.now();
    const { server, client, stopWorker } = await startLocal(g, o);
    if (server.searchAttributes) config.searchAttributes = true;
    // student.kind "finetune": a Python training worker polls student.finetune.taskQueue (started here when none does)
    const trainer =
      config.student.kind === 'finetune'
        ? await ensureFinetuneWorker({ client, address: g.address, taskQueue: config.student.finetune.taskQueue })
        : undefined;
    const handle = await client.workflow.start(s3Synthesis, {
      taskQueue: g.taskQueue,
      workflowId: config.runId,
      args: [config],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    let ui = `${server.uiUrl}/namespaces/${g.namespace}/workflows/${handle.workflowId}`;
    const uiProblem = await checkWebUi(server.uiUrl);
    if (uiProblem) ui += ` (${uiProblem}; pass --ui-port if the server's UI is elsewhere)`;
    console.log(`workflow id: ${handle.workflowId}\nWeb UI:      ${ui}`);
    let result: S3Result;
    try {
      result = await watchProgress(handle, config);
    } catch (err) {
      console.error(describeFailure(err, config));
      process.exitCode = 1;
      return;
    } finally {
      await stopWorker();
      await trainer?.stop();
    }
    printRounds(result.rounds, config.budget.teacherTokens);
    const last = result.rounds[result.rounds.length - 1];
    console.log(
      `final student: gold test accuracy ${(100 * last.test.accuracy).toFixed(1)}% (macro-F1 ${(100 * last.test.macroF1).toFixed(1)}%) ` +
        `trained on ${last.trainSize} synthetic examples`,
    );
    if (result.stopReason) console.log(`EES stopped early: ${result.stopReason}`);
    for (const w of result.warnings ?? []) console.log(`warning: ${w}`);
    console.log(`dataset: ${result.dataset.path}\nreport:  ${result.reportMd}\n         ${result.reportJson}`);
    console.log(`wall time (this command): ${((Date.now() - t0) / 1000).toFixed(1)} s; Web UI: ${ui}`);
    await client.connection.close();
  });

/**
 * Checks that what answers at `uiUrl` is a Temporal Web UI.
 * @returns undefined when it is, else what is wrong (nothing answers, or another server does)
 */
async function checkWebUi(uiUrl: string): Promise<string | undefined> {
  try {
    // the Temporal UI server answers its settings route with JSON naming Auth and DefaultNamespace
    const r = await fetch(`${uiUrl}/api/v1/settings`, { signal: AbortSignal.timeout(2000) });
    const body = (await r.json().catch(() => null)) as Record<string, unknown> | null;
    if (r.ok && body && 'Auth' in body && 'DefaultNamespace' in body) return undefined;
    return `the server at ${uiUrl} is not a Temporal Web UI`;
  } catch {
    return `no Web UI answers at ${uiUrl}`;
  }
}

program
  .command('progress')
  .argument('<runId>', 'run id (workflow id)')
  .action(async (runId: string) => {
    const g = program.opts<{ address: string; namespace: string }>();
    const client = new Client({ connection: await Connection.connect({ address: g.address }), namespace: g.namespace });
    console.log(JSON.stringify(await client.workflow.getHandle(runId).query('progress'), null, 2));
    await client.connection.close();
  });

program
  .command('check')
  .argument('[config]', 'run configuration (JSON)', DEFAULT_CONFIG)
  .option('--set <key=value>', 'override a config field (repeatable)', collect, [])
  .action((file: string, o: { set: string[] }) => {
    console.log(JSON.stringify(loadConfig(file, o.set), null, 2));
  });

experimentCommand(program);
program.addCommand(teacherServerCommand('teacher-server'));
program.addCommand(contractCommand('contract'));
program.addCommand(predictCommand('predict'));

program.parseAsync().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
