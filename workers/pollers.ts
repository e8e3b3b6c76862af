/**
 * Which worker role a run is missing: the task queues a run needs pollers on (workers/roles.ts:
 * the workflow's queue, the teacher queue, the student queue or the Python training worker's),
 * checked with DescribeTaskQueue. For the CLI (`s3 start` / `s3 experiment` without an in-process
 * worker), so that a run does not wait silently on a queue nobody polls:
 *
 *   const missing = await rolesWithoutPollers(client, namespace, queuesNeeded(config, taskQueue));
 *   if (missing.length) console.error(describeMissing(missing));
 *
 * The server lists a poller for a few minutes after its last poll, so a worker killed just now
 * may still count as present.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { S3Config } from '../config/schema.js';

const { TaskQueueType, TaskQueueKind } = proto.temporal.api.enums.v1;

/** One queue a run needs polled, and by whom. */
export interface NeededQueue {
  role: 'orchestration' | 'teacher' | 'student' | 'finetune';
  taskQueue: string;
  /** workflow tasks (the orchestration) or activity tasks */
  type: 'workflow' | 'activity';
}

/**
 * The queues a run (or an experiment, whose arms share these settings) needs polled.
 * @param workflowTaskQueue the queue the workflow is started on (S3_TASK_QUEUE, default "s3-synth")
 */
export function queuesNeeded(
  config: Pick<S3Config, 'student'> & Pick<Partial<S3Config>, 'taskQueues'>,
  workflowTaskQueue: string,
): NeededQueue[] {
  const needs: NeededQueue[] = [
    { role: 'orchestration', taskQueue: workflowTaskQueue, type: 'workflow' },
    { role: 'teacher', taskQueue: config.taskQueues?.teacher ?? workflowTaskQueue, type: 'activity' },
  ];
  if (config.student.kind === 'finetune')
    needs.push({ role: 'finetune', taskQueue: config.student.finetune.taskQueue, type: 'activity' });
  else needs.push({ role: 'student', taskQueue: config.taskQueues?.student ?? workflowTaskQueue, type: 'activity' });
  return needs;
}

/** The needed queues without a recent poller (DescribeTaskQueue), in the order given. */
export async function rolesWithoutPollers(
  client: Pick<Client, 'workflowService'>,
  namespace: string,
  needs: NeededQueue[],
): Promise<NeededQueue[]> {
  const missing: NeededQueue[] = [];
  for (const need of needs) {
    const res = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: need.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType:
        need.type === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if (!res.pollers?.length) missing.push(need);
  }
  return missing;
}

/** What to start for the missing roles: one line a queue (roles sharing a queue start as one worker). */
export function describeMissing(missing: NeededQueue[]): string {
  const byQueue = new Map<string, NeededQueue[]>();
  for (const m of missing) byQueue.set(m.taskQueue, [...(byQueue.get(m.taskQueue) ?? []), m]);
  return [...byQueue.entries()]
    .map(([queue, ms]) => {
      const roles = ms.map((m) => m.role);
      const start = roles.includes('finetune')
        ? `S3_TRAIN_TASK_QUEUE=${queue} npm run worker:finetune`
        : roles.includes('orchestration')
          ? `S3_TASK_QUEUE=${queue} npm run worker -- --role ${roles.join(',')}`
          : `S3_${roles[0].toUpperCase()}_TASK_QUEUE=${queue} npm run worker -- --role ${roles.join(',')}`;
      const who = roles.length === 1 ? `the ${roles[0]} role` : `the ${roles.join(', ')} roles`;
      return `no worker polls task queue "${queue}" for ${who}: start one with \`${start}\``;
    })
    .join('\n');
}
