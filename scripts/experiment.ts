/**
 * `s3 experiment <config.json>`: starts (or attaches to) an s3Experiment workflow, with a local
 * dev server and a worker in this process unless told otherwise (and, for student.kind
 * "finetune", the Python training worker when none polls its queue), shows one progress bar per
 * child (budget spent, phase), then prints the results table and the report paths.
 */
import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { loadExperiment } from '../config/load.js';
import { experimentTableHead, experimentTableRows } from '../report/experimentReport.js';
import type { ExperimentProgress, ExperimentResult } from '../workflows/s3Experiment.js';
import type { ArmProgress } from '../workflows/synthesisArm.js';
import { currentBeat, failureInfo, pollUntilDone, progressBars, testFigure } from './progress.js';
import { collect, jsonOut } from './cli.js';
import type { LocalOptions } from './runLocally.js';
import { queuesNeeded } from '../workers/pollers.js';
import type { GlobalOptions } from './temporalClient.js';

/** Registers `experiment` on the CLI program. */
export function experimentCommand(program: Command): void {
  program
    .command('experiment')
    .description('run every arm of an experiment on every seed and write the report')
    .argument('<config>', 'experiment configuration (JSON), e.g. configs/experiments/spamassassin.json')
    .option('--set <key=value>', 'override a config field (repeatable)', collect, [])
    .option('--ui-port <port>', 'Web UI port of a dev server started here', '8233')
    .option('--db <file>', 'dev server database file', '.s3-cache/temporal.db')
    .option('--no-worker', 'do not run a worker in this process (use `npm run worker` elsewhere)')
    .option('--verbose', 'show the worker’s SDK log here (it always goes to <runRoot>/<experimentId>/worker.log)')
    .option('--json', 'print the result as JSON on stdout (status lines go to stderr)')
    .addHelpText(
      'after',
      `
Examples:
  $ npm run s3 -- check configs/experiments/spamassassin.json        # validate first; starts nothing
  $ npm run s3 -- experiment configs/experiments/spamassassin.json   # 7 arms × 3 seeds
  $ npm run s3 -- experiment configs/experiments/sst2.json --set budget.examples=50 --set 'seeds=[1]'

Starting the same experiment again reuses every child that finished and every teacher call in the cache.`,
    )
    .action(async (file: string, o: LocalOptions & { set: string[]; json?: boolean }) => {
      const print = o.json ? jsonOut() : undefined;
      const g = program.opts<GlobalOptions>();
      const cfg = loadExperiment(file, o.set);
      const logFile = path.join(cfg.runRoot, cfg.experimentId, 'worker.log');
      const unit = cfg.budget.tokens !== undefined ? 'tokens' : 'examples';
      const { runLocally } = await import('./runLocally.js'); // the worker and its activities: loaded only here
      const outcome = await runLocally<ExperimentResult>(g, o, {
        workflow: 's3Experiment',
        workflowId: cfg.experimentId,
        args: [cfg],
        logFile,
        finetuneQueue: cfg.student.kind === 'finetune' ? cfg.student.finetune.taskQueue : undefined,
        needs: queuesNeeded(cfg, g.taskQueue),
        onStarted: ({ ui }) =>
          console.log(
            `experiment ${cfg.experimentId}: ${cfg.arms.length} arms × ${cfg.seeds.length} seeds, budget ` +
              `${cfg.budget.tokens ?? cfg.budget.examples} ${unit}\nWeb UI: ${ui}`,
          ),
        watch: (handle, client) => watchExperiment(client, handle, cfg.budget.tokens ?? cfg.budget.examples ?? 0),
      });
      const log = o.worker ? logFile : undefined;
      if (!outcome.ok) {
        const f = failureInfo(outcome.error);
        if (print) print({ experimentId: cfg.experimentId, status: 'failed', ...f, workerLog: log });
        else {
          console.error(
            `experiment ${cfg.experimentId} failed${f.activity ? ` in activity ${f.activity}` : ''}: ${f.message}`,
          );
          console.error(
            `next: fix the cause, then run the same command again: finished children and teacher calls are reused.`,
          );
          if (log) console.error(`full log: ${log}`);
        }
        process.exitCode = 1;
        return;
      }
      const result = outcome.result;
      if (print) {
        print({
          experimentId: cfg.experimentId,
          status: 'completed',
          seconds: outcome.seconds,
          workerLog: log,
          result,
        });
        return;
      }
      const table = new Table({ head: experimentTableHead(result.summary) });
      table.push(...experimentTableRows(result.summary));
      console.log(table.toString());
      for (const r of result.summary.results.filter((x) => x.status === 'failed'))
        console.log(`failed: ${r.workflowId}: ${r.error}`);
      console.log(`report: ${result.reportHtml}\n        ${result.reportMd}\n        ${result.resultsJsonl}`);
      if (log) console.log(`worker log: ${log}`);
      console.log(`wall time (this command): ${outcome.seconds.toFixed(1)} s`);
    });
}

/**
 * Polls the experiment and its running children every 2 s: a bar per child (budget units
 * spent; the child's phase and round), plain lines when stdout is not a terminal.
 * @returns the experiment's result
 * @throws the workflow's failure
 */
async function watchExperiment(client: Client, handle: WorkflowHandle, budget: number): Promise<ExperimentResult> {
  const bars = progressBars();
  const shown = new Map<string, cliProgress.SingleBar>();
  const lastLine = new Map<string, string>();
  try {
    return await pollUntilDone(handle.result() as Promise<ExperimentResult>, 2000, async () => {
      const progress = await handle.query<ExperimentProgress>('progress');
      for (const c of progress.children) {
        if (c.status === 'pending') continue;
        let arm: ArmProgress | null = null;
        let calls = '';
        if (c.status === 'running') {
          const child = client.workflow.getHandle(c.workflowId);
          arm = await child.query<ArmProgress>('progress').catch(() => null);
          // the running activity's heartbeat: teacher calls done / asked
          const beat = (await currentBeat(child).catch(() => null))?.beat;
          if (beat?.total) calls = ` (${beat.done ?? 0}/${beat.total} calls)`;
        }
        const spent = c.status === 'running' ? Math.min(arm?.spent ?? 0, budget) : budget;
        const note =
          c.status === 'running'
            ? `${arm?.phase ?? 'starting'}${arm?.round ? ` r${arm.round}` : ''}${calls}`
            : `${c.status}${testFigure(c)}${c.error ? `: ${c.error}` : ''}`;
        if (bars) {
          let bar = shown.get(c.workflowId);
          if (!bar) shown.set(c.workflowId, (bar = bars.create(budget, 0, { label: c.workflowId.padEnd(34), note })));
          bar.update(spent, { note });
        } else {
          const line = `[${c.workflowId}] ${note} ${spent}/${budget}`;
          // one line per change of phase or status, and every 10 calls within one
          const key = line.replace(
            /\((\d+)\/(\d+) calls\)/,
            (_m, d: string, t: string) => `${Math.floor(Number(d) / 10)}/${t}`,
          );
          if (lastLine.get(c.workflowId) !== key) console.log(line);
          lastLine.set(c.workflowId, key);
        }
      }
    });
  } finally {
    bars?.stop();
  }
}
