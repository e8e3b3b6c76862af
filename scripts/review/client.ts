/**
 * A client of the review server's HTTP API (scripts/review/server.ts), what the page does in
 * JavaScript, for scripts (scripts/dev/auto-review.ts).
 */
import type { ReviewDecision, SteeringState } from '../../domain/steering.js';
import type { RoundView } from './server.js';

/** The review server's two calls, over HTTP with fetch. */
export class ReviewApi {
  /** @param url the server's URL, e.g. http://127.0.0.1:41234/ */
  constructor(private readonly url: string) {}

  /**
   * `GET /api/round`: the round waiting, the run's phase, or its end.
   * @throws Error with the server's reason on a non-2xx answer
   */
  async round(): Promise<RoundView> {
    const res = await fetch(new URL('api/round', this.url));
    const body = (await res.json()) as RoundView | { error: string };
    if (!res.ok) throw new Error(`GET /api/round: HTTP ${res.status}: ${(body as { error: string }).error}`);
    return body as RoundView;
  }

  /**
   * `POST /api/review`: the review of round `round` (the `review` Update).
   * @returns the run's new steering state, or `{error}` with the reason when the round no longer
   *   waits or the workflow rejected the review (HTTP 409)
   * @throws Error on any other non-2xx answer (a malformed request)
   */
  async review(
    round: number,
    decisions: ReviewDecision[],
    by?: string,
  ): Promise<{ state: SteeringState } | { error: string }> {
    const res = await fetch(new URL('api/review', this.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ round, decisions, ...(by ? { by } : {}) }),
    });
    const body = (await res.json()) as { state: SteeringState } | { error: string };
    if (res.status === 409) return body;
    if (!res.ok) throw new Error(`POST /api/review: HTTP ${res.status}: ${(body as { error: string }).error}`);
    return body;
  }
}
