// What an operator does to running bulks: cancel with the real `temporal` CLI, pause and resume
// across continue-as-new.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { bulkWorkflowId, pauseSignal, progressQuery, resumeSignal } from '../../workflows/contracts.js';
import { bulkBody, bulkResult, exactlyOnce, getBulk, postBulk } from '../support/bulk.js';
import { startHarness, type Harness } from '../support/harness.js';

const run = promisify(execFile);
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SES_MAX_SEND_RATE: '40', BULK_BATCH_SIZE: '10', BULK_BATCHES_PER_RUN: '3' } });
});
afterAll(() => h?.close());

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const deliveredTo = (tag: string) => h.ses.messages.filter((m) => m.destination[0]!.startsWith(`${tag}-`));

describe('operating bulks', () => {
  it('cancels mid-way with `temporal workflow signal --name cancel`: no send after it settles, the rest cancelled', async () => {
    const res = await postBulk(h, bulkBody(200, 'cx'));
    await h.ses.waitForMessages(h.ses.messages.length + 20);
    await run(inject('temporalCliPath'), [
      'workflow',
      'signal',
      '--address',
      inject('temporalAddress'),
      '--workflow-id',
      bulkWorkflowId(res.body.id),
      '--name',
      'cancel',
    ]);
    const result = await bulkResult(h, res.body.id);
    expect(result.status).toBe('cancelled');
    const delivered = deliveredTo('cx');
    expect(result.sent).toBe(delivered.length);
    expect(result.sent).toBeGreaterThanOrEqual(20);
    expect(result.sent).toBeLessThan(200);
    expect(result).toMatchObject({ total: 200, failed: 0, pending: 0, cancelled: 200 - result.sent });
    const sentIdx = delivered.map((m) => Number(/cx-(\d+)@/.exec(m.destination[0]!)![1]));
    expect(exactlyOnce(h.ses.messages, 'cx', sentIdx)).toEqual([]);

    const status = await getBulk(h, res.body.id);
    expect(status).toMatchObject({ status: 'cancelled', sent: result.sent, cancelled: 200 - result.sent, pending: 0 });
    // Every batch settled before the workflow ended, so nothing is left to send later.
    expect(deliveredTo('cx')).toHaveLength(result.sent);
  });

  it('continues as new with small histories, and pause/resume signals keep working across runs', async () => {
    const res = await postBulk(h, bulkBody(150, 'can'));
    const handle = h.client.workflow.getHandle(bulkWorkflowId(res.body.id));
    await expect
      .poll(async () => (await handle.query(progressQuery)).run, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(1);
    const description = await handle.describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);

    await handle.signal(pauseSignal);
    await expect.poll(async () => (await getBulk(h, res.body.id)).status, { timeout: 10_000 }).toBe('paused');
    const atPause = deliveredTo('can').length;
    expect(atPause).toBeLessThan(150);
    await handle.signal(resumeSignal);

    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', sent: 150, failed: 0, cancelled: 0, pending: 0 });
    expect(exactlyOnce(h.ses.messages, 'can', range(150))).toEqual([]);
    const final = await h.client.workflow.getHandle(bulkWorkflowId(res.body.id)).query(progressQuery);
    expect(final.run).toBeGreaterThanOrEqual(3);
    const history = await h.client.workflow.getHandle(bulkWorkflowId(res.body.id)).fetchHistory();
    expect(history.events?.length).toBeLessThan(200);
  });
});
