// What the logs may say: a database error by its class and code (never drizzle's message, which
// quotes every bound value), no secrets, bodies or addresses; and `/ready` tells the public only
// ready or not.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { appDeps } from '../../api/listen.js';
import { createLogger } from '../../config/logger.js';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { freePort } from '../../local/free-port.js';
import { temporalLogger } from '../../worker/temporal-logger.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';

const unique = randomUUID().slice(0, 8);
const bcc = `hidden-${unique}@example.com`;
const body = `the confidential body ${unique}`;

/** A pino logger writing into `lines` (one parsed JSON object per line). */
function capturedLogger() {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ LOG_LEVEL: 'debug' }, stream), lines, text: () => JSON.stringify(lines) };
}

let h: Harness;
let deadDb: DbHandle;
beforeAll(async () => {
  h = await startHarness({ worker: false });
  deadDb = await createDb({ url: `postgres://postgres@127.0.0.1:${await freePort()}/x`, maxConnections: 1 });
});
afterAll(async () => {
  await deadDb?.close();
  await h?.close();
});

describe('logs', () => {
  it('log a Postgres error with a bound Bcc and body by its class and code only, however it is logged', async () => {
    const err = await h.db
      .execute(sql`select ${bcc}::int as a, ${body}::int as b`)
      .then(() => undefined)
      .catch((e: unknown) => e);
    // The error as drizzle throws it: its message quotes the bound value.
    expect(String((err as Error).message) + String((err as Error).cause)).toContain(bcc);

    const { logger, lines, text } = capturedLogger();
    logger.error({ err, path: '/v1/emails' }, 'unhandled error');
    logger.warn({ error: err }, 'outcome deferred to the record step');
    // The worker's Temporal log: the SDK's own "Activity failed" line, and the activities' `log`.
    temporalLogger(logger, 'debug').warn('Activity failed', { error: err, activityType: 'recordOutcome' });

    expect(lines).toHaveLength(3);
    expect(text()).not.toContain(bcc);
    expect(text()).not.toContain(unique);
    for (const line of lines) {
      const logged = line.err ?? line.error;
      expect(logged).toEqual({
        dependency: 'postgres',
        class: expect.stringContaining('DrizzleQueryError'),
        code: '22P02',
      });
    }
  });

  it('redact secrets, bodies and addresses wherever a line carries them', () => {
    const { logger, text } = capturedLogger();
    logger.info(
      {
        headers: { authorization: `Bearer ${API_KEY}` },
        body: {
          from: `a-${unique}@example.com`,
          to: [`b-${unique}@example.com`],
          bcc: [bcc],
          subject: unique,
          html: body,
        },
        attachments: [{ filename: 'a.txt', content: Buffer.from(unique).toString('base64') }],
        messageId: 'kept',
      },
      'request',
    );
    expect(text()).not.toContain(unique);
    expect(text()).not.toContain(API_KEY);
    expect(text()).toContain('kept');
    expect(text()).toContain('[redacted]');
  });
});

describe('/ready during a database outage', () => {
  it('answers the public only not_ready, an operator the failed check by class and code, and logs the detail', async () => {
    const { logger, lines } = capturedLogger();
    const app = createApp(appDeps({ config: h.config, db: deadDb.db, temporal: h.client, objects: h.objects, logger }));

    const res = await app.request('/ready');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not_ready' });

    const operator = await app.request('/ready', { headers: { authorization: `Bearer ${API_KEY}` } });
    const shown = (await operator.json()) as Record<string, any>;
    expect(shown).toMatchObject({ status: 'not_ready', checks: { database: { ok: false }, temporal: { ok: true } } });
    // No host, port or driver sentence: the class and code of what failed.
    expect(shown.checks.database.error).toMatch(/^[\w <]+$/);
    expect(JSON.stringify(shown)).not.toMatch(/127\.0\.0\.1|connect/i);

    expect(lines.filter((l) => l.msg === 'not ready' && l.dependency === 'database')).toHaveLength(2);
  });
});

describe('request lines', () => {
  it('log one line per request with its id, route pattern, status and tenant, never the raw path', async () => {
    const { logger, lines, text } = capturedLogger();
    const app = createApp(appDeps({ config: h.config, db: h.db, temporal: h.client, objects: h.objects, logger }));
    const address = `someone-${unique}@example.com`;

    const res = await app.request(`/v1/suppressions/${address}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_KEY}`, 'x-request-id': `req-${unique}` },
    });
    expect(res.headers.get('x-request-id')).toBe(`req-${unique}`);
    const unauthorized = await app.request('/v1/emails', { headers: { authorization: 'Bearer nope' } });
    const generated = unauthorized.headers.get('x-request-id');
    expect(generated).toMatch(/^[\w-]{8,}$/);

    expect(lines.filter((l) => l.msg === 'request')).toEqual([
      expect.objectContaining({
        requestId: `req-${unique}`,
        method: 'DELETE',
        route: '/v1/suppressions/:email',
        status: res.status,
        tenant: 'default',
        ms: expect.any(Number),
      }),
      expect.objectContaining({ requestId: generated, route: '/v1/emails', status: 401 }),
    ]);
    expect(text()).not.toContain(address);
  });

  it('name the send a request created: its message id and workflow id', async () => {
    const { logger, lines } = capturedLogger();
    const app = createApp(appDeps({ config: h.config, db: h.db, temporal: h.client, objects: h.objects, logger }));
    const res = await app.request('/v1/emails', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(validEmail()),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(lines.filter((l) => l.msg === 'request')).toEqual([
      expect.objectContaining({ route: '/v1/emails', status: 202, messageId: id, workflowId: `email-${id}` }),
    ]);
  });
});
