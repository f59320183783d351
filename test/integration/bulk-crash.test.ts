// A worker process killed with SIGKILL in the middle of a bulk, with sends in flight: restarted, it
// finishes the bulk with no recipient lost and none sent twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bulkBody, bulkResult, exactlyOnce, postBulk } from '../support/bulk.js';
import { startHarness, type Harness } from '../support/harness.js';
import { spawnWorker } from '../support/worker-process.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, env: { SES_MAX_SEND_RATE: '200', BULK_BATCH_SIZE: '20' } });
});
afterAll(() => h?.close());

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

it('loses and duplicates no recipient when the worker is SIGKILLed mid-bulk and restarted', async () => {
  const first = spawnWorker(h.workerEnv());
  await first.ready;
  const res = await postBulk(h, bulkBody(300, 'kill', { rate_per_second: 100 }));
  await h.ses.waitForMessages(60);
  // Kill while requests are in flight but not yet accepted by SES: those must be sent again, once.
  h.ses.hold();
  await h.ses.waitForHeld(1);
  await first.kill('SIGKILL');
  h.ses.release();
  const accepted = h.ses.messages.length;
  expect(accepted).toBeLessThan(300);

  const second = spawnWorker(h.workerEnv());
  try {
    await second.ready;
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: 300, sent: 300, failed: 0, cancelled: 0, pending: 0 });
    expect(h.ses.messages).toHaveLength(300);
    expect(exactlyOnce(h.ses.messages, 'kill', range(300))).toEqual([]);
  } finally {
    await second.kill('SIGTERM');
  }
});
