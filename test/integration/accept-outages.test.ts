// The API during a dependency outage: 503 with Retry-After and the error envelope naming the
// dependency, never a 500; nothing half stored; a send stored before Temporal failed stays
// `queued` and is started later (same Idempotency-Key, or the repair schedule).
import { randomBytes, randomUUID } from 'node:crypto';
import { Connection, WorkflowNotFoundError } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../api/app.js';
import { appDeps } from '../../api/listen.js';
import { DEFAULT_TENANT } from '../../api/principal.js';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { bulkRecipients, bulks, messages } from '../../db/schema.js';
import { freePort } from '../../local/free-port.js';
import { createObjectStore, createS3Client } from '../../storage/object-store.js';
import { temporalClient } from '../../temporal/client.js';
import { ensureRepairSchedule, repairScheduleId } from '../../worker/repair-schedule.js';
import { bulkWorkflowId, emailWorkflowId } from '../../workflows/contracts.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { bulkBody, exactlyOnce } from '../support/bulk.js';
import { listObjectKeys } from '../support/s3-objects.js';

let h: Harness;
let deadDb: DbHandle;
let deadConnection: Connection;
const logged: { dependency: string; path: string }[] = [];
const unexpected: unknown[] = [];

type App = ReturnType<typeof createApp>;
/** Apps like the harness's, each with one dependency pointed at a port nobody listens on. */
let noDatabase: App;
let noTemporal: App;
let noStorage: App;

function appWith(over: Partial<Parameters<typeof appDeps>[0]>): App {
  return createApp(
    appDeps({
      config: h.config,
      db: h.db,
      temporal: h.client,
      objects: h.objects,
      logger: {
        error: (o: any, msg?: string) => {
          if (msg === 'dependency unavailable') logged.push({ dependency: o.dependency, path: o.path });
          else unexpected.push(o);
        },
      },
      ...over,
    }),
  );
}

beforeAll(async () => {
  h = await startHarness();
  const [dbPort, temporalPort, s3Port] = await Promise.all([freePort(), freePort(), freePort()]);
  deadDb = await createDb({ url: `postgres://postgres@127.0.0.1:${dbPort}/x`, maxConnections: 2 });
  // Lazy: a Connection.connect to a closed port would fail here, not in the request.
  deadConnection = Connection.lazy({ address: `127.0.0.1:${temporalPort}` });
  noDatabase = appWith({ db: deadDb.db });
  noTemporal = appWith({ temporal: temporalClient(deadConnection, h.config) });
  noStorage = appWith({
    objects: createObjectStore(
      createS3Client({
        endpoint: `http://127.0.0.1:${s3Port}`,
        region: 'us-east-1',
        bucket: h.config.S3_BUCKET,
        accessKeyId: 'x',
        secretAccessKey: 'x',
      }),
      h.config.S3_BUCKET,
    ),
  });
});
afterAll(async () => {
  await h?.client.schedule
    .getHandle(repairScheduleId(h.taskQueue))
    .delete()
    .catch(() => {});
  await deadDb?.close();
  await deadConnection?.close().catch(() => {});
  await h?.close();
});

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

async function call(app: App, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await app.request(path, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, any>;
  try {
    parsed = JSON.parse(text) as Record<string, any>;
  } catch {
    parsed = { unparsed: text };
  }
  return { status: res.status, headers: res.headers, body: parsed } satisfies Reply;
}

function expectUnavailable(res: Reply, dependency: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  expect(res.body).toMatchObject({
    error: { code: 'service_unavailable', dependency, message: expect.stringMatching(/unavailable/) },
  });
  // The envelope, and nothing of the failure's insides.
  expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|at .*\.ts|stack/);
}

const tiny = { filename: 'a.txt', content: Buffer.from('hello').toString('base64'), content_type: 'text/plain' };

async function workflowExists(workflowId: string) {
  try {
    await h.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

const messageRows = (id: string) => h.db.select().from(messages).where(eq(messages.id, id));
const ourMessages = async () =>
  (await h.db.select({ id: messages.id }).from(messages).where(eq(messages.tenantId, DEFAULT_TENANT))).length;

describe('database unreachable', () => {
  it('answers 503 naming the database on every route that reads or writes it, and starts nothing', async () => {
    const id = randomUUID();
    const replies = [
      ['POST /v1/emails', await call(noDatabase, 'POST', '/v1/emails', validEmail())],
      [
        'POST /v1/emails (keyed)',
        await call(noDatabase, 'POST', '/v1/emails', validEmail(), { 'idempotency-key': 'db-1' }),
      ],
      [
        'POST /v1/emails (attachment)',
        await call(noDatabase, 'POST', '/v1/emails', validEmail({ attachments: [tiny] })),
      ],
      ['POST /v1/bulk', await call(noDatabase, 'POST', '/v1/bulk', bulkBody(3, 'dbdown'))],
      [
        'POST /v1/bulk (attachment)',
        await call(noDatabase, 'POST', '/v1/bulk', bulkBody(3, 'dbdown', { attachments: [tiny] })),
      ],
      ['GET /v1/emails/:id', await call(noDatabase, 'GET', `/v1/emails/${id}`)],
      ['GET /v1/bulk/:id', await call(noDatabase, 'GET', `/v1/bulk/${id}`)],
      ['GET /v1/bulk/:id/recipients', await call(noDatabase, 'GET', `/v1/bulk/${id}/recipients`)],
      ['POST /v1/bulk/:id/pause', await call(noDatabase, 'POST', `/v1/bulk/${id}/pause`)],
    ] as const;
    for (const [, res] of replies) expectUnavailable(res, 'database');
    expect(logged.filter((l) => l.dependency === 'database')).toHaveLength(replies.length);
    expect(unexpected).toEqual([]);

    // Nothing half stored: the attachments put before the insert failed were taken back…
    expect(await listObjectKeys(h.config)).toEqual([]);
    // …and no workflow was started (this file's queue has seen none yet).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await h.workflowCount()).toBe(0);
  });

  it('says not ready on /ready, naming the database to an operator', async () => {
    const res = await noDatabase.request('/ready');
    expect(res.status).toBe(503);
    // Which dependency failed, and why, is not for the public.
    expect(await res.json()).toEqual({ status: 'not_ready' });
    const operator = await noDatabase.request('/ready', { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(((await operator.json()) as Record<string, any>).checks.database).toEqual({
      ok: false,
      error: expect.any(String),
    });
  });
});

describe('storage unreachable', () => {
  it('answers 503 naming storage for a send with attachments, storing no row', async () => {
    const before = await ourMessages();
    expectUnavailable(await call(noStorage, 'POST', '/v1/emails', validEmail({ attachments: [tiny] })), 'storage');
    expectUnavailable(
      await call(noStorage, 'POST', '/v1/bulk', bulkBody(2, 'nos3', { attachments: [tiny] })),
      'storage',
    );
    expect(await ourMessages()).toBe(before);
    expect(unexpected).toEqual([]);
  });
});

describe('Temporal unreachable', () => {
  let emailId: string;
  let bulkId: string;
  const rcpt = `temporal-down-${randomUUID().slice(0, 8)}@example.com`;
  const bytes = randomBytes(300);
  const email = validEmail({
    to: rcpt,
    attachments: [{ filename: 'r.bin', content: bytes.toString('base64'), content_type: 'application/octet-stream' }],
  });
  const bulk = bulkBody(3, 'tdown');

  it('answers 503 with the stored send id; the row stays queued with its attachments', async () => {
    const res = await call(noTemporal, 'POST', '/v1/emails', email, { 'idempotency-key': 'temporal-down-email' });
    expectUnavailable(res, 'temporal');
    emailId = res.body.error.id;
    expect(emailId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.error.status).toBe('queued');

    const [row] = await messageRows(emailId);
    expect(row).toMatchObject({ status: 'queued' });
    expect(await listObjectKeys(h.config, `messages/${emailId}/attachments/`)).toHaveLength(1);
    // The client can poll the id it was given.
    expect((await h.status(emailId)).status).toBe('queued');
    expect(await workflowExists(emailWorkflowId(emailId))).toBe(false);
  });

  it('answers a repeat with the same key the same way, storing nothing twice', async () => {
    const res = await call(noTemporal, 'POST', '/v1/emails', email, { 'idempotency-key': 'temporal-down-email' });
    expectUnavailable(res, 'temporal');
    expect(res.body.error.id).toBe(emailId);
    expect(await listObjectKeys(h.config, `messages/${emailId}/attachments/`)).toHaveLength(1);
  });

  it('keeps a bulk queued too; a retry with the same key once Temporal is back starts it', async () => {
    const res = await call(noTemporal, 'POST', '/v1/bulk', bulk, { 'idempotency-key': 'temporal-down-bulk' });
    expectUnavailable(res, 'temporal');
    bulkId = res.body.error.id;
    const [row] = await h.db.select().from(bulks).where(eq(bulks.id, bulkId));
    expect(row).toMatchObject({ status: 'queued', total: 3 });

    const retry = await call(h.app, 'POST', '/v1/bulk', bulk, { 'idempotency-key': 'temporal-down-bulk' });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body).toMatchObject({ id: bulkId, total: 3 });
    await h.client.workflow.getHandle(bulkWorkflowId(bulkId)).result();
    expect(exactlyOnce(h.ses.messages, 'tdown', [0, 1, 2])).toEqual([]);
    const recipients = await h.db.select().from(bulkRecipients).where(eq(bulkRecipients.bulkId, bulkId));
    expect(recipients.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
  });

  it('is started by the repair schedule and delivered, attachment included', async () => {
    await ensureRepairSchedule(h.client, { taskQueue: h.taskQueue, intervalSeconds: 3600, afterSeconds: 1 });
    await new Promise((r) => setTimeout(r, 1_100)); // the row must be older than afterSeconds
    await h.client.schedule.getHandle(repairScheduleId(h.taskQueue)).trigger();

    await vi.waitFor(async () => expect(await workflowExists(emailWorkflowId(emailId))).toBe(true), {
      timeout: 20_000,
      interval: 200,
    });
    expect(await h.result(emailId)).toMatchObject({ status: 'sent', provider: 'ses' });
    const copies = h.ses.messages.filter((m) => m.destination.includes(rcpt));
    expect(copies).toHaveLength(1);
    expect(copies[0]!.raw.toString()).toContain(bytes.toString('base64').slice(0, 60));
    expect((await h.status(emailId)).status).toBe('sent');
  });

  it('then answers the same key with the stored send, as any repeat', async () => {
    const res = await call(h.app, 'POST', '/v1/emails', email, { 'idempotency-key': 'temporal-down-email' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: emailId, status: 'sent' });
    expect(h.ses.messages.filter((m) => m.destination.includes(rcpt))).toHaveLength(1);
  });

  it('answers 503 naming Temporal on the bulk controls', async () => {
    expectUnavailable(await call(noTemporal, 'POST', `/v1/bulk/${bulkId}/pause`), 'temporal');
    expect(unexpected).toEqual([]);
  });
});
