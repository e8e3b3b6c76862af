/**
 * One algorithm, two drivers: a long CPU loop written as a generator (`yield` where it may
 * pause) runs either straight through (`runSync`) or letting the event loop run at least every
 * `sliceMs` (`runCooperative`), so an activity's heartbeat timer, Temporal's cancellation and
 * other calls keep going while a student or the label-agreement reference trains. Without it,
 * fitting the reference on 4,653 SpamAssassin e-mails blocked the event loop 36 s on a loaded
 * 2-core machine and writeReport died of a 30 s heartbeat timeout.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A computation that may pause at each `yield` and finally returns T. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end without pausing. @returns its result; rethrows what it throws */
export function runSync<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs `steps` to the end, giving the event loop a turn whenever `sliceMs` (default 20 ms) of
 * computing have passed since the last one.
 * @returns its result; rejects with what it throws
 */
export async function runCooperative<T>(steps: Steps<T>, sliceMs = 20): Promise<T> {
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await nextTurn();
      since = performance.now();
    }
  }
}
