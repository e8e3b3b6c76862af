/**
 * The review gate of a running loop (issue 20 item 3; part of workflows/steering.ts): with
 * review "each-round" (the `setReview` Update, or `synthesis.review` in the configuration),
 * the loop waits (a durable `condition`, optionally bounded by `timeoutMin`) before each
 * training for a `review` Update on the synthetic data made since the last one; its rejections
 * and relabels are applied by the applyReview activity and only the reviewed data trains.
 * Deterministic workflow code.
 */
import { ApplicationFailure, condition, type proxyActivities } from '@temporalio/workflow';
import type { S3Activities } from '../activities/index.js';
import type { S3Config } from '../config/schema.js';
import { innermostMessage } from '../domain/errors.js';
import { reviewProblem, type ReviewInput, type SetReviewInput, type SteeringState } from '../domain/steering.js';
import type { DatasetRef } from '../domain/types.js';
import { reject } from './steeringUpdates.js';

type Activities = ReturnType<typeof proxyActivities<S3Activities>>;

export class ReviewGate {
  mode: SetReviewInput['mode'] = 'none';
  /** minutes after which a round nobody reviewed is approved as it is (undefined: wait for ever) */
  timeoutMin: number | undefined;
  /** the round waiting for a review and its data */
  private wait: { round: number; data: DatasetRef[] } | null = null;
  /** the review's outcome: the reviewed data (null: all approved as they are) */
  private done: { ref: DatasetRef | null } | null = null;
  private busy = false;

  /** Sets the review mode (setReview, or the configuration). @returns what changed, in words */
  set(input: SetReviewInput): string {
    this.mode = input.mode;
    this.timeoutMin = input.mode === 'each-round' ? input.timeoutMin : undefined;
    const timeout = this.timeoutMin ? ` (approved after ${this.timeoutMin} min without one)` : '';
    return `review ${input.mode === 'none' ? 'off' : `each round before training${timeout}`}`;
  }

  /** The round waiting for a review, or null (none, or a review was just given: the loop goes on with it). */
  pending(): { round: number; data: DatasetRef[] } | null {
    return this.done ? null : this.wait;
  }

  /** The review part of the steering state (SteeringState `review`). */
  state(): SteeringState['review'] {
    const wait = this.pending();
    return {
      mode: this.mode,
      ...(this.timeoutMin !== undefined ? { timeoutMin: this.timeoutMin } : {}),
      round: wait?.round ?? null,
      examples: (wait?.data ?? []).reduce((n, r) => n + r.count, 0),
      data: (wait?.data ?? []).map((r) => r.path ?? r.uri ?? ''),
    };
  }

  /**
   * The `review` validator: a round waits for it, no review is being applied, and the
   * decisions name its examples and the task's labels (domain/steering.ts reviewProblem).
   * @throws ApplicationFailure (InvalidUpdate) with the reason
   */
  check(input: ReviewInput | undefined, labels: readonly string[]): void {
    if (this.busy) reject('review: this round’s review is being applied');
    const problem = reviewProblem(input, this.wait?.round ?? null, labels);
    if (problem) reject(`review: ${problem}`);
  }

  /**
   * The `review` Update: applies the decisions (applyReview activity; none: all approved)
   * and lets the waiting loop go on with the reviewed data.
   * @param record records the review (its detail, the round it applies to)
   * @throws ApplicationFailure (InvalidUpdate) with the activity's reason when it failed
   */
  async apply(
    acts: Activities,
    input: ReviewInput | undefined,
    c: { config: S3Config; now: () => number },
    record: (detail: string, round: number) => void,
  ): Promise<void> {
    const wait = this.wait!;
    const decisions = input?.decisions ?? [];
    const by = input?.by ?? 'reviewer';
    this.busy = true;
    try {
      let ref: DatasetRef | null = null;
      let detail = `all ${wait.data.reduce((n, r) => n + r.count, 0)} example(s) approved`;
      if (decisions.length) {
        const at = new Date(c.now()).toISOString();
        const r = await acts
          .applyReview({ config: c.config, data: wait.data, review: { decisions, by }, round: wait.round, at })
          .catch((err: unknown) => {
            throw ApplicationFailure.nonRetryable(innermostMessage(err), 'InvalidUpdate');
          });
        ref = r.ref;
        detail = `${r.rejected} rejected, ${r.relabelled} relabelled, ${r.kept} kept`;
      }
      record(`round ${wait.round} reviewed by ${by}: ${detail}`, wait.round);
      this.done = { ref };
    } finally {
      this.busy = false;
    }
  }

  /** Whether the loop waits for a review of `data` before training (each-round, and new examples). */
  wanted(data: DatasetRef[]): boolean {
    return this.mode === 'each-round' && data.some((r) => r.count > 0);
  }

  /**
   * Waits (durably) for the review of round `round`'s `data`; after `timeoutMin` without one,
   * all are approved (unless a review is being applied then: it is waited for).
   * @param timedOut records an approval by timeout (its detail)
   * @returns the reviewed data to train on instead, or null (all approved as they are)
   */
  async waitFor(round: number, data: DatasetRef[], timedOut: (detail: string) => void): Promise<DatasetRef | null> {
    this.wait = { round, data };
    try {
      const limit = this.timeoutMin;
      if (limit === undefined) await condition(() => this.done !== null);
      else if (!(await condition(() => this.done !== null, limit * 60_000))) {
        if (!this.busy) {
          timedOut(`round ${round}: no review within ${limit} min, all approved`);
          return null;
        }
        await condition(() => this.done !== null);
      }
      return this.done!.ref;
    } finally {
      this.wait = null;
      this.done = null;
    }
  }
}
