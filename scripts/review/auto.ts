/**
 * The automated reviewer's loop (scripts/dev/auto-review.ts): acts as a person on the review
 * page through the same HTTP API (scripts/review/client.ts), round after round, until the run
 * finishes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reference, ReferenceInfo } from '../../quality/labelAgreement.js';
import type { ReviewApi } from './client.js';
import { decide, referenceOfRun, type ReviewRule } from './rules.js';

/** One reviewed round. `seconds`: from the round first seen waiting to the review accepted
 * (reading it, the rule, the Update; round 0 also fits the reference). */
export interface AutoReviewRound {
  round: number;
  shown: number;
  rejected: number;
  seconds: number;
  /** the review was not accepted (e.g. the round's review timed out first): the reason */
  refused?: string;
}

/** What auto-review prints as JSON at the end. */
export interface AutoReviewSummary {
  workflowId: string;
  rule: ReviewRule;
  /** the reference classifier (rule "reference"): what it was fitted on and its held-out accuracy */
  reference: ReferenceInfo | null;
  /** how the run ended: completed, failed, cancelled, terminated, … */
  finished: string;
  rounds: number;
  reviewed: number;
  rejected: number;
  /** seconds spent reviewing, all rounds */
  seconds: number;
  /** reviewed / (seconds / 60); null when no round was reviewed */
  examplesPerMinute: number | null;
  perRound: AutoReviewRound[];
}

/**
 * Reviews every round that waits until the run finishes.
 * @param o.api the review server's client
 * @param o.trainOn the reference's gold data ("validation", or "train" when the run has a train split)
 * @param o.by the reviewer's name recorded with each review
 * @param o.pollMs how often to ask while the run runs (ms)
 * @param o.log receives one line per reviewed round
 * @throws Error when the server reports an error state or a malformed request
 */
export async function autoReview(o: {
  api: ReviewApi;
  rule: ReviewRule;
  trainOn?: 'validation' | 'train';
  by: string;
  pollMs?: number;
  log?: (line: string) => void;
}): Promise<AutoReviewSummary> {
  const perRound: AutoReviewRound[] = [];
  let reference: Reference | null = null;
  for (;;) {
    const view = await o.api.round();
    if (view.state === 'finished') {
      const reviewed = perRound.filter((r) => !r.refused);
      const seconds = reviewed.reduce((s, r) => s + r.seconds, 0);
      const n = reviewed.reduce((s, r) => s + r.shown, 0);
      return {
        workflowId: view.workflowId,
        rule: o.rule,
        reference: reference?.info ?? null,
        finished: view.status,
        rounds: reviewed.length,
        reviewed: n,
        rejected: reviewed.reduce((s, r) => s + r.rejected, 0),
        seconds: Number(seconds.toFixed(3)),
        examplesPerMinute: reviewed.length && seconds > 0 ? Number((n / (seconds / 60)).toFixed(1)) : null,
        perRound,
      };
    }
    if (view.state === 'error') throw new Error(`${view.workflowId}: ${view.error}`);
    if (view.state === 'running') {
      await sleep(o.pollMs ?? 500);
      continue;
    }
    const t0 = performance.now();
    reference ??= await referenceOfRun(view.runDir, o.trainOn);
    const decisions = await decide(o.rule, view.examples, reference);
    const answer = await o.api.review(view.round, decisions, o.by);
    const r: AutoReviewRound = {
      round: view.round,
      shown: view.examples.length,
      rejected: decisions.filter((d) => d.action === 'reject').length,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      ...('error' in answer ? { refused: answer.error } : {}),
    };
    perRound.push(r);
    o.log?.(
      `round ${r.round}: ${r.shown} shown, ${r.rejected} rejected, ${r.seconds} s${r.refused ? ` (not accepted: ${r.refused})` : ''}`,
    );
  }
}
