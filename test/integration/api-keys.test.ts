// Managed API keys through the app: shown once, stored as a hash, scoped, bound to sender domains,
// rate limited across API replicas, revoked at once; records belong to the tenant, not the key.
import { setTimeout as sleep } from 'node:timers/promises';
import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { appDeps } from '../../api/listen.js';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { apiKeys, bulks, messages } from '../../db/schema.js';
import { freePort } from '../../local/free-port.js';
import { bulkBody } from '../support/bulk.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

let h: Harness;
let deadDb: DbHandle;
beforeAll(async () => {
  h = await startHarness();
  deadDb = await createDb({ url: `postgres://postgres@127.0.0.1:${await freePort()}/x`, maxConnections: 2 });
});
afterAll(async () => {
  await deadDb?.close();
  await h?.close();
});

type Reply = { status: number; headers: Headers; body: Record<string, any> };

async function call(
  key: string,
  method: string,
  path: string,
  body?: unknown,
  app: { request: Harness['app']['request'] } = h.app,
): Promise<Reply> {
  const res = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** Another API replica: its own app (and key store) over the same database. */
const replica = (db = h.db) =>
  createApp(appDeps({ config: h.config, db, temporal: h.client, objects: h.objects, logger: { error: () => {} } }));

const rowsOf = async (tenant: string) => {
  const [m] = await h.db.select({ n: count() }).from(messages).where(eq(messages.tenantId, tenant));
  const [b] = await h.db.select({ n: count() }).from(bulks).where(eq(bulks.tenantId, tenant));
  return { messages: m!.n, bulks: b!.n };
};

describe('managed API keys', () => {
  it('shows a new key once, lists it without its secret, and revokes it for the very next request', async () => {
    const admin = await h.newKey();
    const made = await call(admin.key, 'POST', '/v1/api-keys', {
      name: 'billing service',
      scopes: ['send', 'read'],
      from_domains: ['Example.com'],
      rate_limit_per_minute: 100,
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      prefix: `mr_${made.body.id}`,
      name: 'billing service',
      tenant: admin.tenant,
      scopes: ['send', 'read'],
      from_domains: ['example.com'],
      rate_limit_per_minute: 100,
      revoked_at: null,
    });
    const key: string = made.body.key;
    expect(key).toMatch(/^mr_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    const secret = key.slice(`mr_${made.body.id}_`.length);

    // Only a hash is stored.
    const [row] = await h.db.select().from(apiKeys).where(eq(apiKeys.id, made.body.id));
    expect(JSON.stringify(row)).not.toContain(secret);

    const sent = await call(key, 'POST', '/v1/emails', validEmail());
    expect(sent.status).toBe(202);
    expect((await call(key, 'GET', `/v1/emails/${sent.body.id}`)).status).toBe(200);

    const listed = await call(admin.key, 'GET', '/v1/api-keys');
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: any) => k.id)).toEqual([made.body.id, admin.id]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(listed.body.data[0]).not.toHaveProperty('key');

    // Revoked through another replica: no replica may still accept it.
    const revoked = await call(admin.key, 'DELETE', `/v1/api-keys/${made.body.id}`, undefined, replica());
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    const after = await call(key, 'GET', `/v1/emails/${sent.body.id}`);
    expect(after.status).toBe(401);
    expect(after.body.error).toMatchObject({ code: 'unauthorized', field: 'Authorization' });
    expect((await call(admin.key, 'GET', '/v1/api-keys')).body.data[0].revoked_at).toBe(revoked.body.revoked_at);
  });

  it('refuses a key whose secret is wrong, even with a real id', async () => {
    const k = await h.newKey();
    const forged = `${k.key.slice(0, 12)}${'A'.repeat(43)}`;
    expect((await call(forged, 'GET', '/v1/emails')).status).toBe(401);
  });

  it('keeps a tenant’s history across a rotation: what key A sent is listed with key B after A is revoked', async () => {
    const a = await h.newKey();
    const b = await h.newKey({ tenant: a.tenant, scopes: ['read'] });
    const sent = await call(a.key, 'POST', '/v1/emails', validEmail());
    expect(sent.status).toBe(202);
    expect((await call(a.key, 'DELETE', `/v1/api-keys/${a.id}`)).status).toBe(200);
    const listed = await call(b.key, 'GET', '/v1/emails');
    expect(listed.body.data.map((e: any) => e.id)).toEqual([sent.body.id]);
    expect((await call(b.key, 'GET', `/v1/emails/${sent.body.id}`)).status).toBe(200);
    // Another tenant sees none of it.
    const outsider = await h.newKey();
    expect((await call(outsider.key, 'GET', '/v1/emails')).body.data).toEqual([]);
    expect((await call(outsider.key, 'GET', `/v1/emails/${sent.body.id}`)).status).toBe(404);
  });

  it('lets only the operator act on other tenants’ keys', async () => {
    const admin = await h.newKey();
    const other = await h.newKey();
    const named = await call(admin.key, 'POST', '/v1/api-keys', { name: 'x', scopes: ['read'], tenant: other.tenant });
    expect(named.status).toBe(403);
    expect(named.body.error).toMatchObject({ code: 'forbidden', field: 'tenant' });
    expect((await call(admin.key, 'GET', `/v1/api-keys?tenant=${other.tenant}`)).status).toBe(403);
    expect((await call(admin.key, 'DELETE', `/v1/api-keys/${other.id}`)).status).toBe(404);
    expect((await call(other.key, 'GET', '/v1/emails')).status).toBe(200);
    // The operator (an API_KEYS key) lists and revokes them.
    const operator = h.config.API_KEYS[0]!;
    const theirs = await call(operator, 'GET', `/v1/api-keys?tenant=${other.tenant}`);
    expect(theirs.body.data.map((k: any) => k.id)).toEqual([other.id]);
    expect((await call(operator, 'DELETE', `/v1/api-keys/${other.id}`)).status).toBe(200);
    expect((await call(other.key, 'GET', '/v1/emails')).status).toBe(401);
  });

  it('refuses bad key requests with 400 naming the field', async () => {
    const admin = await h.newKey();
    for (const [body, field] of [
      [{ name: 'x', scopes: [] }, 'scopes'],
      [{ name: 'x', scopes: ['root'] }, 'scopes[0]'],
      [{ name: '', scopes: ['read'] }, 'name'],
      [{ name: 'x', scopes: ['read'], from_domains: ['not a domain'] }, 'from_domains[0]'],
      [{ name: 'x', scopes: ['read'], rate_limit_per_minute: 0 }, 'rate_limit_per_minute'],
      [{ name: 'x', scopes: ['read'], tenant: 'Has_Underscore' }, 'tenant'],
      [{ name: 'x', scopes: ['read'], secret: 'mine' }, 'secret'],
    ] as const) {
      const res = await call(admin.key, 'POST', '/v1/api-keys', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error, JSON.stringify(body)).toMatchObject({ code: 'validation_error', field });
    }
  });
});

describe('scopes', () => {
  it('a read-only key lists and reads, but cannot send, control, manage or mint keys: 403 naming the scope', async () => {
    const owner = await h.newKey();
    const reader = await h.newKey({ tenant: owner.tenant, scopes: ['read'] });
    const before = await rowsOf(owner.tenant);

    const send = await call(reader.key, 'POST', '/v1/emails', validEmail());
    expect(send.status).toBe(403);
    expect(send.body.error).toEqual({
      code: 'forbidden',
      message: 'this key lacks the send scope',
      field: 'Authorization',
    });
    expect((await call(reader.key, 'POST', '/v1/bulk', bulkBody(2, 'scope'))).status).toBe(403);
    expect(await rowsOf(owner.tenant)).toEqual(before);

    const sent = await call(owner.key, 'POST', '/v1/emails', validEmail());
    expect((await call(reader.key, 'GET', `/v1/emails/${sent.body.id}`)).status).toBe(200);
    expect((await call(reader.key, 'GET', '/v1/emails')).status).toBe(200);
    expect((await call(reader.key, 'GET', '/v1/suppressions')).status).toBe(200);
    expect((await call(reader.key, 'POST', `/v1/emails/${sent.body.id}/cancel`)).body.error.message).toContain(
      'send scope',
    );
    const manage = await call(reader.key, 'POST', '/v1/suppressions', { email: 'x@example.com' });
    expect(manage.status).toBe(403);
    expect(manage.body.error.message).toBe('this key lacks the manage scope');
    const mint = await call(reader.key, 'POST', '/v1/api-keys', { name: 'x', scopes: ['admin'] });
    expect(mint.status).toBe(403);
    expect(mint.body.error.message).toBe('this key lacks the admin scope');
    expect((await call(reader.key, 'GET', '/v1/api-keys')).status).toBe(403);
  });
});

describe('sender domains', () => {
  it('accepts a From at one of the key’s domains and refuses any other with 403 naming from, storing nothing', async () => {
    const k = await h.newKey({ from_domains: ['acme.test'] });
    const ok = await call(k.key, 'POST', '/v1/emails', validEmail({ from: 'Acme <News@ACME.test>' }));
    expect(ok.status).toBe(202);
    const before = await rowsOf(k.tenant);

    for (const from of ['Evil <news@evil.test>', 'news@sub.acme.test', 'news@acme.test.evil.test']) {
      const res = await call(k.key, 'POST', '/v1/emails', validEmail({ from }));
      expect(res.status, from).toBe(403);
      expect(res.body.error, from).toMatchObject({ code: 'forbidden', field: 'from' });
    }
    const bulk = await call(k.key, 'POST', '/v1/bulk', bulkBody(2, 'domains'));
    expect(bulk.status).toBe(403);
    expect(bulk.body.error).toMatchObject({ code: 'forbidden', field: 'from' });
    expect(await rowsOf(k.tenant)).toEqual(before);

    // Nor can it mint a key that escapes its domains.
    const wider = await call(k.key, 'POST', '/v1/api-keys', { name: 'x', scopes: ['send'] });
    expect(wider.status).toBe(403);
    expect(wider.body.error.field).toBe('from_domains');
  });
});

/** Waits out the last seconds of the database's current minute, so a short sequence fits in one window. */
async function awayFromMinuteEnd() {
  const rows = (await h.db.execute(sql`select 60 - extract(second from now())::float8 as left`)) as unknown as {
    left: number;
  }[];
  const left = Number(rows[0]!.left);
  if (left < 5) await sleep(left * 1000 + 100);
}

describe('rate limits', () => {
  it('answers the 4th request a minute of a 3/min key with 429 and RateLimit headers, counted across replicas', async () => {
    const k = await h.newKey({ rate_limit_per_minute: 3 });
    const other = replica();
    await awayFromMinuteEnd();
    const first = await call(k.key, 'GET', '/v1/emails');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('3');
    expect(first.headers.get('ratelimit-remaining')).toBe('2');
    expect((await call(k.key, 'GET', '/v1/emails', undefined, other)).headers.get('ratelimit-remaining')).toBe('1');
    expect((await call(k.key, 'GET', '/v1/emails')).status).toBe(200);

    const over = await call(k.key, 'POST', '/v1/emails', validEmail(), other);
    expect(over.status).toBe(429);
    expect(over.body.error).toMatchObject({ code: 'rate_limited', field: 'Authorization' });
    expect(over.headers.get('ratelimit-limit')).toBe('3');
    expect(over.headers.get('ratelimit-remaining')).toBe('0');
    const reset = Number(over.headers.get('ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(1);
    expect(reset).toBeLessThanOrEqual(60);
    expect(over.headers.get('retry-after')).toBe(String(reset));
    expect(await rowsOf(k.tenant)).toEqual({ messages: 0, bulks: 0 });

    // Another key, and the API_KEYS keys (no limit), are not held back by it.
    const free = await h.newKey({ tenant: k.tenant });
    expect((await call(free.key, 'GET', '/v1/emails')).status).toBe(200);
    expect((await call(h.config.API_KEYS[0]!, 'GET', '/v1/emails')).headers.get('ratelimit-limit')).toBeNull();
  });

  it('answers 503 naming the database, never 429, when Postgres is unreachable', async () => {
    const k = await h.newKey({ rate_limit_per_minute: 1 });
    const down = replica(deadDb.db);
    for (let i = 0; i < 2; i++) {
      const res = await call(k.key, 'GET', '/v1/emails', undefined, down);
      expect(res.status).toBe(503);
      expect(res.body.error).toMatchObject({ code: 'service_unavailable', dependency: 'database' });
      expect(res.headers.get('retry-after')).toBe('5');
    }
  });
});

describe('API_KEYS keys', () => {
  it('act as admins of one tenant, the default one: what one sends, another lists', async () => {
    const env = createApp(
      appDeps({
        config: { ...h.config, API_KEYS: ['env-key-one', 'env-key-two'] },
        db: h.db,
        temporal: h.client,
        objects: h.objects,
        logger: { error: () => {} },
      }),
    );
    const sent = await call('env-key-one', 'POST', '/v1/emails', validEmail(), env);
    expect(sent.status).toBe(202);
    expect((await call('env-key-two', 'GET', `/v1/emails/${sent.body.id}`, undefined, env)).status).toBe(200);
    const made = await call('env-key-two', 'POST', '/v1/api-keys', { name: 'x', scopes: ['read'] }, env);
    expect(made.body.tenant).toBe('default');
    expect((await call(made.body.key, 'GET', `/v1/emails/${sent.body.id}`)).status).toBe(200);
  });
});
