// The SES quota holds across workers: the bulk queue's rate limit is enforced by the Temporal
// server, so a second worker process adds capacity, not speed past the quota.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { providerEndpoints } from '../../config/config.js';
import { readCircuits } from '../../db/circuits.js';
import { sendPace } from '../../db/schema.js';
import { bulkBody, bulkResult, copiesByAddress, postBulk } from '../support/bulk.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';
import { spawnWorker } from '../support/worker-process.js';

let h: Harness;
beforeAll(async () => {
  // One batch is one second of the quota: the queue admits one batch a second, whoever polls.
  h = await startHarness({ env: { SES_MAX_SEND_RATE: '40', BULK_BATCH_SIZE: '40', CIRCUIT_FAILURES: '5' } });
});
afterAll(() => h?.close());

it('keeps two bulks on two workers at the configured aggregate rate', async () => {
  const second = spawnWorker(h.workerEnv());
  try {
    await second.ready;
    const before = h.ses.messages.length;
    // Each bulk alone may go at the full 40/s; together they must share it.
    const [a, b] = await Promise.all([postBulk(h, bulkBody(160, 'wa')), postBulk(h, bulkBody(160, 'wb'))]);
    await Promise.all([bulkResult(h, a.body.id), bulkResult(h, b.body.id)]);
    const times = h.ses.messages.slice(before).map((m) => m.at);
    expect(times).toHaveLength(320);
    const rate = 319 / ((Math.max(...times) - Math.min(...times)) / 1000);
    // Loose on purpose; the benchmark measures the precise figure. Unlimited, this is ~65/s.
    expect(rate).toBeLessThan(40 * 1.3);
  } finally {
    await second.kill('SIGTERM');
  }
});

it('sends single sends first, within one SES quota, while a bulk uses all of it: SES throttles nothing', async () => {
  h.ses.maxSendRate = 40;
  h.ses.enforceRate();
  const bulk = await postBulk(h, bulkBody(200, 'quota'));
  await h.ses.waitForMessages(h.ses.messages.length + 40);
  const singles = await Promise.all(
    Array.from({ length: 60 }, (_, i) => h.send(validEmail({ subject: `password reset ${i}` }))),
  );
  const outcomes = await Promise.all(singles.map((r) => h.result(r.body.id as string)));
  expect(outcomes.map((o) => o.status)).toEqual(Array(60).fill('sent'));
  expect(await bulkResult(h, bulk.body.id)).toMatchObject({ status: 'completed', sent: 200 });

  expect(h.ses.throttled).toBe(0);
  const copies = (needle: string) => h.ses.messages.filter((m) => m.raw.includes(needle)).map((m) => m.at);
  const singleTimes = copies('password reset');
  expect(singleTimes).toHaveLength(60);
  // The bulk yielded: every single send went out while bulk copies were still waiting.
  expect(Math.max(...singleTimes)).toBeLessThan(Math.max(...copies('quota-')));
});

it('slows the shared pace when SES throttles, instead of failing over: every copy still goes through SES', async () => {
  // SES allows a quarter of what Mailroom was told (a quota lowered, another sender on the account).
  h.ses.maxSendRate = 10;
  h.ses.enforceRate();
  const throttledBefore = h.ses.throttled;
  const bulk = await postBulk(h, bulkBody(150, 'slowed'));
  expect(await bulkResult(h, bulk.body.id)).toMatchObject({ status: 'completed', sent: 150, failed: 0 });
  expect(copiesByAddress(h.ses.messages, 'slowed').size).toBe(150);
  expect(h.smtp.mails.filter((m) => m.to.some((to) => to.startsWith('slowed-')))).toHaveLength(0);
  // At the configured 40/s, SES would throttle about three of every four requests until the bulk ended.
  expect(h.ses.throttled - throttledBefore).toBeLessThan(60);
  const [pace] = await h.db
    .select()
    .from(sendPace)
    .where(eq(sendPace.account, providerEndpoints(h.config).ses));
  expect(pace!.factor).toBeLessThan(1);
  const [circuit] = await readCircuits(h.db, providerEndpoints(h.config));
  expect(circuit?.state ?? 'closed').toBe('closed');
});
