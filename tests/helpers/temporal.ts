/** Temporal helpers for tests: a real local dev server (the installed `temporal` binary) and history scanning. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import proto from '@temporalio/proto';
import type { temporal as T } from '@temporalio/proto';
import { temporalBin } from '../../scripts/devserver.js';
import { S3_PHASE, S3_ROUND, S3_VAL_ACCURACY } from '../../workflows/types.js';

const { temporal } = proto;
type IHistory = T.api.history.v1.IHistory;

/** Starts a throwaway dev server (in-memory, random port) with S3's search attributes registered. */
export function startDevServer(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalBin() },
      searchAttributes: [S3_PHASE, S3_ROUND, S3_VAL_ACCURACY],
    },
  });
}

/**
 * The largest history event of a workflow, in bytes as encoded on the wire. Every payload
 * (workflow input/result, activity input/result, heartbeat details) is inside one event, so
 * this bounds the largest payload.
 */
export function largestEvent(history: IHistory): { bytes: number; eventType: string } {
  let best = { bytes: 0, eventType: '' };
  for (const ev of history.events ?? []) {
    const bytes = temporal.api.history.v1.HistoryEvent.encode(ev).finish().length;
    if (bytes > best.bytes) best = { bytes, eventType: temporal.api.enums.v1.EventType[ev.eventType ?? 0] ?? '?' };
  }
  return best;
}

/** Names of the activity types scheduled in a history, in order. */
export function scheduledActivities(history: IHistory): string[] {
  return (history.events ?? []).flatMap((ev) => {
    const name = ev.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}
