/**
 * Steering commands of a running run, arm or experiment (issue 20; workflows/steering.ts):
 *
 *   s3 pause <id> [--reason …]          s3 resume <id>
 *   s3 budget <id> --tokens N | --examples N
 *   s3 acquisition <id> <rule>          s3 finish <id> [--reason …]
 *   s3 add-gold <id> <file.jsonl|csv> | --rows '<json array>' [--note …]
 *   s3 cancel <id> [--no-wait]
 *   s3 review <id> --mode each-round|none [--timeout-min M]
 *   s3 review <id> --print                 (the round waiting for review, one line per example)
 *   s3 review <id> [--reject id,…] [--relabel id=label,…] [--by name]   (the rest is approved)
 *   s3 review <id> --approve-all           (the whole round as it is)
 *   s3 review <id> [--port N]              (the review page on 127.0.0.1: scripts/review/server.ts)
 *
 * Each is one Temporal Update (cancel: a cancellation request) on the workflow `<id>` and prints
 * the run's new state, or the validator's reason when the Update is rejected (exit code 1). The
 * same operations are `temporal workflow update execute --name <update> …` (docs/steering.md).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { SteeringState } from '../domain/steering.js';
import { connectClient, type GlobalOptions } from './temporalClient.js';
import { innermostMessage } from '../domain/errors.js';
import { startReviewServer, temporalBackend } from './review/server.js';

/** Registers the steering commands on the CLI program. */
export function steerCommands(program: Command): void {
  const withHandle = async (id: string, fn: (handle: WorkflowHandle) => Promise<void>) => {
    const g = program.opts<GlobalOptions>();
    const client = await connectClient(g);
    try {
      await fn(client.workflow.getHandle(id));
    } finally {
      await client.connection.close();
    }
  };
  const update = (id: string, name: string, args: unknown[], json?: boolean) =>
    withHandle(id, async (handle) => {
      try {
        const state = args.length
          ? await handle.executeUpdate(name, { args: args as [unknown] })
          : await handle.executeUpdate(name);
        console.log(json ? JSON.stringify(state, null, 2) : describeSteering(id, state));
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        console.error(`${id}: rejected: ${innermostMessage(err)}`);
        process.exitCode = 1;
      }
    });
  const json = ['--json', 'print the new state as JSON'] as const;
  /** `s3 review <id>` without decisions: the review page, until Ctrl-C */
  const serveReviewPage = async (id: string, by: string, port?: number) => {
    const g = program.opts<GlobalOptions>();
    const client = await connectClient(g);
    const server = await startReviewServer({
      backend: temporalBackend(client.workflow.getHandle(id)),
      workflowId: id,
      by,
      port,
    });
    console.log(`review page of ${id}: ${server.url}  (loopback only; Ctrl-C stops it)`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    await server.close();
    await client.connection.close();
  };

  program
    .command('pause')
    .description('pause a running run (or experiment) before its next step; `s3 resume` goes on')
    .argument('<id>', 'run id, arm workflow id or experiment id')
    .option('--reason <text>', 'why (recorded)')
    .option(...json)
    .action((id: string, o: { reason?: string; json?: boolean }) =>
      update(id, 'pause', [{ reason: o.reason }], o.json),
    );
  program
    .command('resume')
    .description('resume a paused run (or experiment)')
    .argument('<id>', 'run id, arm workflow id or experiment id')
    .option(...json)
    .action((id: string, o: { json?: boolean }) => update(id, 'resume', [], o.json));
  program
    .command('budget')
    .description('set the budget of a running run or arm (never below what is spent)')
    .argument('<id>', 'run id or arm workflow id')
    .option('--tokens <n>', 'teacher tokens in all (a single run: its cap)', Number)
    .option('--examples <n>', 'synthetic examples in all (an arm under an examples budget)', Number)
    .option(...json)
    .action((id: string, o: { tokens?: number; examples?: number; json?: boolean }) =>
      update(
        id,
        'setBudget',
        [o.tokens !== undefined ? { teacherTokens: o.tokens } : { examples: o.examples }],
        o.json,
      ),
    );
  program
    .command('acquisition')
    .description('set the acquisition rule of a running run or active arm from its next round on')
    .argument('<id>', 'run id or arm workflow id')
    .argument('<rule>', 'e.g. misclassified, loss, entropy, margin, random')
    .option(...json)
    .action((id: string, rule: string, o: { json?: boolean }) =>
      update(id, 'setAcquisition', [{ acquisition: rule }], o.json),
    );
  program
    .command('finish')
    .description('stop after the round being made: final student, report and dataset as usual')
    .argument('<id>', 'run id, arm workflow id or experiment id')
    .option('--reason <text>', 'why (recorded)')
    .option(...json)
    .action((id: string, o: { reason?: string; json?: boolean }) =>
      update(id, 'finishAfterRound', [{ reason: o.reason }], o.json),
    );
  program
    .command('add-gold')
    .description('add human-labeled rows to the gold validation pool from the next round on (never to test)')
    .argument('<id>', 'run id or arm workflow id')
    .argument('[file]', 'a gold file (JSONL or CSV, the run’s field names) the worker can read')
    .option('--rows <json>', 'rows inline: a JSON array of {id, text, [text_pair], label}')
    .option('--note <text>', 'why they were added (recorded)')
    .option(...json)
    .action((id: string, file: string | undefined, o: { rows?: string; note?: string; json?: boolean }) => {
      if ((file === undefined) === (o.rows === undefined)) throw new Error('give a file or --rows, not both');
      const rows = o.rows?.startsWith('@') ? readFileSync(o.rows.slice(1), 'utf8') : o.rows;
      const add = file ? { file: path.resolve(file) } : { rows: JSON.parse(rows!) as unknown };
      return update(id, 'addGold', [{ ...add, ...(o.note ? { note: o.note } : {}) }], o.json);
    });
  program
    .command('review')
    .description(
      'review each round’s synthetic data before it trains the student: turn it on, list the round, decide; without decisions: the review page on 127.0.0.1',
    )
    .argument('<id>', 'run id or arm workflow id')
    .option('--mode <mode>', 'each-round (wait for a review before each training) or none')
    .option('--timeout-min <m>', 'with --mode each-round: approve a round nobody reviewed within m minutes', Number)
    .option('--print', 'list the examples of the round waiting for review')
    .option('--reject <ids>', 'comma-separated example ids that must not train the student')
    .option('--relabel <id=label,…>', 'comma-separated id=label pairs (a human label)')
    .option('--reason <text>', 'why (recorded with each decision)')
    .option('--approve-all', 'approve the whole round waiting for review as it is')
    .option('--by <name>', 'who reviewed (recorded)', process.env.USER ?? 'reviewer')
    .option('--port <n>', 'without decisions: the review page’s port on 127.0.0.1 (default: a free one)', Number)
    .option(...json)
    .action(
      async (
        id: string,
        o: {
          mode?: string;
          timeoutMin?: number;
          print?: boolean;
          reject?: string;
          relabel?: string;
          reason?: string;
          approveAll?: boolean;
          by: string;
          port?: number;
          json?: boolean;
        },
      ) => {
        if (o.mode)
          return update(
            id,
            'setReview',
            [{ mode: o.mode, ...(o.timeoutMin !== undefined ? { timeoutMin: o.timeoutMin } : {}) }],
            o.json,
          );
        if (o.print)
          return withHandle(id, async (handle) => {
            const p = await handle.query<{ steering?: SteeringState }>('progress');
            const r = p.steering?.review;
            if (!r || r.round === null) {
              console.log(`${id}: no round is waiting for review (review ${r?.mode ?? 'none'})`);
              return;
            }
            console.log(`${id}: round ${r.round} waits for review (${r.examples} examples)`);
            for (const file of r.data)
              for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
                const e = JSON.parse(line) as { id: string; label: string; text: string; text_pair?: string };
                const text = (e.text_pair ? `${e.text} ‖ ${e.text_pair}` : e.text).replace(/\s+/g, ' ');
                console.log(`${e.id}\t${e.label}\t${text.length > 100 ? `${text.slice(0, 99)}…` : text}`);
              }
          });
        if (!o.reject && !o.relabel && !o.approveAll) return serveReviewPage(id, o.by, o.port);
        const list = (v?: string) =>
          v
            ? v
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean)
            : [];
        const why = o.reason ? { reason: o.reason } : {};
        const decisions = [
          ...list(o.reject).map((x) => ({ id: x, action: 'reject', ...why })),
          ...list(o.relabel).map((pair) => {
            const at = pair.lastIndexOf('=');
            if (at <= 0) throw new Error(`--relabel takes id=label, got ${pair}`);
            return { id: pair.slice(0, at), action: 'relabel', label: pair.slice(at + 1), ...why };
          }),
        ];
        return update(id, 'review', [{ decisions, by: o.by }], o.json);
      },
    );
  program
    .command('cancel')
    .description(
      'cancel a run or experiment: the teacher stops, and the report of what exists is written, marked cancelled',
    )
    .argument('<id>', 'run id, arm workflow id or experiment id')
    .option('--no-wait', 'return once the cancellation is requested')
    .action((id: string, o: { wait: boolean }) =>
      withHandle(id, async (handle) => {
        const { status } = await handle.describe();
        if (status.name !== 'RUNNING') throw new Error(`${id} is ${status.name.toLowerCase()}, not running`);
        const runDir = await handle
          .query<{ runDir?: string }>('progress')
          .then((p) => p.runDir)
          .catch(() => undefined);
        await handle.cancel();
        console.log(`${id}: cancellation requested`);
        if (!o.wait) return;
        const closed = await handle.result().then(
          () => 'completed',
          () => 'cancelled',
        );
        const after = (await handle.describe()).status.name.toLowerCase();
        console.log(`${id}: ${after === 'canceled' ? 'cancelled' : closed}`);
        if (runDir)
          console.log(
            `partial report: ${path.join(runDir, 'report.md')}\n                ${path.join(runDir, 'report.json')}\ndataset:        ${path.join(runDir, 'synthetic', 'final.jsonl')}`,
          );
      }),
    );
}

/** The steering state as the commands print it. */
export function describeSteering(id: string, state: unknown): string {
  const s = state as Partial<SteeringState> & { children?: { workflowId: string; status: string }[] };
  if (Array.isArray(s.children)) {
    const st = (state as { steering?: { paused: boolean; finishAfterRound: boolean } }).steering;
    const running = s.children.filter((c) => c.status === 'running').map((c) => c.workflowId);
    return [
      `experiment ${id}: ${st?.paused ? 'paused' : 'running'}${st?.finishAfterRound ? ', finishing after the round' : ''}`,
      `  sent to: ${running.join(', ') || '(no running child)'}`,
    ].join('\n');
  }
  const lines = [
    `${id}: ${s.waiting === 'resume' ? 'paused' : s.waiting === 'review' ? 'waiting for a review' : s.paused ? 'pausing before the next step' : s.closed ? 'closed' : 'running'}`,
  ];
  if (s.budget)
    lines.push(
      `  budget: ${s.budget.spent} ${s.budget.kind} spent${s.budget.limit === null ? ' (no limit)' : ` of ${s.budget.limit}`}`,
    );
  if (s.acquisition) lines.push(`  acquisition: ${s.acquisition}`);
  if (s.validation) lines.push(`  gold validation rows: ${s.validation}`);
  if (s.review && s.review.mode !== 'none')
    lines.push(
      `  review: ${s.review.mode}${s.review.round !== null ? `; round ${s.review.round} waits (${s.review.examples} examples)` : ''}`,
    );
  for (const p of s.pending ?? []) lines.push(`  pending: ${p}`);
  const last = s.log?.[s.log.length - 1];
  if (last) lines.push(`  last change: ${last.update} (${last.detail})`);
  return lines.join('\n');
}
