// A worker process killed with SIGKILL in the middle of a bulk, with sends in flight: restarted, it
// finishes the bulk with no recipient lost, and a second copy only where a call's answer was lost
// with the worker — counted in possible_duplicates.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bulkBody, bulkResult, copiesByAddress, postBulk } from '../support/bulk.js';
import { startHarness, type Harness } from '../support/harness.js';
import { spawnWorker } from '../support/worker-process.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false, env: { SES_MAX_SEND_RATE: '200', BULK_BATCH_SIZE: '20' } });
});
afterAll(() => h?.close());

it('loses no recipient, and counts every second copy, when the worker is SIGKILLed mid-bulk and restarted', async () => {
  const first = spawnWorker(h.workerEnv());
  await first.ready;
  const res = await postBulk(h, bulkBody(300, 'kill', { rate_per_second: 100 }));
  await h.ses.waitForMessages(60);
  // Kill while requests are in flight, unanswered: SES may or may not take them as the worker dies.
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
    const copies = copiesByAddress(h.ses.messages, 'kill');
    expect(copies.size).toBe(300);
    const extra = [...copies.values()].reduce((sum, c) => sum + c - 1, 0);
    // Only the calls in flight at the kill can have a second copy, and each one is counted.
    expect(extra).toBeLessThanOrEqual(result.possible_duplicates ?? 0);
    expect(result.possible_duplicates).toBeLessThanOrEqual(32);
  } finally {
    await second.kill('SIGTERM');
  }
});
