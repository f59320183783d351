import { randomUUID } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEventEmitter } from '../../activities/webhooks.js';
import { createApp } from '../../api/app.js';
import { DEFAULT_TENANT } from '../../api/principal.js';
import { appDeps } from '../../api/listen.js';
import { webhookSettings } from '../../config/config.js';
import { webhookDeliveries, webhookEndpoints } from '../../db/schema.js';
import { newSigningSecret, webhookEventId, type WebhookEventType } from '../../webhooks/events.js';
import { webhookDeliveryWorkflowId, type WebhookDeliveryResult } from '../../workflows/webhook-contracts.js';
import { bulkAction, bulkBody, bulkResult, postBulk } from '../support/bulk.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { WebhookReceiver, type Received } from '../support/webhook-receiver.js';

// Short retries: the dev server has no time skipping. The main harness never disables an
// endpoint; the last block runs its own with a small threshold.
const fastRetries = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_INITIAL_MS: '100',
  WEBHOOK_RETRY_MAX_MS: '400',
  WEBHOOK_TIMEOUT_MS: '2000',
};
const tenant = DEFAULT_TENANT;

type Api = { status: number; body: Record<string, any> };
async function call(h: Harness, method: string, path: string, body?: unknown, key = API_KEY): Promise<Api> {
  const res = await h.app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function createEndpoint(h: Harness, url: string, events: WebhookEventType[]) {
  const res = await call(h, 'POST', '/v1/webhook-endpoints', { url, events });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string };
}

const delivery = (h: Harness, eventId: string, endpointId: string): Promise<WebhookDeliveryResult> =>
  h.client.workflow.getHandle(webhookDeliveryWorkflowId(eventId, endpointId)).result();

/** Verifies as a receiver would; throws WebhookVerificationError when the signature does not match. */
const verify = (secret: string, r: Received) => new Webhook(secret).verify(r.body, r.headers) as Record<string, any>;

/** Polls the database for a state no event announces (a refused connection leaves no trace elsewhere). */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sendAndSettle(h: Harness, overrides: Record<string, unknown> = {}) {
  const res = await h.send(validEmail(overrides));
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  // The send's workflow ends after its outcome is recorded and its event emitted.
  await h.result(id);
  return id;
}

describe('outbound webhooks', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    h = await startHarness({ env: { ...fastRetries, WEBHOOK_DISABLE_AFTER_FAILURES: '1000' } });
  });
  afterAll(() => h?.close());
  beforeEach(async () => {
    receiver = await WebhookReceiver.start();
  });
  afterEach(async () => {
    // Deleting stops whatever a test left retrying; the next test starts with no endpoints.
    await h.db.delete(webhookEndpoints);
    await receiver.close();
  });

  it('delivers email.sent to the endpoint, signed with its secret; another secret or a changed body fails verification', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = await sendAndSettle(h, { tags: { campaign: 'welcome' } });
    const eventId = webhookEventId(tenant, 'email.sent', id);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'delivered', attempts: 1 });

    const [got, ...more] = receiver.deliveriesOf(eventId);
    expect(more).toEqual([]);
    expect(got!.headers['content-type']).toBe('application/json');
    const payload = verify(endpoint.secret, got!);
    expect(payload).toMatchObject({
      type: 'email.sent',
      data: { email_id: id, status: 'sent', provider: 'ses', tags: { campaign: 'welcome' } },
    });
    expect(Date.parse(payload.timestamp)).not.toBeNaN();
    expect(got!.body).not.toContain('plain body');
    expect(got!.body).not.toContain('html body');

    expect(() => verify(newSigningSecret(), got!)).toThrow(WebhookVerificationError);
    expect(() => verify(endpoint.secret, { ...got!, body: got!.body.replace('"sent"', '"failed"') })).toThrow(
      WebhookVerificationError,
    );

    const shown = await call(h, 'GET', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(shown.body).not.toHaveProperty('secret');
    expect(shown.body.recent_deliveries).toEqual([
      expect.objectContaining({ event_id: eventId, event_type: 'email.sent', status: 'delivered', attempts: 1 }),
    ]);
    expect(shown.body.deliveries).toMatchObject({ delivered: 1, pending: 0, failed: 0 });
  });

  it('emits email.failed with the reason when the provider rejects the message, and only to endpoints subscribed to it', async () => {
    const failures = await createEndpoint(h, receiver.url('/failures'), ['email.failed']);
    await createEndpoint(h, receiver.url('/sent'), ['email.sent']);
    h.ses.failNext('reject');
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.failed', id);
    expect(await delivery(h, eventId, failures.id)).toMatchObject({ status: 'delivered' });
    const payload = verify(failures.secret, receiver.deliveriesOf(eventId)[0]!);
    expect(payload).toMatchObject({ type: 'email.failed', data: { email_id: id, status: 'failed' } });
    expect(payload.data.error).toMatch(/rejected/);
    const rows = await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId));
    expect(rows.map((r) => r.endpointId)).toEqual([failures.id]);
    expect(receiver.requests.filter((r) => r.path === '/sent')).toEqual([]);
  });

  it('retries a receiver answering 503 until it answers 200: delivered once, every attempt with the same webhook-id', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    let answered = 0;
    receiver.reply = () => (++answered <= 2 ? 503 : 204);
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.sent', id);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'delivered', attempts: 3 });

    const attempts = receiver.deliveriesOf(eventId);
    expect(attempts.map((r) => r.status)).toEqual([503, 503, 204]);
    expect(receiver.requests).toHaveLength(3);
    // Each attempt is signed afresh (its own timestamp), each verifies.
    for (const r of attempts) expect(verify(endpoint.secret, r)).toMatchObject({ data: { email_id: id } });
    const [row] = await h.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    expect(row).toMatchObject({ enabled: true, consecutiveFailures: 0, failingSince: null });
  });

  it('retries while the receiver refuses connections and delivers once it is back', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    await receiver.down();
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.sent', id);
    const refused = await until(async () => {
      const [d] = await h.db
        .select()
        .from(webhookDeliveries)
        .where(and(eq(webhookDeliveries.eventId, eventId), eq(webhookDeliveries.endpointId, endpoint.id)));
      return d?.lastError ? d : undefined;
    }, 'a refused attempt');
    expect(refused).toMatchObject({ status: 'pending', lastStatusCode: null });
    expect(refused.lastError).toMatch(/ECONNREFUSED/);

    await receiver.up();
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'delivered' });
    expect(receiver.deliveriesOf(eventId)).toHaveLength(1);
    expect(verify(endpoint.secret, receiver.deliveriesOf(eventId)[0]!)).toMatchObject({ type: 'email.sent' });
  });

  it('delivers an event emitted twice (a retried activity, a repeated call) once', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.delivered']);
    const emit = createEventEmitter({
      db: h.db,
      temporal: h.client,
      taskQueue: h.taskQueue,
      webhooks: webhookSettings(h.config),
    });
    const data = { email_id: randomUUID(), status: 'delivered', recipient: 'ana@example.com' };
    const [a, b] = await Promise.all([
      emit(tenant, 'email.delivered', data),
      emit(tenant, 'email.delivered', { ...data }),
    ]);
    expect(a).toEqual(b);
    expect(a.endpoints).toBe(1);
    expect(await delivery(h, a.eventId, endpoint.id)).toMatchObject({ status: 'delivered' });
    // Once delivered, a later repeat starts nothing.
    await emit(tenant, 'email.delivered', data);
    expect(await delivery(h, a.eventId, endpoint.id)).toMatchObject({ status: 'delivered' });
    expect(receiver.deliveriesOf(a.eventId)).toHaveLength(1);
    const [{ n }] = (await h.db
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.eventId, a.eventId))) as [{ n: number }];
    expect(n).toBe(1);
  });

  it('emits bulk.completed with the final counts', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['bulk.completed', 'bulk.cancelled']);
    const res = await postBulk(h, bulkBody(3, `wh-${randomUUID().slice(0, 6)}`));
    expect(res.status).toBe(202);
    const bulkId = res.body.id as string;
    expect(await bulkResult(h, bulkId)).toMatchObject({ status: 'completed', sent: 3 });
    const eventId = webhookEventId(tenant, 'bulk.completed', bulkId);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'delivered' });
    expect(verify(endpoint.secret, receiver.deliveriesOf(eventId)[0]!)).toMatchObject({
      type: 'bulk.completed',
      data: { bulk_id: bulkId, status: 'completed', total: 3, sent: 3, failed: 0, pending: 0 },
    });
  });

  it('emits bulk.paused when a bulk pauses and bulk.cancelled when it is cancelled', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['bulk.paused', 'bulk.cancelled']);
    const res = await postBulk(h, bulkBody(40, `wh-${randomUUID().slice(0, 6)}`, { rate_per_second: 4 }));
    expect(res.status).toBe(202);
    const bulkId = res.body.id as string;
    expect((await bulkAction(h, bulkId, '/pause')).status).toBe(200);
    const paused = await receiver.next((r) => (JSON.parse(r.body) as { type: string }).type === 'bulk.paused');
    expect(verify(endpoint.secret, paused)).toMatchObject({ data: { bulk_id: bulkId, status: 'paused', total: 40 } });

    expect((await bulkAction(h, bulkId, '/cancel')).status).toBe(200);
    const final = await bulkResult(h, bulkId);
    expect(final.status).toBe('cancelled');
    const eventId = webhookEventId(tenant, 'bulk.cancelled', bulkId);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'delivered' });
    expect(verify(endpoint.secret, receiver.deliveriesOf(eventId)[0]!)).toMatchObject({
      type: 'bulk.cancelled',
      data: { bulk_id: bulkId, status: 'cancelled', total: 40, sent: final.sent, cancelled: final.cancelled },
    });
    expect(receiver.requests.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual([
      'bulk.paused',
      'bulk.cancelled',
    ]);
  });

  it('treats a 4xx answer as final: not retried, and the endpoint stays enabled', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    receiver.reply = () => 400;
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.sent', id);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'failed', attempts: 1, error: 'HTTP 400' });
    expect(receiver.deliveriesOf(eventId)).toHaveLength(1);
    const shown = await call(h, 'GET', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(shown.body).toMatchObject({ enabled: true, consecutive_failures: 1, deliveries: { failed: 1 } });
    expect(shown.body.recent_deliveries[0]).toMatchObject({ status: 'failed', last_status_code: 400 });
  });

  it('disables an endpoint that answers 410 Gone at once, and says so', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    receiver.reply = () => 410;
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.sent', id);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'failed', attempts: 1 });
    const shown = await call(h, 'GET', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(shown.body).toMatchObject({ enabled: false, disabled_reason: 'the endpoint answered HTTP 410 Gone' });
    expect(shown.body.disabled_at).toEqual(expect.any(String));
  });

  it('stops delivering to a deleted endpoint, even an event it was retrying', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    let arrived!: () => void;
    const firstArrived = new Promise<void>((r) => (arrived = r));
    let deleted!: () => void;
    const deletedNow = new Promise<void>((r) => (deleted = r));
    // The first attempt is held until the endpoint is deleted, then fails: its retry must find it gone.
    receiver.reply = async () => (arrived(), await deletedNow, 503);
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.sent', id);
    await firstArrived;
    const res = await call(h, 'DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(res).toEqual({ status: 200, body: { id: endpoint.id, deleted: true } });
    deleted();
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({ status: 'skipped', error: 'endpoint deleted' });
    expect(receiver.deliveriesOf(eventId)).toHaveLength(1);

    // A later event has nowhere to go.
    const later = await sendAndSettle(h);
    const laterEvent = webhookEventId(tenant, 'email.sent', later);
    expect(await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, laterEvent))).toEqual([]);
    expect(receiver.requests).toHaveLength(1);
    expect((await call(h, 'GET', `/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
  });

  it('lists endpoints without secrets, newest first, with state and counts; another API key sees none of them', async () => {
    const first = await createEndpoint(h, receiver.url('/a'), ['email.sent']);
    const second = await createEndpoint(h, receiver.url('/b'), ['bulk.paused', 'email.failed']);
    const list = await call(h, 'GET', '/v1/webhook-endpoints');
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: any) => e.id)).toEqual([second.id, first.id]);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    expect(list.body.data[0]).toMatchObject({
      url: receiver.url('/b'),
      events: ['bulk.paused', 'email.failed'],
      enabled: true,
      disabled_reason: null,
      consecutive_failures: 0,
      deliveries: { pending: 0, delivered: 0, failed: 0, skipped: 0 },
    });
    // Another tenant's key, with every scope.
    const outsider = (await h.newKey()).key;
    const other = await call(h, 'GET', '/v1/webhook-endpoints', undefined, outsider);
    expect(other.body.data).toEqual([]);
    expect((await call(h, 'GET', `/v1/webhook-endpoints/${first.id}`, undefined, outsider)).status).toBe(404);
    expect((await call(h, 'DELETE', `/v1/webhook-endpoints/${first.id}`, undefined, outsider)).status).toBe(404);
  });

  it('refuses bad input with a 400 naming the field, and stores nothing', async () => {
    const cases: [unknown, string][] = [
      [{ url: 'not a url', events: ['email.sent'] }, 'url'],
      [{ url: 'ftp://example.com/hook', events: ['email.sent'] }, 'url'],
      [{ url: 'https://user:pw@example.com/hook', events: ['email.sent'] }, 'url'],
      [{ url: `https://example.com/${'a'.repeat(2048)}`, events: ['email.sent'] }, 'url'],
      [{ url: 42, events: ['email.sent'] }, 'url'],
      [{ url: 'https://example.com/hook', events: ['email.sent', 'email.opened'] }, 'events[1]'],
      [{ url: 'https://example.com/hook', events: [] }, 'events'],
      [{ url: 'https://example.com/hook' }, 'events'],
      [{ url: 'https://example.com/hook', events: ['email.sent'], secret: 'mine' }, 'secret'],
    ];
    for (const [body, field] of cases) {
      const res = await call(h, 'POST', '/v1/webhook-endpoints', body);
      expect([res.status, res.body.error?.code, res.body.error?.field], JSON.stringify(body)).toEqual([
        400,
        'validation_error',
        field,
      ]);
    }
    expect((await call(h, 'POST', '/v1/webhook-endpoints', '{"url":')).status).toBe(400);
    const huge = await call(h, 'POST', '/v1/webhook-endpoints', {
      url: `https://example.com/${'a'.repeat(20_000)}`,
      events: [],
    });
    expect([huge.status, huge.body.error?.field]).toEqual([413, 'body']);
    expect(await h.db.select().from(webhookEndpoints)).toEqual([]);
  });

  it('refuses loopback, private and internal targets when private targets are not allowed', async () => {
    const strict = createApp(
      appDeps({
        config: { ...h.config, WEBHOOK_ALLOW_PRIVATE_TARGETS: false },
        db: h.db,
        temporal: h.client,
        objects: h.objects,
        logger: { error: () => {} },
      }),
    );
    const post = async (url: string) => {
      const res = await strict.request('/v1/webhook-endpoints', {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url, events: ['email.sent'] }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    for (const url of [
      receiver.url(),
      'http://localhost:8080/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.1.2.3/hook',
      'http://[::1]/hook',
      'http://[::ffff:192.168.0.1]/hook',
      'http://2130706433/hook',
      'https://metadata.google.internal/',
      'http://redis:6379/',
    ]) {
      const res = await post(url);
      expect([res.status, res.body.error?.field], url).toEqual([400, 'url']);
      expect(res.body.error.message).toMatch(/loopback, private or internal/);
    }
    expect(await h.db.select().from(webhookEndpoints)).toEqual([]);
    const ok = await post('https://hooks.example.com/mailroom?token=abc');
    expect(ok.status).toBe(201);
  });
});

describe('an endpoint that keeps failing', () => {
  let h: Harness;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    h = await startHarness({
      env: { ...fastRetries, WEBHOOK_DISABLE_AFTER_FAILURES: '3', WEBHOOK_DISABLE_AFTER_SECONDS: '0' },
    });
    receiver = await WebhookReceiver.start();
  });
  afterAll(async () => {
    await receiver?.close();
    await h?.close();
  });

  it('is disabled after the configured failures, says why, and gets no further events', async () => {
    const endpoint = await createEndpoint(h, receiver.url(), ['email.sent']);
    receiver.reply = () => 500;
    const id = await sendAndSettle(h);
    const eventId = webhookEventId(tenant, 'email.sent', id);
    expect(await delivery(h, eventId, endpoint.id)).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'HTTP 500; endpoint disabled',
    });
    expect(receiver.deliveriesOf(eventId).map((r) => r.status)).toEqual([500, 500, 500]);

    const shown = await call(h, 'GET', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(shown.body).toMatchObject({ enabled: false, consecutive_failures: 3, deliveries: { failed: 1 } });
    expect(shown.body.disabled_reason).toMatch(/^3 delivery attempts failed in a row since .+; last: HTTP 500$/);

    const later = await sendAndSettle(h);
    const laterEvent = webhookEventId(tenant, 'email.sent', later);
    expect(await h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, laterEvent))).toEqual([]);
    expect(receiver.requests).toHaveLength(3);
  });
});
