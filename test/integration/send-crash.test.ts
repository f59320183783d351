// A worker process killed with SIGKILL while SES has a single send's request: the send's first
// attempt runs as a local activity inside the workflow task, so the restarted worker runs it again.
// The ledger's `pending` row tells it the call may have gone out: held as unknown, never resent.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, validEmail, type Harness } from '../support/harness.js';
import { spawnWorker } from '../support/worker-process.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(() => h?.close());

it('holds a single send as unknown, with no second copy, when the worker dies while SES has its request', async () => {
  const first = spawnWorker(h.workerEnv());
  await first.ready;
  h.ses.hold();
  const res = await h.send(validEmail({ subject: 'killed mid-call' }));
  expect(res.status).toBe(202);
  await h.ses.waitForHeld(1);
  await first.kill('SIGKILL');
  h.ses.release();

  const second = spawnWorker(h.workerEnv());
  try {
    await second.ready;
    expect(await h.result(res.body.id)).toMatchObject({ status: 'unknown' });
    // Nothing was sent again, through either provider (the held request died with its caller).
    const copies = [...h.ses.messages, ...h.smtp.mails].filter((m) => m.raw.includes('killed mid-call'));
    expect(copies).toHaveLength(0);
    const status = await h.status(res.body.id);
    expect(status.status).toBe('unknown');
    expect(status.attempts).toEqual([expect.objectContaining({ provider: 'ses', outcome: 'unknown' })]);
  } finally {
    await second.kill('SIGTERM');
  }
});
