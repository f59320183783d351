import {
  CancellationScope,
  ActivityCancellationType,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  cancelSignal,
  cancelUpdate,
  mailStatusKey,
  pauseSignal,
  pauseUpdate,
  progressQuery,
  resumeSignal,
  resumeUpdate,
  type BulkCarry,
  type BulkProgress,
  type BulkResult,
  type BulkSendInput,
} from './contracts.js';

// Database steps: an outage stalls the bulk, it never fails it.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One bulk, one workflow (`bulk-<id>`). The recipient list stays in Postgres; this carries a
 * cursor and sends batch after batch, each a paced activity on the bulk task queue, so one bulk
 * never has two batches in flight and never outruns its rate, however many workers poll.
 */
export async function bulkSend(input: BulkSendInput): Promise<BulkResult> {
  const { bulkId } = input;
  const carry: BulkCarry = input.carry ?? {
    cursor: 0,
    paused: false,
    cancelled: false,
    ratePerSecond: 0,
    nextSendAt: 0,
    run: 0,
  };
  let batchScope: CancellationScope | undefined;

  const progress = (): BulkProgress => ({
    phase: carry.cancelled ? 'cancelling' : carry.paused ? 'paused' : 'running',
    cursor: carry.cursor,
    total: input.total,
    ratePerSecond: carry.ratePerSecond,
    run: carry.run,
  });
  // Pause and cancel interrupt the batch in flight: dispatch stops now, not a batch later.
  const pause = () => {
    if (!carry.cancelled && !carry.paused) {
      carry.paused = true;
      batchScope?.cancel();
    }
    return progress();
  };
  const resume = () => {
    carry.paused = false;
    return progress();
  };
  const cancel = () => {
    if (!carry.cancelled) {
      carry.cancelled = true;
      batchScope?.cancel();
    }
    return progress();
  };
  setHandler(pauseSignal, () => void pause());
  setHandler(resumeSignal, () => void resume());
  setHandler(cancelSignal, () => void cancel());
  setHandler(pauseUpdate, pause);
  setHandler(resumeUpdate, resume);
  setHandler(cancelUpdate, cancel);
  setHandler(progressQuery, progress);

  // A killed worker's batch is retried elsewhere once heartbeats stop (they run on a timer, so a
  // slow provider call never looks like a dead worker); heartbeats also carry cancellation.
  const providerTimeoutMs = input.policy.providerTimeoutMs ?? 10_000;
  const sendBatch = (size: number) =>
    proxyActivities<Activities>({
      taskQueue: input.sendQueue,
      startToCloseTimeout: `${Math.ceil((size / carry.ratePerSecond) * 1000) + 4 * providerTimeoutMs + 180_000} ms`,
      heartbeatTimeout: `${providerTimeoutMs + 5_000} ms`,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      // Provider outages wait here (the bulk's status_reason says why) rather than failing recipients.
      retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
    }).sendBulkBatch;

  if (carry.run === 0 && carry.ratePerSecond === 0) {
    carry.ratePerSecond = await store.startBulk({ bulkId, ratePerSecond: input.ratePerSecond });
  }
  let batches = 0;
  let shownStatus = '';
  const show = async (status: 'running' | 'paused') => {
    if (shownStatus === status) return;
    shownStatus = status;
    await store.setBulkStatus({ bulkId, status });
    upsertSearchAttributes([{ key: mailStatusKey, value: status }]);
  };

  while (!carry.cancelled && carry.cursor < input.total) {
    if (carry.paused) {
      await show('paused');
      await condition(() => !carry.paused || carry.cancelled);
      continue;
    }
    await show('running');
    if (batches >= input.batchesPerRun || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof bulkSend>({ ...input, carry: { ...carry, run: carry.run + 1 } });
    }
    const toSeq = Math.min(carry.cursor + input.batchSize, input.total);
    batchScope = new CancellationScope();
    try {
      const done = await batchScope.run(() =>
        sendBatch(toSeq - carry.cursor)({
          bulkId,
          fromSeq: carry.cursor,
          toSeq,
          ratePerSecond: carry.ratePerSecond,
          startAt: carry.nextSendAt,
          attachments: input.attachments,
          policy: input.policy,
        }),
      );
      carry.nextSendAt = done.nextSendAt;
      carry.cursor = toSeq;
    } catch (err) {
      // Interrupted by pause or cancel: the cursor stays, unsent rows of this range stay pending.
      if (!isCancellation(err)) throw err;
    } finally {
      batchScope = undefined;
    }
    batches++;
  }

  const status = carry.cancelled ? 'cancelled' : 'completed';
  const counts = await store.finishBulk({ bulkId, status });
  upsertSearchAttributes([{ key: mailStatusKey, value: status }]);
  return { bulkId, status, ...counts };
}
