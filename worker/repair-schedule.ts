// The repair schedule: a Temporal Schedule (durable, visible in the Web UI, one run at a time
// across every worker) that starts `repairQueuedSends` on the main task queue. Every worker
// ensures it exists when it starts; its runs start the sends left `queued` (activities/repair.ts).
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
} from '@temporalio/client';
import type { Config } from '../config/config.js';
import type { RepairInput } from '../activities/repair.js';
import type { repairQueuedSends } from '../workflows/repair.js';

export const repairWorkflowType = 'repairQueuedSends';

/** `mailroom-repair` on the default queue; one schedule per deployment (per main task queue). */
export const repairScheduleId = (taskQueue: string) => `${taskQueue}-repair`;

export interface RepairScheduleSettings {
  taskQueue: string;
  intervalSeconds: number;
  afterSeconds: number;
}

export function repairScheduleSettings(
  config: Pick<Config, 'TEMPORAL_TASK_QUEUE' | 'REPAIR_INTERVAL_SECONDS' | 'REPAIR_AFTER_SECONDS'>,
): RepairScheduleSettings {
  return {
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    intervalSeconds: config.REPAIR_INTERVAL_SECONDS,
    afterSeconds: config.REPAIR_AFTER_SECONDS,
  };
}

/**
 * Creates the schedule, or, when it exists, brings its spec, action and policies up to this
 * worker's config (its state — e.g. paused by an operator — is kept).
 */
export async function ensureRepairSchedule(client: Client, s: RepairScheduleSettings): Promise<'created' | 'updated'> {
  const scheduleId = repairScheduleId(s.taskQueue);
  const input: RepairInput = { olderThanSeconds: s.afterSeconds };
  const action: ScheduleOptionsStartWorkflowAction<typeof repairQueuedSends> = {
    type: 'startWorkflow',
    workflowType: repairWorkflowType,
    workflowId: scheduleId,
    taskQueue: s.taskQueue,
    args: [input],
    // A run that cannot finish (no worker polls the queue) ends, and the next one takes over.
    workflowRunTimeout: '30 minutes',
  };
  const spec = { intervals: [{ every: `${s.intervalSeconds} seconds` }] };
  // SKIP: never two repairs at once; catch up at most one missed run after an outage.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${s.intervalSeconds} seconds` };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies,
      state: { note: 'Starts sends left queued (see README: Accepting a request). Managed by the worker.' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule
    .getHandle(scheduleId)
    .update<typeof repairQueuedSends>((previous) => ({ ...previous, spec, action, policies }));
  return 'updated';
}

/**
 * ensureRepairSchedule, retried until it succeeds (a Temporal blip at start must not stop the
 * worker nor leave the schedule missing). Resolves once it exists; never rejects.
 */
export async function ensureRepairScheduleEventually(
  client: Client,
  s: RepairScheduleSettings,
  log: { info(o: object, msg: string): void; warn(o: object, msg: string): void },
  retryMs = 10_000,
): Promise<void> {
  for (;;) {
    try {
      const outcome = await ensureRepairSchedule(client, s);
      log.info({ scheduleId: repairScheduleId(s.taskQueue), outcome, ...s }, 'repair schedule ready');
      return;
    } catch (err) {
      log.warn({ err }, 'could not ensure the repair schedule; retrying');
      await new Promise((r) => setTimeout(r, retryMs).unref());
    }
  }
}
