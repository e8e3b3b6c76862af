/**
 * Long runs (issue 20 item 5): a run with many rounds continues as new before its history
 * grows past a bound, carrying its state, so no history approaches Temporal's limits.
 *
 * The bound: each run of the chain stays under HISTORY_BOUND (2,000 events, 2 MiB; Temporal
 * warns at 10,240 events / 10 MiB and fails a run at 51,200 / 50 MiB). The loop checks at the
 * start of each training a method asks for (a round boundary, methods/ees.ts) and continues as
 * new once the history, with the state it would carry (the closing event holds it), has passed
 * CONTINUE_AT of the bound, or when the server suggests it
 * (`workflowInfo().continueAsNewSuggested`), but never before this run has trained once (so a
 * carried state larger than the threshold still makes progress). The headroom is for the
 * round after the check: on the fake teacher a round adds about 20 events and, late in a
 * 200-round run, about 120 KB (every training and extrapolation gets the training set's
 * references), and the carried state of a 200-round run is about 250 KB. 2 MiB also keeps a
 * whole history inside one 4 MB gRPC message, so every client can fetch it.
 *
 * How a continued run resumes exactly: methods (methods/) are plain scripts over the steps
 * whose local state (the round counter, a ProGen round's data) lives in their stack, which
 * continue-as-new cannot carry. The steps a method calls are therefore journaled (`Journal`):
 * each call's name and result, in order. The continued run runs the method again from its
 * start; the journaled calls answer from the journal (no activity, no command) until the
 * journal is used up, and from there the steps run for real, from the state carried
 * (LongRunCarry: the Ledger, the loop's carry, steering, progress). Methods call one step at a
 * time (each awaited): a method that diverges from its journal fails with a clear message.
 *
 * Deterministic workflow code; used by s3Synthesis and synthesisArm under `patched('long-run')`.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { LedgerState } from '../domain/ledger.js';
import type { ArmSteps } from '../methods/index.js';
import { finishHandlers, runMethodCancellable } from './cancellation.js';
import type { LoopCarry, LoopState } from './loop.js';
import type { SteeringCarry } from './steering.js';

/** The most a run's history may hold: events and bytes (as the server counts them). */
export interface HistoryBound {
  events: number;
  bytes: number;
}

/** Every run of a long run's chain stays under this (see the module comment). */
export const HISTORY_BOUND: HistoryBound = { events: 2_000, bytes: 2 * 1024 * 1024 };

/** The share of the bound past which the loop continues as new at its next round boundary. */
export const CONTINUE_AT = 0.8;

/** One journaled step call: its name and, for steps that answer, its result (JSON). */
export type JournalEntry = [step: string, result?: unknown];

/** What a continued run starts from (s3Synthesis's second argument): plain JSON, references only. */
export interface LongRunCarry {
  ledger: LedgerState;
  loop: LoopCarry;
  steering: SteeringCarry;
  state: LoopState;
  /** every step call the method made so far, in order */
  journal: JournalEntry[];
  /** continue-as-new steps before this run */
  continued: number;
  /** the bound to keep (absent: HISTORY_BOUND); tests set a smaller one, or "none" to compare
   * with a run that never continues as new (then only Temporal's own limits hold) */
  bound?: HistoryBound | 'none';
}

/** Thrown by a journaled `train` when the run should continue as new there (caught by the workflow). */
export class ContinueAsNewRequest extends Error {
  constructor(readonly round: number) {
    super(`continue as new before round ${round}`);
    this.name = 'ContinueAsNewRequest';
  }
}

/**
 * Whether the run should continue as new now: the history (events; bytes with the state it
 * would carry) has passed CONTINUE_AT of `bound`, or the server suggests it.
 * @param bound events and bytes (HistoryBound), or "none": never
 * @param carried what the run would carry (LongRunCarry), measured as JSON bytes
 */
export function historyPastBound(bound: HistoryBound | 'none', carried: () => unknown): boolean {
  if (bound === 'none') return false;
  const info = workflowInfo();
  if (info.continueAsNewSuggested || info.historyLength >= bound.events * CONTINUE_AT) return true;
  const threshold = bound.bytes * CONTINUE_AT;
  return info.historySize >= threshold || info.historySize + JSON.stringify(carried()).length >= threshold;
}

/** JSON has no Infinity (left() of a run without a cap): numbers that are not finite are kept as strings. */
const encode = (v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? { number: String(v) } : v);
const decode = (v: unknown): unknown =>
  v && typeof v === 'object' && 'number' in v && Object.keys(v).length === 1
    ? Number((v as { number: string }).number)
    : v;

/** The steps a method calls through the journal (all of ArmSteps' functions). */
const ASYNC_STEPS = ['rationales', 'seed', 'train', 'extrapolate', 'influence', 'useGold', 'finish'] as const;
const SYNC_STEPS = ['left', 'portion', 'budgetStop', 'stop'] as const;

/**
 * The journal of a method's step calls (see the module comment).
 * @param entries the journal carried from the previous run (replayed first), else []
 */
export class Journal {
  readonly entries: JournalEntry[];
  private next = 0;
  /** live trainings in this run (the first one never continues as new) */
  private trainedHere = 0;

  constructor(entries: JournalEntry[] = []) {
    this.entries = [...entries];
  }

  /** Whether the method is still being replayed from the journal. */
  get replaying(): boolean {
    return this.next < this.entries.length;
  }

  private replay(step: string): unknown {
    const [name, result] = this.entries[this.next];
    if (name !== step)
      throw ApplicationFailure.nonRetryable(
        `long run: the method called ${step} where its journal has ${name} (call ${this.next + 1}); it must call the same steps in the same order when run again`,
        'ResumeDiverged',
      );
    this.next++;
    return decode(result);
  }

  /**
   * `steps` with every call journaled; the journal's calls are answered from it.
   * @param shouldContinue asked before each live `train`: true throws ContinueAsNewRequest there
   */
  wrap(steps: ArmSteps, shouldContinue: () => boolean): ArmSteps {
    const wrapped: Record<string, unknown> = {
      options: steps.options,
      budget: steps.budget,
      rounds: steps.rounds,
    };
    for (const name of SYNC_STEPS) {
      const fn = steps[name] as (...a: unknown[]) => unknown;
      wrapped[name] = (...args: unknown[]) => {
        if (this.replaying) return this.replay(name); // `stop` was applied to the carried ledger
        const result = fn(...args);
        this.entries.push(result === undefined ? [name] : [name, encode(result)]);
        this.next = this.entries.length;
        return result;
      };
    }
    for (const name of ASYNC_STEPS) {
      const fn = steps[name] as (...a: unknown[]) => Promise<unknown>;
      wrapped[name] = async (...args: unknown[]) => {
        if (this.replaying) return this.replay(name);
        if (name === 'train' && this.trainedHere > 0 && shouldContinue())
          throw new ContinueAsNewRequest(args[0] as number);
        if (name === 'train') this.trainedHere++;
        const result = await fn(...args);
        this.entries.push(result === undefined ? [name] : [name, encode(result)]);
        this.next = this.entries.length;
        return result;
      };
    }
    return wrapped as unknown as ArmSteps;
  }
}

/**
 * Runs a method through the loop's steps as runMethodCancellable does and, for runs started
 * with long runs on (`chain.enabled`), journals its steps and continues as new when the history
 * passes the bound: Updates in flight finish first (what they changed is carried), then
 * `chain.continueAsNew` gets the state the continued run starts from.
 * @param chain.from the state this run was continued from (absent: a new run)
 * @param chain.bound the bound to keep (absent: HISTORY_BOUND)
 * @param chain.carry the run's state now (the Ledger, the loop, steering, progress)
 * @param chain.continueAsNew the workflow's continueAsNew with its own input and this state
 * @returns the cancellation caught, or null when the method ran to its end
 * @throws whatever the method threw that is not a cancellation; ContinueAsNew when continuing
 */
export async function runMethodInChain(
  method: { run(steps: ArmSteps): Promise<void> },
  steps: ArmSteps,
  ledger: { stopReason: string | null },
  state: LoopState,
  steering: boolean,
  chain: {
    enabled: boolean;
    from?: LongRunCarry;
    bound?: HistoryBound | 'none';
    carry: () => Pick<LongRunCarry, 'ledger' | 'loop' | 'steering' | 'state'>;
    continueAsNew: (next: LongRunCarry) => Promise<never>;
  },
): Promise<unknown> {
  const journal = chain.enabled ? new Journal(chain.from?.journal) : null;
  const next = (): LongRunCarry => ({
    ...chain.carry(),
    journal: journal!.entries,
    continued: (chain.from?.continued ?? 0) + 1,
    ...(chain.bound ? { bound: chain.bound } : {}),
  });
  try {
    const run = journal ? journal.wrap(steps, () => historyPastBound(chain.bound ?? HISTORY_BOUND, next)) : steps;
    return await runMethodCancellable(method, run, ledger, state, steering);
  } catch (err) {
    if (!(err instanceof ContinueAsNewRequest) || !journal) throw err;
    await finishHandlers();
    return chain.continueAsNew(next());
  }
}
