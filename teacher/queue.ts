/**
 * A bounded queue with fair interleaving: at most `capacity` jobs run at once, and when jobs
 * of several clients (workflows) wait, slots go to the clients in turn (round robin), so one
 * run's 200-call batch cannot starve another run's 5 calls.
 */
export class FairQueue {
  #active = 0;
  /** waiting jobs per client; Map insertion order is the rotation order */
  readonly #waiting = new Map<string, (() => void)[]>();

  /** @param capacity jobs running at once (positive integer), e.g. the teacher's parallel sequences */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`FairQueue capacity must be ≥ 1, got ${capacity}`);
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot, all clients together. */
  get waiting(): number {
    let n = 0;
    for (const q of this.#waiting.values()) n += q.length;
    return n;
  }

  /**
   * Runs `job` once a slot is free and it is `client`'s turn.
   * @param signal when it aborts while the job still waits, the job is dropped and the
   *   promise rejects with the signal's reason (a job already running is not interrupted here)
   * @returns the job's result
   */
  async run<T>(client: string, job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.#acquire(client, signal);
    try {
      return await job();
    } finally {
      this.#active--;
      this.#dispatch();
    }
  }

  #acquire(client: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#active < this.capacity && this.#waiting.size === 0) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let q = this.#waiting.get(client);
      if (!q) this.#waiting.set(client, (q = []));
      const queue = q;
      const onAbort = () => {
        const i = queue.indexOf(start);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0 && this.#waiting.get(client) === queue) this.#waiting.delete(client);
        reject(signal!.reason);
      };
      const start = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      queue.push(start);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #dispatch(): void {
    while (this.#active < this.capacity && this.#waiting.size > 0) {
      const [client, queue] = this.#waiting.entries().next().value as [string, (() => void)[]];
      const start = queue.shift()!;
      this.#waiting.delete(client);
      if (queue.length) this.#waiting.set(client, queue); // to the back of the rotation
      this.#active++;
      start();
    }
  }
}
