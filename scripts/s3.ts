/**
 * s3-synth command line (`npm run s3 -- <command> --help` for each command's options and examples).
 *
 *   s3 start [config.json]          one synthesis run here: dev server, worker, workflow, progress, table, report
 *   s3 experiment <config.json>     every arm of an experiment on every seed, then the results table and report
 *   s3 check [config.json]          validates a run or experiment configuration without starting anything
 *   s3 progress <runId>             a running or finished workflow's progress
 *   s3 export <runId|runDir> --out DIR   the run's dataset as a Hugging Face datasets folder with a card
 *   s3 predict <studentDir> <file>  predictions of an exported finetune student (ONNX)
 *   s3 teacher-server start|stop|status   llama.cpp's llama-server, one model shared by many workers
 *   s3 contract [--check]           writes the trainAndEvaluate JSON Schemas for the Python training worker
 *   s3 pull <runId|experimentId> [dir]   a finished run's artifacts from the store into a local folder
 *   s3 store start|stop|status|env  a single-node S3-compatible object store (versitygw) on loopback
 *
 * `start`, `experiment`, `check` and `progress` take `--json` (stdout carries only the JSON);
 * `start` and `experiment` send the in-process worker's SDK log to `<run folder>/worker.log`
 * unless `--verbose`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { TASK_QUEUE } from '../workers/options.js';
import { connectClient, connectionDefaults, type GlobalOptions } from './temporalClient.js';
import type { S3Result } from '../workflows/types.js';
import { checkCommand, isExperimentConfig } from './check.js';
import { contractCommand } from './contract.js';
import { collect, jsonOut } from './cli.js';
import { experimentCommand } from './experiment.js';
import { exportCommand } from './export.js';
import { predictCommand } from './predict.js';
import { pullCommand } from './pull.js';
import { describeFailure, describeProgress, failureInfo, printRounds, watchProgress } from './progress.js';
import type { LocalOptions } from './runLocally.js';
import { queuesNeeded } from '../workers/pollers.js';
import { steerCommands } from './steer.js';
import { storeCommand } from './store.js';
import { teacherServerCommand } from './teacher-server.js';
import { agreementSentence } from '../domain/labelAgreement.js';

const DEFAULT_CONFIG = 'configs/spamassassin.json';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** What `s3 export` takes for this run: its s3:// folder (with the endpoint) when its artifacts
 * are in an object store, else its local folder. */
function exportTarget(config: {
  runRoot: string;
  runId: string;
  artifacts?: { uri?: string; endpoint?: string };
}): string {
  const uri = config.artifacts?.uri;
  if (uri?.startsWith('s3://'))
    return `${uri.replace(/\/*$/, '/')}${config.runId}/${config.artifacts?.endpoint ? ` --endpoint ${config.artifacts.endpoint}` : ''}`;
  return path.join(uri ?? config.runRoot, config.runId);
}

const program = new Command('s3')
  .description(
    'S3 (Let’s Synthesize Step by Step): a teacher LLM writes training data for a small student, on Temporal',
  )
  .version(VERSION, '-V, --version', 'print the version')
  .option(
    '--address <host:port>',
    'Temporal frontend (default: TEMPORAL_ADDRESS or the temporal.toml profile; TLS and API key from them too)',
    connectionDefaults().address,
  )
  .option('--namespace <ns>', 'Temporal namespace', connectionDefaults().namespace)
  .option('--task-queue <name>', 'task queue', TASK_QUEUE)
  .addHelpText(
    'after',
    `
Examples:
  $ npm start                                             # the default job (= s3 start configs/spamassassin.json)
  $ npm run s3 -- check configs/experiments/spamassassin.json
  $ npm run s3 -- experiment configs/experiments/spamassassin.json
  $ npm run s3 -- export s3-run --out exported/spam
  $ npm run s3 -- <command> --help                        # a command's options and examples`,
  );

program
  .command('start')
  .description('run one synthesis job here: dev server, worker, workflow, progress, per-round table, report')
  .argument('[config]', 'run configuration (JSON)', DEFAULT_CONFIG)
  .option('--set <key=value>', 'override a config field (repeatable)', collect, [])
  .option('--run-id <id>', 'run id (= workflow id and run folder name)')
  .option('--ui-port <port>', 'Web UI port of a dev server started here', '8233')
  .option('--db <file>', 'dev server database file', '.s3-cache/temporal.db')
  .option('--no-worker', 'do not run a worker in this process (use `npm run worker` elsewhere)')
  .option('--verbose', 'show the worker’s SDK log here (it always goes to <runRoot>/<runId>/worker.log)')
  .option('--json', 'print the result as JSON on stdout (status lines go to stderr)')
  .addHelpText(
    'after',
    `
Examples:
  $ npm run s3 -- start                                            # configs/spamassassin.json
  $ npm run s3 -- start configs/sst2.json --set synthesis.seedSize=400 --run-id sst2-400
  $ npm run s3 -- start my-task.json --set teacher.provider=openai --set teacher.baseURL=http://127.0.0.1:8000/v1 --set teacher.model=qwen2.5-7b-instruct
  $ npm run s3 -- start --json > result.json

Starting the same run id again attaches to the running workflow, or re-runs a finished or failed one
reusing every teacher call in the cache.`,
  )
  .action(async (file: string, o: LocalOptions & { set: string[]; runId?: string; json?: boolean }) => {
    const print = o.json ? jsonOut() : undefined;
    const g = program.opts<GlobalOptions>();
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (isExperimentConfig(raw))
      throw new Error(`${file} is an experiment configuration: run it with \`npm run s3 -- experiment ${file}\``);
    const config = loadConfig(file, o.set, o.runId);
    const logFile = path.join(config.runRoot, config.runId, 'worker.log');
    const { runLocally } = await import('./runLocally.js'); // the worker and its activities: loaded only here
    const outcome = await runLocally<S3Result>(g, o, {
      workflow: 's3Synthesis',
      workflowId: config.runId,
      args: [config],
      logFile,
      finetuneQueue: config.student.kind === 'finetune' ? config.student.finetune.taskQueue : undefined,
      needs: queuesNeeded(config, g.taskQueue),
      // upsert the search attributes when this CLI registered them on the server
      beforeStart: (server) => void (config.searchAttributes ||= server.searchAttributes === true),
      onStarted: ({ workflowId, ui }) => console.log(`workflow id: ${workflowId}\nWeb UI:      ${ui}`),
      watch: (handle) => watchProgress(handle, config),
    });
    const log = o.worker ? logFile : undefined;
    if (!outcome.ok) {
      if (print) print({ runId: config.runId, status: 'failed', ...failureInfo(outcome.error), workerLog: log });
      else console.error(describeFailure(outcome.error, config, log));
      process.exitCode = 1;
      return;
    }
    const result = outcome.result;
    if (print) {
      print({
        runId: config.runId,
        status: 'completed',
        seconds: outcome.seconds,
        ui: outcome.ui,
        workerLog: log,
        result,
      });
      return;
    }
    printRounds(result.rounds, config.budget.teacherTokens, result.labelAgreement);
    const last = result.rounds[result.rounds.length - 1];
    console.log(
      last.test.exactMatch !== undefined
        ? `final student: gold test EM ${(100 * last.test.exactMatch).toFixed(1)}% (F1 ${(100 * (last.test.f1 ?? 0)).toFixed(1)}%) ` +
            `trained on ${last.trainSize} synthetic questions`
        : `final student: gold test accuracy ${(100 * last.test.accuracy).toFixed(1)}% (macro-F1 ${(100 * last.test.macroF1).toFixed(1)}%) ` +
            `trained on ${last.trainSize} synthetic examples`,
    );
    if (result.labelAgreement) console.log(agreementSentence(result.labelAgreement));
    if (result.stopReason) console.log(`EES stopped early: ${result.stopReason}`);
    for (const w of result.warnings ?? []) console.log(`warning: ${w}`);
    console.log(`dataset: ${result.dataset.path}\nreport:  ${result.reportMd}\n         ${result.reportJson}`);
    console.log(`export:  npm run s3 -- export ${exportTarget(config)} --out <dir>`);
    console.log(`wall time (this command): ${outcome.seconds.toFixed(1)} s; Web UI: ${outcome.ui}`);
  });

program
  .command('progress')
  .description('print a running or finished run’s (or experiment’s) progress')
  .argument('<runId>', 'run id or experiment id (the workflow id)')
  .option('--json', 'print {status, progress} (running) or {status, result | failure} (closed) as JSON')
  .addHelpText(
    'after',
    `
Examples:
  $ npm run s3 -- progress s3-run
  $ npm run s3 -- progress spamassassin/s3/seed-1 --json`,
  )
  .action(async (runId: string, o: { json?: boolean }) => {
    const g = program.opts<GlobalOptions>();
    const client = await connectClient(g);
    try {
      const handle = client.workflow.getHandle(runId);
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') {
        const progress = await handle.query('progress');
        console.log(
          o.json ? JSON.stringify({ status: status.name, progress }, null, 2) : describeProgress(runId, progress),
        );
        return;
      }
      // a closed workflow answers queries only with a worker to replay it: show its result instead
      const outcome = await handle.result().then(
        (result: unknown) => ({ result }),
        (err: unknown) => ({ failure: failureInfo(err) }),
      );
      if (o.json) console.log(JSON.stringify({ status: status.name, ...outcome }, null, 2));
      else if ('failure' in outcome) console.log(`${runId}: ${status.name.toLowerCase()}: ${outcome.failure.message}`);
      else console.log(describeProgress(runId, { phase: status.name.toLowerCase(), ...(outcome.result as object) }));
    } finally {
      await client.connection.close();
    }
  });

checkCommand(program, DEFAULT_CONFIG);
experimentCommand(program);
steerCommands(program);
program.addCommand(exportCommand('export'));
program.addCommand(predictCommand('predict'));
program.addCommand(teacherServerCommand('teacher-server'));
program.addCommand(contractCommand('contract'));
program.addCommand(pullCommand('pull'));
program.addCommand(storeCommand('store'));

program.parseAsync().catch((err) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
