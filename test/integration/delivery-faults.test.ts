// Our own infrastructure failing under a send (Postgres, S3, a slow or silent SES), injected with
// a real fault proxy (Toxiproxy) between the worker and each dependency. What is asserted is what
// an operator would check: the recorded outcome against the copies the providers actually got.
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { bulkRecipients } from '../../db/schema.js';
import { bulkWorkflowId, emailWorkflowId } from '../../workflows/contracts.js';
import { bulkBody, bulkResult, copiesByAddress, postBulk } from '../support/bulk.js';
import { startFaults, type Faults } from '../support/faults.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

let faults: Faults;
let h: Harness;
/** Straight to Postgres, not through the proxy: the test reads while the worker's database is cut. */
let direct: DbHandle;

beforeAll(async () => {
  faults = await startFaults();
  // SES answers slower than the old 5 s heartbeat timeout must not look like a dead worker.
  h = await startHarness({
    proxy: faults.proxy,
    env: { SES_TIMEOUT_MS: '10000', SES_MAX_SEND_RATE: '200', BULK_BATCH_SIZE: '20' },
  });
  direct = await createDb({ url: inject('databaseUrl'), maxConnections: 2 });
});
afterEach(async () => {
  h.ses.release();
  await faults.healAll();
});
afterAll(async () => {
  await h?.close();
  await direct?.close();
  await faults?.close();
});

const copiesTo = (address: string) =>
  h.ses.messages.filter((m) => m.destination.includes(address)).length +
  h.smtp.mails.filter((m) => m.to.includes(address)).length;

describe('single sends under infrastructure faults', () => {
  it('records sent, with one copy and no failover, when Postgres drops right after SES accepted', async () => {
    const to = 'pg-after-accept@example.com';
    h.ses.hold();
    const res = await h.send(validEmail({ to }));
    expect(res.status).toBe(202);
    await h.ses.waitForHeld(1);
    await faults.postgres.cut();
    h.ses.release();
    await h.ses.waitForMessages(h.ses.messages.filter((m) => m.destination.includes(to)).length + 1);
    // The database stays away while the worker tries to record what SES said.
    await new Promise((r) => setTimeout(r, 1_500));
    await faults.postgres.restore();

    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(copiesTo(to)).toBe(1);
    const status = await h.status(res.body.id);
    expect(status).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(status.attempts.map((a: { provider: string; outcome: string }) => `${a.provider}:${a.outcome}`)).toEqual([
      'ses:sent',
    ]);
  });

  it('holds a send as unknown, resending nothing, when SES took the request and the answer was reset', async () => {
    const to = 'reset-after-send@example.com';
    await faults.ses.resetPeer(0, { stream: 'downstream' });
    const res = await h.send(validEmail({ to }));
    const result = await h.result(res.body.id);
    await faults.ses.heal();

    expect(result.status).toBe('unknown');
    // SES did get it: the outcome says "may have been delivered", and no second copy went anywhere.
    expect(copiesTo(to)).toBe(1);
    const status = await h.status(res.body.id);
    expect(status.status).toBe('unknown');
    expect(status.last_error).toMatch(/may have been delivered/);
    expect(status.attempts).toHaveLength(1);
    expect(status.attempts[0]).toMatchObject({ provider: 'ses', outcome: 'unknown' });
    const found = await h.client.workflow.count(
      `WorkflowId = "${emailWorkflowId(res.body.id)}" AND MailStatus = "unknown"`,
    );
    expect(found.count).toBe(1);
  });
});

describe('bulk sends under infrastructure faults', () => {
  it('delivers every recipient exactly once, and no process exits, when Postgres is cut twice mid-bulk', async () => {
    const n = 300;
    const res = await postBulk(h, bulkBody(n, 'pgcut', { rate_per_second: 200 }));
    expect(res.status).toBe(202);
    const before = h.ses.messages.length;
    for (const at of [60, 180]) {
      await h.ses.waitForMessages(before + at);
      await faults.postgres.outage(2_000);
    }
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: n, sent: n, failed: 0, pending: 0 });
    const copies = copiesByAddress([...h.ses.messages], 'pgcut');
    expect(copies.size).toBe(n);
    const extra = [...copies.values()].filter((c) => c > 1).length;
    // A duplicate may only come from a call whose answer was lost, and then it is counted.
    expect(extra).toBeLessThanOrEqual(result.possible_duplicates ?? 0);
  });

  it('records each buffered outcome as its provider answered when Postgres is cut while outcomes wait for their write', async () => {
    // Outcomes are written in groups (activities/bulk-outcomes.ts). The cut lands while answers,
    // accepted and rejected ones mixed, are buffered or in a write: each must still land on its own
    // row, with its own SES message id, before the batch completes, and none may be lost (a lost
    // one stays `sending`, is counted unknown and sent a second time).
    const n = 120;
    const before = h.ses.messages.length;
    const res = await postBulk(h, bulkBody(n, 'flush', { rate_per_second: 200 }));
    expect(res.status).toBe(202);
    await h.ses.waitForMessages(before + 40);
    h.ses.failNext('reject', 'reject', 'reject');
    await faults.postgres.outage(1_500);
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: n, sent: n - 3, failed: 3, pending: 0 });
    expect(result.possible_duplicates ?? 0).toBe(0);

    const sesIds = new Map(
      h.ses.messages.filter((m) => m.destination[0]?.startsWith('flush-')).map((m) => [m.destination[0], m.messageId]),
    );
    expect([...copiesByAddress(h.ses.messages, 'flush').values()]).toEqual(Array(n - 3).fill(1));
    const rows = await direct.db.select().from(bulkRecipients).where(eq(bulkRecipients.bulkId, res.body.id));
    expect(rows).toHaveLength(n);
    for (const row of rows) {
      expect(row.unknownOutcomes, row.email).toBe(0);
      expect(row.attempts, row.email).toBe(1);
      if (row.status === 'sent') {
        expect(row.provider, row.email).toBe('ses');
        expect(row.providerMessageId, row.email).toBe(sesIds.get(row.email));
        expect(row.error, row.email).toBeNull();
      } else {
        expect(row.status, row.email).toBe('failed');
        expect(sesIds.has(row.email), row.email).toBe(false);
        expect(row.error, row.email).toMatch(/^SES /);
      }
    }
  });

  it('sends each recipient once when SES answers slower than the old heartbeat timeout', async () => {
    await faults.ses.latency(6_000, { stream: 'downstream' });
    const res = await postBulk(h, bulkBody(30, 'slow', { rate_per_second: 200 }));
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', sent: 30, failed: 0 });
    expect([...copiesByAddress(h.ses.messages, 'slow').values()]).toEqual(Array(30).fill(1));
    expect(result.possible_duplicates).toBe(0);
  });

  it('resends a recipient whose SES answer was reset after the request went out once, counts it, and holds it after a second', async () => {
    // Every SES answer is reset until SES has taken 5 of these requests: the requests reached SES,
    // the worker cannot know it. (On every connection, kept-alive ones included.)
    await faults.ses.resetPeer(0, { stream: 'downstream' });
    const before = h.ses.messages.length;
    const res = await postBulk(h, bulkBody(20, 'rst', { rate_per_second: 200 }));
    await h.ses.waitForMessages(before + 5);
    await faults.ses.heal();
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', failed: 0, pending: 0 });
    expect(result.sent + (result.unknown ?? 0)).toBe(20);
    const copies = [...copiesByAddress(h.ses.messages, 'rst').values()];
    expect(copies).toHaveLength(20);
    // SES took every reset request: two copies at most, and each second copy is accounted for.
    expect(Math.max(...copies)).toBeLessThanOrEqual(2);
    const twice = copies.filter((c) => c === 2).length;
    expect(twice).toBeGreaterThan(0);
    expect(twice).toBe((result.possible_duplicates ?? 0) + (result.unknown ?? 0));
  });
});

describe('bulk sends while S3 is down', () => {
  let f2: Faults;
  let h2: Harness;
  beforeAll(async () => {
    f2 = await startFaults();
    // No worker yet: the bulk is stored, then S3 goes away before any batch can load attachments.
    h2 = await startHarness({
      proxy: f2.proxy,
      worker: false,
      env: { SES_MAX_SEND_RATE: '200', BULK_BATCH_SIZE: '20' },
    });
  });
  afterAll(async () => {
    await h2?.close();
    await f2?.close();
  });

  it('spends no recipient attempt while S3 is down at the start of a batch, then sends each once', async () => {
    const attachment = { filename: 'a.txt', content: Buffer.from('attached').toString('base64') };
    const res = await postBulk(h2, bulkBody(40, 's3cut', { rate_per_second: 200, attachments: [attachment] }));
    expect(res.status).toBe(202);
    await f2.s3.cut();
    await h2.startWorker();
    const handle = h2.client.workflow.getHandle(bulkWorkflowId(res.body.id));
    await expect
      .poll(
        async () => Math.max(0, ...((await handle.describe()).raw.pendingActivities ?? []).map((a) => a.attempt ?? 0)),
        {
          timeout: 30_000,
          interval: 100,
        },
      )
      .toBeGreaterThanOrEqual(3);
    expect(copiesByAddress(h2.ses.messages, 's3cut').size).toBe(0);
    await f2.s3.restore();

    const result = await bulkResult(h2, res.body.id);
    expect(result).toMatchObject({ status: 'completed', sent: 40 });
    expect([...copiesByAddress(h2.ses.messages, 's3cut').values()]).toEqual(Array(40).fill(1));
    const rows = await direct.db
      .select({ attempts: bulkRecipients.attempts })
      .from(bulkRecipients)
      .where(eq(bulkRecipients.bulkId, res.body.id));
    expect(new Set(rows.map((r) => r.attempts))).toEqual(new Set([1]));
  });
});
