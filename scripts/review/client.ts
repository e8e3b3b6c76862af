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
    const url = new URL('api/round', this.url);
    // a GET is safe to repeat: once more when the connection broke before an answer
    const res = await fetch(url).catch(() => fetch(url));
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
    const post = () =>
      fetch(new URL('api/review', this.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ round, decisions, ...(by ? { by } : {}) }),
      });
    let res: Response;
    try {
      res = await post();
    } catch (err) {
      // The connection broke before an answer: the review was sent only if the round no longer
      // waits; send it again only when the same round still waits (the server refuses a stale one).
      const now = await this.round();
      if (now.state !== 'waiting' || now.round !== round) throw err;
      res = await post();
    }
    const body = (await res.json()) as { state: SteeringState } | { error: string };
    if (res.status === 409) return body;
    if (!res.ok) throw new Error(`POST /api/review: HTTP ${res.status}: ${(body as { error: string }).error}`);
    return body;
  }
}
