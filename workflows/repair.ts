import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RepairCounts, RepairInput } from '../activities/repair.js';

const { startQueuedSends } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  // A database or Temporal outage: a few tries, then the run ends and the next scheduled one
  // (the schedule skips runs while one is open) picks up the same rows.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Run by the repair schedule (worker/repair-schedule.ts): starts every send left `queued` past
 * `olderThanSeconds` — an accept whose workflow start failed, or an API that died between the
 * insert and the start. The result (and the log) carries counts only.
 */
export async function repairQueuedSends(input: RepairInput): Promise<RepairCounts> {
  const counts = await startQueuedSends(input);
  log.info('repair of queued sends done', {
    messages: counts.messages.started,
    bulks: counts.bulks.started,
    failed: counts.messages.failed + counts.bulks.failed,
  });
  return counts;
}
