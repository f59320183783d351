import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bulkWorkflowId, pauseSignal, progressQuery, resumeSignal } from '../../workflows/contracts.js';
import { bulkAction, bulkBody, bulkResult, exactlyOnce, getBulk, postBulk } from '../support/bulk.js';
import { startHarness, type Harness } from '../support/harness.js';
import { historyToJson, type History } from '../support/history-json.js';
import { allReplayed, replay, withJsonForms } from '../support/replay.js';

// The bulk workflow's counterpart of replay.test.ts: real bulks through every control path, their
// histories replayed against the bundled code. With RECORD_HISTORIES=1 they are also written as
// fixtures, so a change to workflows/bulk-send.ts that would break running bulks on deploy fails
// test/unit/replay-fixtures.test.ts until it is guarded with patched().
const fixturesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const record = process.env.RECORD_HISTORIES === '1';
// The shape these tests record: two batches in flight (patch `bulk-two-batches-in-flight`). The
// committed `bulk-*` fixtures without this prefix are the one-batch-at-a-time shape, kept so that
// bulks started before the patch still replay; RECORD_HISTORIES=1 writes `bulk-2-*` beside them.
const shape = 'bulk-2-';

// Batches of 10 at a quota of 100/s: a bulk of 20 is two batches, and one run (the default
// BULK_BATCHES_PER_RUN is far away). SES_MAX_ATTEMPTS 3 keeps a throttled recipient on SES for the
// batch's retry instead of failing over to SMTP at once.
let h: Harness;
// Its own harness, because batchesPerRun is fixed per bulk from the config at submission: batches
// of 5, two per run, so a bulk of 30 runs three times.
let can: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SES_MAX_SEND_RATE: '100', BULK_BATCH_SIZE: '10', SES_MAX_ATTEMPTS: '3' } });
  can = await startHarness({ env: { SES_MAX_SEND_RATE: '100', BULK_BATCH_SIZE: '5', BULK_BATCHES_PER_RUN: '2' } });
});
afterAll(async () => {
  await h?.close();
  await can?.close();
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Each scheduled activity in order, with how it ended when that is not a plain first-attempt
 * completion: `sendBulkBatch (canceled)`, `sendBulkBatch (attempt 2)`.
 */
function activitySteps(history: History): string[] {
  const steps = new Map<string, { type: string; attempt: number; end: string }>();
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) steps.set(String(e.eventId), { type: scheduled.activityType?.name ?? '?', attempt: 1, end: 'open' });
    const started = e.activityTaskStartedEventAttributes;
    if (started) steps.get(String(started.scheduledEventId))!.attempt = started.attempt ?? 1;
    const ends = {
      completed: e.activityTaskCompletedEventAttributes,
      failed: e.activityTaskFailedEventAttributes,
      canceled: e.activityTaskCanceledEventAttributes,
      'timed out': e.activityTaskTimedOutEventAttributes,
    };
    for (const [end, attrs] of Object.entries(ends)) if (attrs) steps.get(String(attrs.scheduledEventId))!.end = end;
  }
  return [...steps.values()].map(
    (s) => s.type + (s.end !== 'completed' ? ` (${s.end})` : s.attempt > 1 ? ` (attempt ${s.attempt})` : ''),
  );
}

const lastEvent = (history: History) => history.events?.[history.events.length - 1];
const histories = new Map<string, History>();

function keep(kind: string, history: History) {
  const name = `${shape}${kind}`;
  histories.set(name, history);
  if (record) {
    mkdirSync(fixturesDir, { recursive: true });
    writeFileSync(`${fixturesDir}${name}.json`, `${historyToJson(history)}\n`);
  }
}

const fetchHistory = (harness: Harness, bulkId: string, runId?: string) =>
  harness.client.workflow.getHandle(bulkWorkflowId(bulkId), runId).fetchHistory();

describe('bulk workflow determinism', () => {
  it('records a complete history for a bulk that completes', async () => {
    const res = await postBulk(h, bulkBody(20, 'rc', { rate_per_second: 100 }));
    expect(res.status).toBe(202);
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'completed', total: 20, sent: 20 });
    const history = await fetchHistory(h, res.body.id);
    expect(activitySteps(history)).toEqual([
      'startBulk',
      'setBulkStatus',
      'sendBulkBatch',
      'sendBulkBatch',
      'finishBulk',
    ]);
    keep('completed', history);
  });

  it('records a complete history for a bulk paused mid-batch and resumed by signals', async () => {
    const before = h.ses.messages.length;
    // 5/s makes the first batch of 10 last two seconds, so the pause lands inside it and
    // interrupts it (the heartbeat throttle is 500 ms) rather than falling between batches.
    const res = await postBulk(h, bulkBody(20, 'rp', { rate_per_second: 5 }));
    const handle = h.client.workflow.getHandle(bulkWorkflowId(res.body.id));
    await h.ses.waitForMessages(before + 2);
    await handle.signal(pauseSignal);
    // 'paused' is written only after the interrupted batches have settled.
    await expect.poll(async () => (await getBulk(h, res.body.id)).status, { timeout: 10_000 }).toBe('paused');
    await handle.signal(resumeSignal);
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'completed', sent: 20, pending: 0 });
    expect(exactlyOnce(h.ses.messages, 'rp', range(20))).toEqual([]);

    const history = await fetchHistory(h, res.body.id);
    expect(activitySteps(history)).toEqual([
      'startBulk',
      'setBulkStatus',
      // Both batches in flight are interrupted: the second was waiting for its first send slot.
      'sendBulkBatch (canceled)',
      'sendBulkBatch (canceled)',
      'setBulkStatus',
      'setBulkStatus',
      'sendBulkBatch',
      'sendBulkBatch',
      'finishBulk',
    ]);
    keep('paused-resumed', history);
  });

  it('records a complete history for a bulk cancelled mid-batch through the API', async () => {
    const before = h.ses.messages.length;
    // Slow for the same reason as the pause: the cancel must interrupt a batch in flight.
    const res = await postBulk(h, bulkBody(20, 'rx', { rate_per_second: 5 }));
    await h.ses.waitForMessages(before + 2);
    // The API's cancel is a workflow update, so this history holds update events, not a signal.
    const cancelled = await bulkAction(h, res.body.id, '/cancel');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.phase).toBe('cancelling');
    const result = await bulkResult(h, res.body.id);
    expect(result.status).toBe('cancelled');
    expect(result.sent).toBeGreaterThanOrEqual(2);
    expect(result).toMatchObject({ total: 20, failed: 0, pending: 0, cancelled: 20 - result.sent });

    const history = await fetchHistory(h, res.body.id);
    expect(activitySteps(history)).toEqual([
      'startBulk',
      'setBulkStatus',
      'sendBulkBatch (canceled)',
      'sendBulkBatch (canceled)',
      'finishBulk',
    ]);
    expect(history.events?.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toBe(true);
    keep('cancelled', history);
  });

  it('records the first and the final run of a bulk that continues as new', async () => {
    const res = await postBulk(can, bulkBody(30, 'rn', { rate_per_second: 100 }));
    expect(await bulkResult(can, res.body.id)).toMatchObject({ status: 'completed', total: 30, sent: 30 });
    const handle = can.client.workflow.getHandle(bulkWorkflowId(res.body.id));
    // Six batches at two per run: runs 0, 1 and 2.
    expect((await handle.query(progressQuery)).run).toBe(2);
    const description = await handle.describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId ?? undefined;
    expect(firstRunId).toBeDefined();
    expect(description.runId).not.toBe(firstRunId);

    const first = await fetchHistory(can, res.body.id, firstRunId);
    expect(activitySteps(first)).toEqual(['startBulk', 'setBulkStatus', 'sendBulkBatch', 'sendBulkBatch']);
    expect(lastEvent(first)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    keep('continued-as-new-first-run', first);

    // A later run starts from the carried cursor and rate: no startBulk, and it is the one that finishes.
    const final = await fetchHistory(can, res.body.id, description.runId);
    expect(activitySteps(final)).toEqual(['setBulkStatus', 'sendBulkBatch', 'sendBulkBatch', 'finishBulk']);
    expect(final.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId).toBeTruthy();
    expect(lastEvent(final)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    keep('continued-as-new-final-run', final);
  });

  it('records a complete history for a bulk whose batch is deferred by SES throttling and retried', async () => {
    // The first two sends are throttled: the batch sends the rest, then fails with BatchDeferred
    // and Temporal retries it, which sends only the two left pending.
    h.ses.failNext('throttle', 'throttle');
    const res = await postBulk(h, bulkBody(20, 'rd', { rate_per_second: 100 }));
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'completed', sent: 20, failed: 0 });
    expect(exactlyOnce(h.ses.messages, 'rd', range(20))).toEqual([]);

    const history = await fetchHistory(h, res.body.id);
    expect(activitySteps(history)).toEqual([
      'startBulk',
      'setBulkStatus',
      'sendBulkBatch (attempt 2)',
      'sendBulkBatch',
      'finishBulk',
    ]);
    const retried = history.events?.find((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried?.activityTaskStartedEventAttributes?.lastFailure?.applicationFailureInfo?.type).toBe(
      'BatchDeferred',
    );
    keep('deferred-retry', history);
  });

  it('replays every recorded bulk history, and its JSON form, against the bundled workflow code', async () => {
    expect([...histories.keys()].sort()).toEqual(
      [
        'cancelled',
        'completed',
        'continued-as-new-final-run',
        'continued-as-new-first-run',
        'deferred-retry',
        'paused-resumed',
      ].map((kind) => `${shape}${kind}`),
    );
    // Every history of this shape carries the patch marker; the committed one-at-a-time ones do not.
    for (const [name, history] of histories)
      expect(
        history.events?.some(
          (e) =>
            e.markerRecordedEventAttributes?.markerName === 'core_patch' ||
            JSON.stringify(e.markerRecordedEventAttributes ?? {}).includes('bulk-two-batches-in-flight'),
        ),
        name,
      ).toBe(true);
    const inputs = withJsonForms(histories);
    expect(await replay({ workflowBundle: { codePath: inject('workflowBundlePath') } }, inputs)).toEqual(
      allReplayed(inputs),
    );
  });
});
