import { randomUUID } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerEvents } from '../../db/schema.js';
import { LocalSns, type SnsEnvelope } from '../../local/local-sns.js';
import { Webhook } from 'standardwebhooks';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ sns: true, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
});
afterAll(() => h?.close());

const sns = () => h.sns!;
const label = () => randomUUID().slice(0, 8);

/** Sends one message and waits until the simulator's notifications for it were all answered. */
async function sendAndSettle(to: string | string[], notifications: number) {
  const before = h.ses.notifications.length;
  const { body } = await h.send(validEmail({ to }));
  const result = await h.result(body.id);
  await h.ses.waitForNotifications(before + notifications);
  expect(h.ses.notifications.slice(before).map((n) => n.status)).toEqual(Array(notifications).fill(200));
  return { id: body.id as string, result };
}

const post = (envelope: SnsEnvelope | Record<string, unknown>) =>
  fetch(h.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=UTF-8' },
    body: JSON.stringify(envelope),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));

const storedEvents = async (snsMessageId: string) =>
  (await h.db.select({ n: count() }).from(providerEvents).where(eq(providerEvents.snsMessageId, snsMessageId)))[0]!.n;

async function suppressionsOf(key = API_KEY) {
  const res = await h.app.request('/v1/suppressions?limit=1000', { headers: { authorization: `Bearer ${key}` } });
  return ((await res.json()) as { data: { email: string; reason: string }[] }).data;
}

/** An SES event record for a message we sent, as SES publishes it. */
const sesEvent = (providerMessageId: string, eventType: string, extra: Record<string, unknown>) =>
  JSON.stringify({ eventType, mail: { messageId: providerMessageId, timestamp: new Date().toISOString() }, ...extra });

describe('SES events through SNS', () => {
  it('ends a send to the bounce simulator `bounced`, lists its events and suppresses the address', async () => {
    const to = `bounce+${label()}@simulator.amazonses.com`;
    const { id, result } = await sendAndSettle(to, 2);
    expect(result.status).toBe('sent');
    const email = await h.status(id);
    expect(email.status).toBe('bounced');
    expect(email.events.map((e: { type: string }) => e.type)).toEqual(['send', 'bounce']);
    expect(email.events[1]).toMatchObject({
      subtype: 'Permanent/General',
      at: expect.any(String),
      details: { recipients: [{ email: to, status: '5.1.1', action: 'failed' }] },
    });
    expect(await suppressionsOf()).toContainEqual(expect.objectContaining({ email: to, reason: 'bounce' }));
  });

  it('ends a send to the success simulator `delivered`', async () => {
    const { id } = await sendAndSettle(`success+${label()}@simulator.amazonses.com`, 2);
    const email = await h.status(id);
    expect(email.status).toBe('delivered');
    expect(email.events.map((e: { type: string }) => e.type)).toEqual(['send', 'delivery']);
    expect(email.events[1].details.smtp_response).toContain('250');
  });

  it('ends a send to the complaint simulator `complained` after its delivery, and suppresses the address', async () => {
    const to = `complaint+${label()}@simulator.amazonses.com`;
    const { id } = await sendAndSettle(to, 3);
    const email = await h.status(id);
    expect(email.status).toBe('complained');
    expect(email.events.map((e: { type: string }) => e.type)).toEqual(['send', 'delivery', 'complaint']);
    expect(await suppressionsOf()).toContainEqual(expect.objectContaining({ email: to, reason: 'complaint' }));
  });

  it('keeps every event of a send whatever their order, and a late delivery never hides a bounce', async () => {
    const { body } = await h.send(validEmail());
    const sent = await h.result(body.id);
    const pmid = sent.providerMessageId!;
    const bounce = sns().notification(
      sesEvent(pmid, 'Bounce', {
        bounce: {
          bounceType: 'Permanent',
          bounceSubType: 'General',
          bouncedRecipients: [{ emailAddress: 'x@example.com' }],
        },
      }),
      { signatureVersion: '1' },
    );
    const delivery = sns().notification(sesEvent(pmid, 'Delivery', { delivery: { recipients: ['x@example.com'] } }));
    expect((await post(bounce)).body).toEqual({ status: 'stored' });
    expect((await post(delivery)).body).toEqual({ status: 'stored' });
    const email = await h.status(body.id);
    expect(email.status).toBe('bounced');
    expect(email.events.map((e: { type: string }) => e.type).sort()).toEqual(['bounce', 'delivery']);
  });

  it('stores a replayed SNS message once', async () => {
    const { body } = await h.send(validEmail());
    const pmid = (await h.result(body.id)).providerMessageId!;
    const delivery = sns().notification(sesEvent(pmid, 'Delivery', { delivery: { recipients: ['x@example.com'] } }));
    expect(await post(delivery)).toEqual({ status: 200, body: { status: 'stored' } });
    expect(await post(delivery)).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(await storedEvents(delivery.MessageId!)).toBe(1);
    expect((await h.status(body.id)).events).toHaveLength(1);
  });

  describe('refuses with 403, storing nothing,', () => {
    const delivery = () =>
      sns().notification(sesEvent(`0100${label()}`, 'Delivery', { delivery: { recipients: ['x@example.com'] } }));

    it('a message whose signature does not match its content (forged)', async () => {
      const forged: SnsEnvelope = {
        ...delivery(),
        Message: sesEvent('0100other', 'Delivery', { delivery: { recipients: [] } }),
      };
      const res = await post(forged);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('signature') });
      expect(await storedEvents(forged.MessageId!)).toBe(0);
    });

    it('a message from a topic not in SNS_TOPIC_ARNS, even correctly signed', async () => {
      const other = sns().notification(sesEvent('0100x', 'Send', { send: {} }), {
        fields: { TopicArn: 'arn:aws:sns:us-east-1:000000000000:someone-else' },
      });
      const res = await post(other);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain('TopicArn');
      expect(await storedEvents(other.MessageId!)).toBe(0);
    });

    it('an unsigned message', async () => {
      const { Signature: _, ...unsigned } = delivery();
      const res = await post(unsigned);
      expect(res.status).toBe(403);
      expect(await storedEvents(unsigned.MessageId!)).toBe(0);
    });

    it('a message signed by a certificate that is not on an SNS host', async () => {
      const foreign = sns().notification(sesEvent('0100y', 'Send', { send: {} }), {
        fields: { SigningCertURL: 'https://evil.example.com/SimpleNotificationService-x.pem' },
      });
      const res = await post(foreign);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain('domain');
      expect(await storedEvents(foreign.MessageId!)).toBe(0);
    });
  });

  it('confirms a subscription by fetching its SubscribeURL', async () => {
    const confirmation = sns().subscriptionConfirmation();
    expect(await post(confirmation)).toEqual({ status: 200, body: { status: 'confirmed' } });
    expect(sns().confirmed).toContain(confirmation.Token);
  });

  it('answers 400 naming the field for a body that is not JSON or a signed message that is not an SES event', async () => {
    const notJson = await fetch(h.webhookUrl, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as any).error).toMatchObject({ code: 'invalid_json', field: 'body' });
    const noMail = sns().notification(JSON.stringify({ eventType: 'Bounce' }));
    const res = await post(noMail);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('Message.mail');
    expect(await storedEvents(noMail.MessageId!)).toBe(0);
  });

  it('answers 413 for a body over the limit before reading it as JSON', async () => {
    const res = await fetch(h.webhookUrl, { method: 'POST', body: 'x'.repeat(600 * 1024) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error).toMatchObject({ code: 'payload_too_large', field: 'body' });
  });

  it('is also what LocalSns.post reaches (the stand-in’s own client)', async () => {
    expect(await LocalSns.post(h.webhookUrl, sns().notification(sesEvent('0100z', 'Send', { send: {} })))).toBe(200);
  });

  it('tells the tenant’s webhook endpoint that the send went out and then bounced, each once', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      const created = await h.app.request('/v1/webhook-endpoints', {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url(), events: ['email.sent', 'email.bounced', 'email.delivered'] }),
      });
      const endpoint = (await created.json()) as { id: string; secret: string };
      const to = `bounce+${label()}@simulator.amazonses.com`;
      const { id } = await sendAndSettle(to, 2);
      const about = (type: string) => (r: { body: string }) =>
        JSON.parse(r.body).type === type && JSON.parse(r.body).data.email_id === id;
      const bounced = new Webhook(endpoint.secret).verify(
        (await receiver.next(about('email.bounced'))).body,
        (await receiver.next(about('email.bounced'))).headers,
      ) as { data: Record<string, unknown> };
      expect(bounced.data).toMatchObject({
        email_id: id,
        status: 'bounced',
        recipient: to,
        subtype: 'Permanent/General',
      });
      await receiver.next(about('email.sent'));
      // However the event and the outcome write raced, each event reached the endpoint once.
      const mine = receiver.requests.filter((r) => JSON.parse(r.body).data.email_id === id);
      expect(new Set(mine.map((r) => r.headers['webhook-id'])).size).toBe(2);
      expect(mine.map((r) => JSON.parse(r.body).type).sort()).toEqual(['email.bounced', 'email.sent']);
      await h.app.request(`/v1/webhook-endpoints/${endpoint.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${API_KEY}` },
      });
    } finally {
      await receiver.close();
    }
  });
});
