/**
 * A metered artifact store: the same store, with every call timed and its bytes counted, so a
 * run can say what share of its wall time the store took (issue 17: "the store's share of wall
 * time (bytes moved, time in store calls)").
 *
 * Switched on per process by the environment: `S3_STORE_METRICS=<file>` makes openStore/storeFor
 * (store/index.ts) wrap each store they open; the process's totals are written to `<file>` as
 * JSON when it exits (and on demand by writeStoreMetrics), merged with what an earlier process
 * left there, so a CLI run that restarts adds up. Measurement only: nothing reads it back.
 *
 * Two times are kept: `callMs`, the sum of every call's duration (overlapping calls each count),
 * and `busyMs`, the wall time during which at least one call was in flight (the union of the
 * intervals): `busyMs / wall time of the run` is the store's share. A streamed read
 * (streamJsonl) is timed from its first to its last record, so the consumer's time between
 * records counts as store time: an upper bound.
 *
 * A read served from the local read-through copy (store/localcache.ts: a `get` or `getJsonl` by
 * sha256 that this machine already holds) is no store call: it is counted in `localHits`, not in
 * `calls`; its time (reading and hashing the local file) still counts in callMs / busyMs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { DatasetRef } from '../domain/types.js';
import { countLocalHits } from './localcache.js';
import type { ArtifactStore, ArtifactTarget, JsonlReadOptions, PutResult, ReadOptions } from './types.js';
import type { z } from 'zod';

/** Totals of one process (or, merged, of several). Times in milliseconds, sizes in bytes. */
export interface StoreMetrics {
  /** calls that reached the store, by operation */
  calls: Record<string, number>;
  /** reads served from the local read-through copy without a store call, by operation (get, getJsonl) */
  localHits: Record<string, number>;
  callMs: number;
  busyMs: number;
  /** bytes written (put / putJsonl: the serialized size, whether or not the rewrite was skipped) */
  bytesWritten: number;
  /** bytes read (get; getJsonl / streamJsonl: the records re-serialized, an estimate) */
  bytesRead: number;
  /** puts that found the same bytes already stored (idempotent rewrite skipped) */
  skippedWrites: number;
}

const zero = (): StoreMetrics => ({
  calls: {},
  localHits: {},
  callMs: 0,
  busyMs: 0,
  bytesWritten: 0,
  bytesRead: 0,
  skippedWrites: 0,
});

let totals = zero();
let inFlight = 0;
let busySince = 0;
let exitHookFile: string | undefined;

function begin(): number {
  const now = performance.now();
  if (inFlight++ === 0) busySince = now;
  return now;
}

/** Ends a call of `op` begun at `started`: a store call, or a read served locally (`local`). */
function end(op: string, started: number, local = false): void {
  const counts = local ? totals.localHits : totals.calls;
  counts[op] = (counts[op] ?? 0) + 1;
  const now = performance.now();
  totals.callMs += now - started;
  if (--inFlight === 0) totals.busyMs += now - busySince;
}

async function timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
  const t = begin();
  try {
    return await fn();
  } finally {
    end(op, t);
  }
}

/** As timed, for a read that the local read-through copy may serve (then counted in localHits). */
async function timedRead<T>(op: string, fn: () => Promise<T>): Promise<T> {
  const t = begin();
  let local = false;
  try {
    const { value, localHits } = await countLocalHits(fn);
    local = localHits > 0;
    return value;
  } finally {
    end(op, t, local);
  }
}

const sizeOf = (row: unknown) => Buffer.byteLength(JSON.stringify(row)) + 1;

/**
 * Wraps `store` so each call is timed and counted into this process's totals.
 * @returns a store with the same behaviour, URIs and errors
 */
export function meterStore(store: ArtifactStore): ArtifactStore {
  return {
    get rootUri() {
      return store.rootUri;
    },
    uriOf: (key) => store.uriOf(key),
    keyOf: (uri) => store.keyOf(uri),
    put: (key, bytes): Promise<PutResult> =>
      timed('put', async () => {
        const r = await store.put(key, bytes);
        totals.bytesWritten += r.bytes;
        if (!r.written) totals.skippedWrites++;
        return r;
      }),
    get: (target: ArtifactTarget, opts?: ReadOptions) =>
      timedRead('get', async () => {
        const b = await store.get(target, opts);
        totals.bytesRead += b.length;
        return b;
      }),
    // sizes are counted after the timed call, so measuring does not add to the store's time
    async putJsonl<T>(key: string, rows: Iterable<T>, opts?: { labelOf?: (row: T) => string }): Promise<DatasetRef> {
      const list = [...rows];
      const ref = await timed('putJsonl', () => store.putJsonl(key, list, opts));
      totals.bytesWritten += list.reduce((s, r) => s + sizeOf(r), 0);
      return ref;
    },
    async getJsonl<T>(target: ArtifactTarget, schema: z.ZodType<T>, opts?: JsonlReadOptions): Promise<T[]> {
      const rows = await timedRead('getJsonl', () => store.getJsonl(target, schema, opts));
      totals.bytesRead += rows.reduce((s, r) => s + sizeOf(r), 0);
      return rows;
    },
    async *streamJsonl<T>(target: ArtifactTarget, schema: z.ZodType<T>, opts?: { sha256?: string }) {
      const t = begin();
      try {
        for await (const row of store.streamJsonl(target, schema, opts)) {
          totals.bytesRead += sizeOf(row);
          yield row;
        }
      } finally {
        end('streamJsonl', t);
      }
    },
    exists: (target) => timed('exists', () => store.exists(target)),
    list: (prefix) => timed('list', () => store.list(prefix)),
    ...(store.recordedSha256
      ? { recordedSha256: (key: string) => timed('recordedSha256', () => store.recordedSha256!(key)) }
      : {}),
  };
}

/** This process's totals so far (a copy). */
export function storeMetrics(): StoreMetrics {
  return structuredClone(totals);
}

/** Resets this process's totals (tests). */
export function resetStoreMetrics(): void {
  totals = zero();
  inFlight = 0;
}

/** Adds this process's totals to the JSON at `file` (created when absent) and resets them. */
export function writeStoreMetrics(file: string): void {
  const before: StoreMetrics = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StoreMetrics) : zero();
  const merged = { ...before, calls: { ...before.calls }, localHits: { ...before.localHits } };
  for (const [op, n] of Object.entries(totals.calls)) merged.calls[op] = (merged.calls[op] ?? 0) + n;
  for (const [op, n] of Object.entries(totals.localHits)) merged.localHits[op] = (merged.localHits[op] ?? 0) + n;
  merged.callMs += totals.callMs;
  merged.busyMs += totals.busyMs;
  merged.bytesWritten += totals.bytesWritten;
  merged.bytesRead += totals.bytesRead;
  merged.skippedWrites += totals.skippedWrites;
  writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
  resetStoreMetrics();
}

/**
 * `meterStore(store)` when S3_STORE_METRICS names a file (the totals are written there when the
 * process exits), else `store` unchanged.
 */
export function meteredIfAsked(store: ArtifactStore): ArtifactStore {
  const file = process.env.S3_STORE_METRICS;
  if (!file) return store;
  if (exitHookFile === undefined) {
    exitHookFile = file;
    process.on('exit', () => writeStoreMetrics(file));
  }
  return meterStore(store);
}
