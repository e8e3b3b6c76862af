/**
 * Teacher error classes. Both set `name` explicitly so that Temporal, which turns a thrown
 * error into an ApplicationFailure of type `err.name`, can match them by name, e.g.
 * `nonRetryableErrorTypes: ['TeacherConfigError']` in an activity retry policy.
 */

/** A problem retrying cannot fix: missing model file, bad API key (401/403), unknown model
 * or route (404), request the endpoint rejects (400/422). `status` is the HTTP status if any. */
export class TeacherConfigError extends Error {
  override readonly name = 'TeacherConfigError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A problem that may pass: server unreachable, timeout, rate limit (429), server error (5xx). */
export class TeacherUnavailableError extends Error {
  override readonly name = 'TeacherUnavailableError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
