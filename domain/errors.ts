/** Small helpers on errors shared by workflows, activities and the CLI. Pure module. */

/**
 * The innermost message of an error chain (following `cause`): an activity's or a validator's
 * own reason under the failures Temporal wraps it in.
 * @param err anything thrown
 * @returns the deepest non-empty `message` on the chain, else `String(err)`
 */
export function innermostMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e?.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e?.message) message = e.message;
  }
  return message;
}
