/**
 * Live progress of a run for the CLI: the workflow's `progress` query plus the heartbeat
 * details of its running activity, shown as one progress bar per phase (plain lines when
 * stdout is not a terminal).
 */
import cliProgress from 'cli-progress';
import Table from 'cli-table3';
import {
  ActivityFailure,
  ApplicationFailure,
  defaultPayloadConverter,
  TemporalFailure,
  WorkflowFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import type { S3Config } from '../config/schema.js';
import {
  isQaRounds,
  pct,
  roundColumns,
  roundTableHead,
  roundTableRows,
  type RoundAgreement,
} from '../domain/roundTable.js';
import type { RoundResult, S3Progress, S3Result } from '../workflows/types.js';

interface Beat {
  phase?: string;
  round?: number;
  /** teacher activities: re-ask attempt of rejected outputs */
  attempt?: number;
  done?: number;
  total?: number;
  /** the finetune student (workers/finetune heartbeat): optimizer steps, epochs, last loss */
  step?: number;
  steps?: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  resumedFromStep?: number;
  /** Temporal's attempt of the training activity (1 = first) */
  activityAttempt?: number;
}

/**
 * What the CLI shows for one heartbeat: a teacher activity's calls done/total and its re-ask
 * attempt, or the finetune student's optimizer steps done/total with epoch, loss, a resumed
 * checkpoint and Temporal's retry of the training activity, then its scoring and export stages.
 * @returns done/total (0/0 when the beat has no count) and a short note ('' when none)
 */
export function beatView(beat: Beat): { done: number; total: number; note: string } {
  if (typeof beat.steps === 'number' && beat.steps > 0) {
    const note = [
      beat.epoch && beat.epochs ? `epoch ${beat.epoch}/${beat.epochs}` : '',
      typeof beat.loss === 'number' ? `loss ${beat.loss.toFixed(3)}` : '',
      beat.resumedFromStep ? `(resumed at step ${beat.resumedFromStep})` : '',
      beat.activityAttempt && beat.activityAttempt > 1 ? `(attempt ${beat.activityAttempt})` : '',
    ];
    return { done: beat.step ?? 0, total: beat.steps, note: note.filter(Boolean).join(' ') };
  }
  const stage = { predict: 'scoring', export: 'exporting ONNX' }[beat.phase ?? ''] ?? '';
  const retry = beat.attempt ? `(re-asking rejected outputs, attempt ${beat.attempt + 1})` : '';
  return { done: beat.done ?? 0, total: beat.total ?? 0, note: [stage, retry].filter(Boolean).join(' ') };
}

/** The running activity's type and heartbeat details (phase, done/total calls …), or null. */
export async function currentBeat(handle: WorkflowHandle): Promise<{ activity: string; beat: Beat } | null> {
  const d = await handle.describe();
  const pending = d.raw.pendingActivities?.[0];
  if (!pending) return null;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  const beat = payload ? (defaultPayloadConverter.fromPayload(payload) as Beat) : {};
  return { activity: pending.activityType?.name ?? '?', beat };
}

/** Progress bars on a terminal (one per key), or null when stdout is not a terminal. */
export function progressBars(): cliProgress.MultiBar | null {
  return process.stdout.isTTY
    ? new cliProgress.MultiBar(
        { format: ' {label} |{bar}| {value}/{total} {note}', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : null;
}

/**
 * Calls `tick` every `everyMs` until `result` settles (a tick that throws is skipped: the
 * workflow may not be picked up yet).
 * @returns the result (or its rejection)
 */
export async function pollUntilDone<T>(result: Promise<T>, everyMs: number, tick: () => Promise<void>): Promise<T> {
  let finished = false;
  result.then(
    () => (finished = true),
    () => (finished = true),
  );
  while (!finished) {
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, everyMs))]);
    if (finished) break;
    await tick().catch(() => undefined);
  }
  return result;
}

/**
 * Polls the workflow every second until it completes.
 * @returns the workflow result
 * @throws the workflow's failure (e.g. InvalidConfig / InvalidInput with its message)
 */
export async function watchProgress(
  handle: WorkflowHandle,
  config: S3Config,
  say: (line: string) => void = (line) => console.log(line),
): Promise<S3Result> {
  const bars = progressBars();
  const shown = new Map<string, cliProgress.SingleBar>();
  let lastLine = '';
  try {
    return await pollUntilDone(handle.result() as Promise<S3Result>, 1000, async () => {
      const progress = await handle.query<S3Progress>('progress');
      const cur = await currentBeat(handle);
      const label =
        progress.phase === 'train' || progress.phase === 'extrapolate'
          ? `${progress.phase} r${progress.round}`
          : progress.phase;
      const { done, total, note } = beatView(cur?.beat ?? {});
      if (bars) {
        if (!total) return;
        const key = `${label}#${cur?.beat.attempt ?? 0}#${cur?.beat.activityAttempt ?? 0}`;
        let bar = shown.get(key);
        if (!bar) shown.set(key, (bar = bars.create(total, 0, { label: label.padEnd(14), note })));
        bar.setTotal(total);
        bar.update(done, { note });
      } else {
        const line = `[${config.runId}] ${label}${total ? ` ${done}/${total}` : ''} ${note}`.trim();
        if (line !== lastLine && (total === 0 || done === total || done % 10 === 0)) say(line);
        lastLine = line;
      }
    });
  } finally {
    for (const b of shown.values()) b.update(b.getTotal());
    bars?.stop();
  }
}

/** Prints the per-round table (round, sizes, validation/test accuracy and macro-F1, teacher
 * usage, time, the finetune student's s per epoch per 1,000 inputs and the round's wall time
 * when known; tokens spent and remaining with a teacher-token budget; with the label
 * agreement, how often the gold-trained reference agrees with each round's additions). */
export function printRounds(rounds: RoundResult[], teacherTokens?: number, agreement?: RoundAgreement): void {
  const columns = roundColumns(rounds);
  const t = new Table({
    style: process.stdout.isTTY ? undefined : { head: [], border: [] },
    head: roundTableHead(teacherTokens, agreement, isQaRounds(rounds), columns),
  });
  t.push(...roundTableRows(rounds, teacherTokens, agreement, columns));
  console.log(t.toString());
}

/** What failed: the failing activity (if any), the error type and the root cause's message. */
export interface FailureInfo {
  activity?: string;
  type?: string;
  message: string;
}

/**
 * Digs the root cause out of what `handle.result()` threw, whichever worker ran the activity.
 * @param err a WorkflowFailedError (or anything else: its message)
 */
export function failureInfo(err: unknown): FailureInfo {
  if (!(err instanceof WorkflowFailedError)) return { message: (err as Error)?.message ?? String(err) };
  let activity: string | undefined;
  let type: string | undefined;
  let message = err.message;
  for (let e: unknown = err.cause, depth = 0; e && depth < 10; depth++) {
    if (e instanceof ActivityFailure) activity = e.activityType;
    if (e instanceof ApplicationFailure) {
      type = e.type ?? undefined;
      message = e.message;
    } else if (e instanceof TemporalFailure && !(e instanceof ActivityFailure)) message = e.message;
    e = (e as Error).cause;
  }
  return { activity, type, message };
}

/**
 * What a user needs when a run fails: the failing activity, the error type and message (the
 * root cause, whichever worker ran the activity), the next step, and where the full log is.
 * @param err what `handle.result()` threw (WorkflowFailedError, or anything else)
 * @param logFile the worker's log file, named on the last line when given
 */
export function describeFailure(err: unknown, config: Pick<S3Config, 'runId' | 'cacheDir'>, logFile?: string): string {
  const logLine = logFile ? [`full log: ${logFile}`] : [];
  if (!(err instanceof WorkflowFailedError))
    return [`error: ${(err as Error)?.message ?? String(err)}`, ...logLine].join('\n');
  const { activity, type, message } = failureInfo(err);
  const where = activity ? ` in activity ${activity}` : '';
  const input = type === 'InvalidInput' || type === 'InvalidConfig';
  return [
    `run "${config.runId}" failed${where}: ${type ?? 'error'}: ${message}`,
    input
      ? `next: fix the input above, then run the same command again with the same run id ("${config.runId}").`
      : `next: fix the cause above (e.g. start the teacher), then run the same command again with the same run id ("${config.runId}").`,
    `Finished teacher calls are in the cache (${config.cacheDir}/teacher) and will not be paid for again.`,
    ...logLine,
  ].join('\n');
}

/**
 * The final student's gold-test figure of a finished experiment child, for a status line:
 * " test acc 81.2%", or for extractive QA " test EM 1.7%, F1 6.0%"; '' before it finished.
 */
export function testFigure(c: { testAccuracy?: number; testF1?: number }): string {
  if (c.testAccuracy === undefined) return '';
  return c.testF1 !== undefined
    ? ` test EM ${pct(c.testAccuracy)}, F1 ${pct(c.testF1)}`
    : ` test acc ${pct(c.testAccuracy)}`;
}

/**
 * A short human-readable view of a workflow's `progress` query: a run's phase, round, rounds so
 * far and budget; an experiment's children by status; an arm's phase and spend.
 */
export function describeProgress(id: string, progress: unknown): string {
  const p = progress as Partial<S3Progress & ExperimentProgressView & { spent: number; examples: number }>;
  if (Array.isArray(p.children)) {
    const lines = [`experiment ${id}: ${p.phase}`];
    for (const c of p.children) {
      const acc = testFigure(c);
      lines.push(`  ${c.workflowId}: ${c.status}${acc}${c.error ? `: ${c.error}` : ''}`);
    }
    return lines.join('\n');
  }
  const lines = [`${id}: phase ${p.phase ?? '?'}${p.round ? `, round ${p.round}` : ''}`];
  if (typeof p.spent === 'number') lines.push(`  spent ${p.spent}; ${p.examples ?? 0} synthetic examples`);
  if (p.budget) lines.push(`  teacher tokens: ${p.budget.spent} of ${p.budget.teacherTokens} spent`);
  for (const r of p.rounds ?? []) {
    // extractive QA rounds carry F1: accuracy is EM there
    const [acc, f1] = r.test.f1 !== undefined ? ['EM', `, F1 ${pct(r.test.f1)}`] : ['acc', ''];
    lines.push(
      `  round ${r.round}: train ${r.trainSize}, val ${acc} ${pct(r.validation.accuracy)}, test ${acc} ${pct(r.test.accuracy)}${f1}`,
    );
  }
  if (p.usage) lines.push(`  teacher: ${p.usage.calls} calls (${p.usage.cachedCalls} cached)`);
  if (p.stopReason) lines.push(`  stopped early: ${p.stopReason}`);
  for (const w of p.warnings ?? []) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** The parts of an experiment's progress query this module reads. */
interface ExperimentProgressView {
  children: { workflowId: string; status: string; testAccuracy?: number; testF1?: number; error?: string }[];
}
