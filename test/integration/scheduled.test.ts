import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkAction, bulkBody, bulkResult, getBulk, postBulk } from '../support/bulk.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const copiesTo = (address: string) => h.ses.messages.filter((m) => m.destination.includes(address));
const call = async (method: string, path: string, body?: unknown) => {
  const res = await h.app.request(path, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
/** Resolves once the wall clock has passed `iso`: what a deadline test is about. */
const until = (iso: string) => new Promise((r) => setTimeout(r, Math.max(0, Date.parse(iso) - Date.now() + 50)));

describe('scheduled sends', () => {
  it('waits as `scheduled` and goes out no earlier than scheduled_at', async () => {
    const body = validEmail({ scheduled_at: inMs(3_000) });
    const res = await h.send(body);
    expect(res).toMatchObject({ status: 202, body: { status: 'scheduled' } });
    await expect.poll(async () => (await h.status(res.body.id)).status).toBe('scheduled');
    expect((await h.status(res.body.id)).scheduled_at).toBe(new Date(body.scheduled_at).toISOString());
    expect(copiesTo(body.to)).toHaveLength(0);

    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    const [copy] = copiesTo(body.to);
    expect(copy!.at).toBeGreaterThanOrEqual(Date.parse(body.scheduled_at));
    expect((await h.status(res.body.id)).status).toBe('sent');
  });

  it('never sends one cancelled before its time, and refuses a second cancel', async () => {
    const body = validEmail({ scheduled_at: inMs(60_000) });
    const res = await h.send(body);
    const cancel = await call('POST', `/v1/emails/${res.body.id}/cancel`);
    expect(cancel).toMatchObject({ status: 200, body: { id: res.body.id, status: 'cancelled' } });
    // Answered once recorded: the row says so at once.
    expect((await h.status(res.body.id)).status).toBe('cancelled');
    expect(await h.result(res.body.id)).toMatchObject({ status: 'cancelled' });
    expect(copiesTo(body.to)).toHaveLength(0);
    expect(h.smtp.mails.filter((m) => m.to.includes(body.to))).toHaveLength(0);

    const again = await call('POST', `/v1/emails/${res.body.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'send_started', field: 'id' });
  });

  it('moves the time with PATCH, answered with the new time, and sends then', async () => {
    const body = validEmail({ scheduled_at: inMs(3_600_000) });
    const res = await h.send(body);
    const newTime = inMs(2_000);
    const patched = await call('PATCH', `/v1/emails/${res.body.id}`, { scheduled_at: newTime });
    expect(patched).toMatchObject({ status: 200, body: { status: 'scheduled', scheduled_at: newTime } });
    expect((await h.status(res.body.id)).scheduled_at).toBe(newTime);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent' });
    expect(copiesTo(body.to)[0]!.at).toBeGreaterThanOrEqual(Date.parse(newTime));

    // Once sent, there is nothing to move or cancel.
    expect((await call('PATCH', `/v1/emails/${res.body.id}`, { scheduled_at: inMs(5_000) })).status).toBe(409);
    expect((await call('POST', `/v1/emails/${res.body.id}/cancel`)).status).toBe(409);
  });

  it('sends at once when rescheduled to a time already past, after answering the reschedule', async () => {
    const body = validEmail({ scheduled_at: inMs(3_600_000) });
    const res = await h.send(body);
    const past = inMs(-1_000);
    expect(await call('PATCH', `/v1/emails/${res.body.id}`, { scheduled_at: past })).toMatchObject({
      status: 200,
      body: { scheduled_at: past },
    });
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent' });
    expect(copiesTo(body.to)).toHaveLength(1);
  });

  it('refuses a reschedule past not_after, or without a zone, naming scheduled_at', async () => {
    const res = await h.send(validEmail({ scheduled_at: inMs(60_000), not_after: inMs(120_000) }));
    const late = await call('PATCH', `/v1/emails/${res.body.id}`, { scheduled_at: inMs(180_000) });
    expect(late.status).toBe(400);
    expect(late.body.error).toMatchObject({ field: 'scheduled_at' });
    const zoneless = await call('PATCH', `/v1/emails/${res.body.id}`, { scheduled_at: '2030-01-01T10:00:00' });
    expect(zoneless.body.error).toMatchObject({ code: 'validation_error', field: 'scheduled_at' });
    await call('POST', `/v1/emails/${res.body.id}/cancel`);
  });

  it('either cancels or reschedules, or sends, when the update meets the timer: never both', async () => {
    // Staggered around the moment each timer fires, so some updates win and some lose; even ones
    // cancel, odd ones move the send an hour on.
    const sends = await Promise.all(Array.from({ length: 8 }, () => h.send(validEmail({ scheduled_at: inMs(1_500) }))));
    const answers = await Promise.all(
      sends.map(async (s, i) => {
        await until(inMs(1_200 + i * 90));
        return i % 2 === 0
          ? call('POST', `/v1/emails/${s.body.id}/cancel`)
          : call('PATCH', `/v1/emails/${s.body.id}`, { scheduled_at: inMs(3_600_000) });
      }),
    );
    for (const [i, s] of sends.entries()) {
      const to = (await h.status(s.body.id)).to[0] as string;
      if (answers[i]!.status !== 200) {
        expect(answers[i]!.status).toBe(409);
        expect(await h.result(s.body.id)).toMatchObject({ status: 'sent' });
        expect(copiesTo(to)).toHaveLength(1);
      } else if (i % 2 === 0) {
        expect(await h.result(s.body.id)).toMatchObject({ status: 'cancelled' });
        expect(copiesTo(to)).toHaveLength(0);
      } else {
        // Moved: still waiting, nothing sent; cancelled here so that nothing is left running.
        expect(await h.status(s.body.id)).toMatchObject({ status: 'scheduled' });
        expect((await call('POST', `/v1/emails/${s.body.id}/cancel`)).status).toBe(200);
        expect(copiesTo(to)).toHaveLength(0);
      }
    }
  });

  it('keeps its time across a worker restart, and expires unsent when no worker runs past not_after', async () => {
    const kept = validEmail({ scheduled_at: inMs(2_000) });
    const late = validEmail({ scheduled_at: inMs(1_000), not_after: inMs(2_000) });
    const [keptRes, lateRes] = [await h.send(kept), await h.send(late)];
    await expect.poll(async () => (await h.status(lateRes.body.id)).status).toBe('scheduled');
    await h.stopWorkers();
    await until(late.not_after);
    await until(kept.scheduled_at);
    await h.startWorker();

    expect(await h.result(lateRes.body.id)).toMatchObject({ status: 'expired' });
    expect(await h.status(lateRes.body.id)).toMatchObject({
      status: 'expired',
      last_error: expect.stringContaining('not_after'),
    });
    expect(copiesTo(late.to)).toHaveLength(0);
    expect(await h.result(keptRes.body.id)).toMatchObject({ status: 'sent' });
    expect(copiesTo(kept.to)).toHaveLength(1);
  });

  it('lists scheduled and cancelled sends by status', async () => {
    const res = await h.send(validEmail({ scheduled_at: inMs(60_000) }));
    await expect.poll(async () => (await h.status(res.body.id)).status).toBe('scheduled');
    const listed = async (status: string) =>
      (await call('GET', `/v1/emails?status=${status}&limit=100`)).body.data.map((e: any) => e.id);
    expect(await listed('scheduled')).toContain(res.body.id);
    await call('POST', `/v1/emails/${res.body.id}/cancel`);
    expect(await listed('cancelled')).toContain(res.body.id);
  });
});

describe('scheduled bulks', () => {
  const tagged = (tag: string) => h.ses.messages.filter((m) => m.destination.some((d) => d.startsWith(`${tag}-`)));

  it('waits as `scheduled`, then sends every copy no earlier than scheduled_at', async () => {
    const tag = `sched-${randomUUID().slice(0, 8)}`;
    const scheduledAt = inMs(2_500);
    const res = await postBulk(h, bulkBody(3, tag, { scheduled_at: scheduledAt }));
    expect(res).toMatchObject({ status: 202, body: { status: 'scheduled' } });
    await expect.poll(async () => (await getBulk(h, res.body.id)).status).toBe('scheduled');
    expect(tagged(tag)).toHaveLength(0);
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'completed', sent: 3 });
    for (const copy of tagged(tag)) expect(copy.at).toBeGreaterThanOrEqual(Date.parse(scheduledAt));
  });

  it('cancels before its time with nothing sent', async () => {
    const tag = `sched-${randomUUID().slice(0, 8)}`;
    const res = await postBulk(h, bulkBody(3, tag, { scheduled_at: inMs(60_000) }));
    await expect.poll(async () => (await getBulk(h, res.body.id)).status).toBe('scheduled');
    expect((await bulkAction(h, res.body.id, '/cancel')).status).toBe(200);
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'cancelled', cancelled: 3, sent: 0 });
    expect(tagged(tag)).toHaveLength(0);
  });

  it('expires unsent when it is still paused at not_after', async () => {
    const tag = `sched-${randomUUID().slice(0, 8)}`;
    const notAfter = inMs(2_000);
    const res = await postBulk(h, bulkBody(3, tag, { scheduled_at: inMs(1_000), not_after: notAfter }));
    expect((await bulkAction(h, res.body.id, '/pause')).status).toBe(200);
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'expired', cancelled: 3, sent: 0 });
    expect(await getBulk(h, res.body.id)).toMatchObject({
      status: 'expired',
      status_reason: expect.stringContaining('not_after'),
    });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(notAfter));
    expect(tagged(tag)).toHaveLength(0);
  });
});
