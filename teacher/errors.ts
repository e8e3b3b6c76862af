/**
 * Teacher error classes. Each sets `name` explicitly so that Temporal, which turns a thrown
 * error into an ApplicationFailure of type `err.name`, can match them by name, e.g.
 * `nonRetryableErrorTypes: ['TeacherConfigError']` in an activity retry policy.
 */

/** A problem retrying cannot fix: missing model file, bad API key (401/403), unknown model
 * or route (404), request the endpoint rejects (400/422). `status` is the HTTP status if any. */
export class TeacherConfigError extends Error {
  override readonly name: string = 'TeacherConfigError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A problem that may pass: server unreachable, rate limit (429), server error (5xx). */
export class TeacherUnavailableError extends Error {
  override readonly name: string = 'TeacherUnavailableError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One call ran past its deadline (`teacher.timeoutMs`), after the provider's retries. */
export class TeacherTimeoutError extends TeacherUnavailableError {
  override readonly name: string = 'TeacherTimeoutError';
}

/**
 * The prompt (plus the reply budget) does not fit the model's context: a property of this one
 * call, not of the configuration. The synthesis activities shorten the example in the prompt
 * and retry once, else count the example as rejected (`context_length`); the run goes on.
 * `promptTokens` / `contextTokens` when known.
 */
export class TeacherContextLengthError extends Error {
  override readonly name: string = 'TeacherContextLengthError';
  constructor(
    message: string,
    readonly promptTokens?: number,
    readonly contextTokens?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
