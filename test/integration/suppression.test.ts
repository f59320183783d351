import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { emailWorkflowId } from '../../workflows/contracts.js';
import { bulkAction, bulkResult, getBulk, postBulk } from '../support/bulk.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ sns: true, env: { SES_MAX_SEND_RATE: '2000' } });
});
afterAll(() => h?.close());

const label = () => randomUUID().slice(0, 8);

async function api(method: string, path: string, body?: unknown, key = API_KEY) {
  const res = await h.app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, any>) };
}

const suppress = (email: string, key = API_KEY) => api('POST', '/v1/suppressions', { email }, key);

describe('suppression', () => {
  it('ends the next send to a bounced address `suppressed` without any provider request', async () => {
    const to = `bounce+${label()}@simulator.amazonses.com`;
    const before = h.ses.notifications.length;
    const first = await h.send(validEmail({ to }));
    await h.result(first.body.id);
    await h.ses.waitForNotifications(before + 2);
    expect((await h.status(first.body.id)).status).toBe('bounced');

    const requests = h.ses.requests;
    const smtpMails = h.smtp.mails.length;
    const next = await h.send(validEmail({ to }));
    const result = await h.result(next.body.id);
    expect(result.status).toBe('suppressed');
    expect(h.ses.requests).toBe(requests);
    expect(h.smtp.mails.length).toBe(smtpMails);
    const email = await h.status(next.body.id);
    expect(email).toMatchObject({ status: 'suppressed', suppressed_recipients: [to], attempts: [] });
  });

  it('drops suppressed recipients of a multi-recipient send from the envelope and lists them', async () => {
    const gone = `Gone-${label()}@example.com`;
    const kept = `kept-${label()}@example.com`;
    expect((await suppress(gone)).status).toBe(201);
    const { body } = await h.send(validEmail({ to: [kept], cc: [gone] }));
    const result = await h.result(body.id);
    expect(result.status).toBe('sent');
    const delivered = h.ses.messages.find((m) => m.messageId === result.providerMessageId)!;
    expect(delivered.destination).toEqual([kept]);
    expect((await h.status(body.id)).suppressed_recipients).toEqual([gone]);
  });

  it('is per tenant: another tenant still mails the address', async () => {
    const to = `tenant-${label()}@example.com`;
    await suppress(to);
    const mine = await h.send(validEmail({ to }));
    const theirs = await h.send(validEmail({ to }), { key: (await h.newKey()).key });
    expect((await h.result(mine.body.id)).status).toBe('suppressed');
    expect((await h.result(theirs.body.id)).status).toBe('sent');
  });

  it('lists newest first with a cursor and a reason filter, adds idempotently, removes', async () => {
    const tag = label();
    const emails = [0, 1, 2].map((i) => `page-${tag}-${i}@example.com`);
    for (const e of emails) expect((await suppress(e)).status).toBe(201);
    expect(await suppress(emails[0]!)).toMatchObject({ status: 200, body: { email: emails[0], reason: 'manual' } });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api('GET', `/v1/suppressions?reason=manual&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body!.data.map((s: { email: string }) => s.email));
      cursor = page.body!.next_cursor;
    } while (cursor);
    const mine = seen.filter((e) => e.includes(tag));
    expect(mine).toEqual([...emails].reverse());
    expect(new Set(seen).size).toBe(seen.length);
    expect(
      (await api('GET', '/v1/suppressions?reason=bounce')).body!.data.every((s: any) => s.reason === 'bounce'),
    ).toBe(true);

    expect((await api('DELETE', `/v1/suppressions/${encodeURIComponent(emails[1]!)}`)).status).toBe(204);
    expect((await api('DELETE', `/v1/suppressions/${encodeURIComponent(emails[1]!)}`)).status).toBe(404);
    const again = await h.send(validEmail({ to: emails[1] }));
    expect((await h.result(again.body.id)).status).toBe('sent');
  });

  it('refuses bad input with 400 naming the field, storing nothing', async () => {
    expect((await suppress('not an address')).body!.error).toMatchObject({ code: 'validation_error', field: 'email' });
    expect(
      (await api('POST', '/v1/suppressions', { email: 'a@example.com', reason: 'bounce' })).body!.error,
    ).toMatchObject({ field: 'reason' });
    expect((await api('GET', '/v1/suppressions?reason=nope')).body!.error).toMatchObject({ field: 'reason' });
    expect((await api('GET', '/v1/suppressions?cursor=zzz')).body!.error).toMatchObject({ field: 'cursor' });
    expect(
      (await api('GET', '/v1/suppressions?limit=1000')).body!.data.some((s: any) => s.email === 'a@example.com'),
    ).toBe(false);
  });

  it('treats a suppression check that cannot run as our fault: retried, nothing sent meanwhile, never suppressed', async () => {
    const to = `check-down-${label()}@example.com`;
    const requests = h.ses.requests;
    // Only the check's table goes away: the rest of the send's database work still succeeds.
    await h.db.execute(sql`alter table suppressions rename to suppressions_away`);
    let res: Awaited<ReturnType<typeof h.send>>;
    try {
      res = await h.send(validEmail({ to }));
      const handle = h.client.workflow.getHandle(emailWorkflowId(res.body.id));
      await expect
        .poll(async () => (await handle.describe()).raw.pendingActivities?.[0]?.attempt ?? 0, { timeout: 20_000 })
        .toBeGreaterThanOrEqual(2);
      expect(h.ses.requests).toBe(requests);
      expect((await h.status(res.body.id)).status).toBe('sending');
    } finally {
      await h.db.execute(sql`alter table suppressions_away rename to suppressions`);
    }
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(h.ses.messages.filter((m) => m.destination.includes(to))).toHaveLength(1);
  });

  it('stops a running bulk mailing an address suppressed after it started', async () => {
    const tag = label();
    const recipients = [0, 1, 2].map((i) => ({ email: `mid-${tag}-${i}@example.com` }));
    // One send a second: recipient 1's turn comes a second after recipient 0's call, which the
    // stand-in holds, so the suppression below lands while the bulk is running and before that turn.
    h.ses.hold();
    const requests = h.ses.requests;
    const res = await postBulk(h, {
      from: 'news@example.com',
      subject: 'Hi',
      text: 'Hello',
      recipients,
      rate_per_second: 1,
    });
    expect(res.status).toBe(202);
    await h.ses.waitForHeld(1);
    expect((await suppress(recipients[1]!.email)).status).toBe(201);
    h.ses.release();

    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: 3, sent: 2, suppressed: 1 });
    const destinations = h.ses.requests - requests;
    expect(destinations).toBe(2);
    expect(h.ses.messages.some((m) => m.destination.includes(recipients[1]!.email))).toBe(false);
    const page = await bulkAction(h, res.body.id, '/recipients');
    expect(page.body.data.map((r: { status: string }) => r.status)).toEqual(['sent', 'suppressed', 'sent']);
    expect((await getBulk(h, res.body.id)).suppressed).toBe(1);
  });

  it('pauses a bulk whose complaint rate crosses the breaker, says why, and resumes only when told', async () => {
    const tag = label();
    // 200 deliveries fill the window; one complaint in it is 0.5% > 0.1%. The complaint is
    // recipient 200 of 400 at 100/s: the bulk has two more seconds of sends when it trips.
    const recipients = Array.from({ length: 400 }, (_, i) => ({
      email: i === 200 ? `complaint+${tag}@simulator.amazonses.com` : `brk-${tag}-${i}@example.com`,
    }));
    const res = await postBulk(h, {
      from: 'news@example.com',
      subject: 'Hi',
      text: 'Hello',
      recipients,
      rate_per_second: 100,
    });
    expect(res.status).toBe(202);
    await expect
      .poll(async () => (await getBulk(h, res.body.id)).status, { timeout: 20_000, interval: 100 })
      .toBe('paused');
    const paused = await getBulk(h, res.body.id);
    expect(paused.status_reason).toMatch(/reputation breaker: complaint rate 0\.50% \(1 of the last 200 deliveries\)/);
    expect(paused.complained).toBe(1);
    expect(paused.pending).toBeGreaterThan(0);

    expect((await bulkAction(h, res.body.id, '/resume')).status).toBe(200);
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: 400, complained: 1, sent: 399 });
    expect((await getBulk(h, res.body.id)).status_reason).toBeNull();
  });
});
