import {
  CancellationScope,
  ActivityCancellationType,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
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

// Two batches in flight (disjoint ranges): the next one is claimed and waiting for its first send
// slot while the current one drains. Histories from before it replay the one-at-a-time loop.
const TWO_BATCHES_IN_FLIGHT = 'bulk-two-batches-in-flight';

/**
 * One bulk, one workflow (`bulk-<id>`). The recipient list stays in Postgres; this carries a
 * cursor and sends batch after batch, each a paced activity on the bulk task queue. At most two
 * batches are in flight, on disjoint ranges, and the second's send slots start where the first's
 * planned slots end, so the bulk never outruns its rate, however many workers poll.
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
  /** The scopes of the batches in flight (two-in-flight loop). */
  const batchScopes = new Set<CancellationScope>();
  const interruptBatches = () => {
    batchScope?.cancel();
    for (const scope of batchScopes) scope.cancel();
  };

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
      interruptBatches();
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
      interruptBatches();
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
  // `waits`: batches of send time the activity may spend before its first slot (the batch ahead).
  const sendBatch = (size: number, waits = 0) =>
    proxyActivities<Activities>({
      taskQueue: input.sendQueue,
      startToCloseTimeout: `${Math.ceil(((size * (1 + waits)) / carry.ratePerSecond) * 1000) + 4 * providerTimeoutMs + 180_000} ms`,
      heartbeatTimeout: `${providerTimeoutMs + 5_000} ms`,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      // Provider outages wait here (the bulk's status_reason says why) rather than failing recipients.
      retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
    }).sendBulkBatch;

  // Decided once per run, before its first command: a run replays with the loop it was recorded with.
  const twoInFlight = patched(TWO_BATCHES_IN_FLIGHT);
  // Only inputs with a send window take this path, and no history recorded before scheduled
  // sends has one: those replay unchanged without a patch.
  if (
    carry.run === 0 &&
    carry.ratePerSecond === 0 &&
    (input.scheduledAt !== undefined || input.notAfter !== undefined)
  ) {
    const stopped = await awaitSendWindow();
    if (stopped) {
      const counts = await store.finishBulk({ bulkId, status: stopped });
      upsertSearchAttributes([{ key: mailStatusKey, value: stopped }]);
      await condition(allHandlersFinished);
      return { bulkId, status: stopped, ...counts };
    }
  }
  if (carry.run === 0 && carry.ratePerSecond === 0) {
    carry.ratePerSecond = await store.startBulk({ bulkId, ratePerSecond: input.ratePerSecond });
  }
  /**
   * Waits, on a durable timer, for `scheduledAt`; a cancel ends the wait. A bulk paused at its
   * time starts when resumed. Returns why it stops instead (`cancelled`, or `expired` when it could
   * not start by `notAfter`: workers down, or paused until then), or undefined to start now.
   */
  async function awaitSendWindow(): Promise<'cancelled' | 'expired' | undefined> {
    const { scheduledAt, notAfter } = input;
    if (scheduledAt !== undefined) {
      await store.setBulkStatus({ bulkId, status: 'scheduled' });
      if (scheduledAt > Date.now()) await condition(() => carry.cancelled, scheduledAt - Date.now());
    }
    if (notAfter !== undefined && carry.paused && !carry.cancelled && notAfter > Date.now()) {
      await store.setBulkStatus({ bulkId, status: 'paused' });
      await condition(() => carry.cancelled || !carry.paused, notAfter - Date.now());
    }
    if (carry.cancelled) return 'cancelled';
    // Workflow time is when this task runs: a timer that fired while no worker was up runs late.
    if (notAfter !== undefined && (Date.now() > notAfter || carry.paused)) return 'expired';
    return undefined;
  }

  let batches = 0;
  let shownStatus = '';
  const show = async (status: 'running' | 'paused') => {
    if (shownStatus === status) return;
    shownStatus = status;
    await store.setBulkStatus({ bulkId, status });
    upsertSearchAttributes([{ key: mailStatusKey, value: status }]);
  };

  interface InFlight {
    toSeq: number;
    scope: CancellationScope;
    done: Promise<{ nextSendAt: number }>;
  }
  const inFlight: InFlight[] = [];
  /** When the send slots of the last batch launched end, as planned at its launch (epoch ms). */
  let plannedEnd = 0;
  const launch = (fromSeq: number, toSeq: number) => {
    // The first batch starts at the carried slot; a second starts where the first's slots end.
    const startAt = inFlight.length === 0 ? carry.nextSendAt : Math.max(carry.nextSendAt, plannedEnd);
    plannedEnd = Math.max(startAt, Date.now()) + ((toSeq - fromSeq) * 1000) / carry.ratePerSecond;
    const scope = new CancellationScope();
    batchScopes.add(scope);
    const done = scope.run(() =>
      sendBatch(
        toSeq - fromSeq,
        inFlight.length,
      )({
        bulkId,
        fromSeq,
        toSeq,
        ratePerSecond: carry.ratePerSecond,
        startAt,
        attachments: input.attachments,
        policy: input.policy,
      }),
    );
    // Awaited in order later; a rejection before then must not count as unhandled.
    done.catch(() => undefined);
    inFlight.push({ toSeq, scope, done });
  };

  /** Waits for the batches still in flight after a pause or cancel; the cursor passes only completed ones, in order. */
  const settleInterrupted = async (afterCompleted: boolean) => {
    let contiguous = afterCompleted;
    for (const b of inFlight.splice(0)) {
      batchScopes.delete(b.scope);
      try {
        const done = await b.done;
        if (!contiguous) continue;
        carry.nextSendAt = Math.max(carry.nextSendAt, done.nextSendAt);
        carry.cursor = b.toSeq;
      } catch (err) {
        // An interrupted range stays where it was: its unsent rows are pending again, and a resumed
        // bulk sends it (and the ranges after it) anew, skipping every row already final.
        if (!isCancellation(err)) throw err;
        contiguous = false;
      }
    }
  };

  while (twoInFlight && !carry.cancelled && carry.cursor < input.total) {
    if (carry.paused) {
      await settleInterrupted(true);
      await show('paused');
      await condition(() => !carry.paused || carry.cancelled);
      continue;
    }
    await show('running');
    const newRun = batches >= input.batchesPerRun || workflowInfo().continueAsNewSuggested;
    if (newRun && inFlight.length === 0) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof bulkSend>({ ...input, carry: { ...carry, run: carry.run + 1 } });
    }
    // Up to two batches, in order from the cursor; the run's batch budget counts launched ones.
    let next = inFlight.length > 0 ? inFlight[inFlight.length - 1]!.toSeq : carry.cursor;
    while (!newRun && inFlight.length < 2 && next < input.total && batches + inFlight.length < input.batchesPerRun) {
      const toSeq = Math.min(next + input.batchSize, input.total);
      launch(next, toSeq);
      next = toSeq;
    }
    const head = inFlight.shift()!;
    try {
      const done = await head.done;
      carry.nextSendAt = Math.max(carry.nextSendAt, done.nextSendAt);
      carry.cursor = head.toSeq;
    } catch (err) {
      // Interrupted by pause or cancel: the cursor stays, unsent rows of this range stay pending.
      if (!isCancellation(err)) throw err;
      await settleInterrupted(false);
    } finally {
      // Out of pause's and cancel's reach only once it has ended.
      batchScopes.delete(head.scope);
    }
    batches++;
  }
  // A cancel while a second batch was in flight: it settles its rows before the counts are taken.
  await settleInterrupted(true);

  while (!twoInFlight && !carry.cancelled && carry.cursor < input.total) {
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
