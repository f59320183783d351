// The operator console through the app: sign-in and sessions, tenant isolation, the pages listing
// what the API created, and bulk controls guarded by the session's CSRF token.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkWorkflowId } from '../../workflows/contracts.js';
import { bulkBody } from '../support/bulk.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

// Test files share the database: keys of tenants of this file's own, so its pages show only its records.
let KEY: string;
let TENANT: string;
let OTHER: string;
let h: Harness;
const started: string[] = [];

beforeAll(async () => {
  // Small batches: a paused or cancelled bulk settles once its batch in flight has (at 2/s, 5 s).
  h = await startHarness({ env: { BULK_BATCH_SIZE: '10' } });
  ({ key: KEY, tenant: TENANT } = await h.newKey());
  OTHER = (await h.newKey()).key;
});
afterAll(async () => {
  // Leave no bulk running on the shared Temporal server after this file.
  await Promise.all(
    started.map((id) =>
      h.client.workflow
        .getHandle(bulkWorkflowId(id))
        .terminate()
        .catch(() => {}),
    ),
  );
  await h?.close();
});

const api = async (method: string, path: string, body?: unknown, key = KEY) => {
  const res = await h.app.request(path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, any> };
};

async function signIn(key: string) {
  const res = await h.app.request('/console/sign-in', {
    method: 'POST',
    body: new URLSearchParams({ key, next: '/console/bulks' }),
  });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get('set-cookie')!;
  return { res, setCookie, cookie: setCookie.split(';')[0]! };
}

const get = (path: string, cookie?: string) => h.app.request(path, { headers: cookie ? { cookie } : {} });
const post = (path: string, cookie: string, form: Record<string, string>) =>
  h.app.request(path, { method: 'POST', headers: { cookie }, body: new URLSearchParams(form) });
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

describe('console sign-in', () => {
  it('signs in with an API key into an HttpOnly, SameSite=Strict cookie that does not hold the key', async () => {
    const { res, setCookie, cookie } = await signIn(KEY);
    expect(res.headers.get('location')).toBe('/console/bulks');
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\/console/);
    expect(setCookie).not.toContain(KEY);
    const page = await get('/console/sends', cookie);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toContain(KEY);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('refuses a wrong key with 401 and sets no cookie', async () => {
    const res = await h.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ key: 'not-a-key' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toContain('not valid');
  });

  it('sends pages without a session to sign-in, and refuses a bad bearer key with 401', async () => {
    const res = await get('/console/sends?status=failed');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(
      `/console/sign-in?next=${encodeURIComponent('/console/sends?status=failed')}`,
    );
    expect((await get('/console/sends', 'mailroom_console=v1.key_x.9999999999.n.forged')).status).toBe(303);
    const bad = await h.app.request('/console/sends', { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    const good = await h.app.request('/console/sends', { headers: { authorization: `Bearer ${KEY}` } });
    expect(good.status).toBe(200);
  });

  it('refuses a key without the read scope, and ends the session of a revoked key at once', async () => {
    const sender = await h.newKey({ scopes: ['send'] });
    const refused = await h.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ key: sender.key }),
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('set-cookie')).toBeNull();
    expect(await refused.text()).toContain('read scope');

    const reader = await h.newKey({ scopes: ['read'] });
    const { cookie } = await signIn(reader.key);
    expect((await get('/console/sends', cookie)).status).toBe(200);
    const revoked = await h.app.request(`/v1/api-keys/${reader.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${h.config.API_KEYS[0]}` },
    });
    expect(revoked.status).toBe(200);
    const after = await get('/console/sends', cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/console/sign-in');
  });

  it('refuses a form body over 16 KiB before reading it', async () => {
    const res = await h.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ key: 'k'.repeat(20_000) }),
    });
    expect(res.status).toBe(413);
  });

  it('never redirects off the console after sign-in', async () => {
    const res = await h.app.request('/console/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ key: KEY, next: '//evil.example/console' }),
    });
    expect(res.headers.get('location')).toBe('/console/sends');
  });

  it('signs out: the cookie is cleared', async () => {
    const { cookie } = await signIn(KEY);
    const csrf = csrfOf(await (await get('/console/sends', cookie)).text())!;
    const res = await post('/console/sign-out', cookie, { csrf });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/mailroom_console=;.*Max-Age=0/i);
  });
});

describe('console pages', () => {
  it('lists sends newest first, filters by status and recipient, and shows a send with its attempts', async () => {
    const to = `console-${randomUUID().slice(0, 8)}@example.com`;
    const sent = await api('POST', '/v1/emails', validEmail({ to, subject: 'Console <b>test</b>' }));
    expect(sent.status).toBe(202);
    await h.result(sent.body.id);
    const { cookie } = await signIn(KEY);

    const list = await (await get(`/console/sends?to=${encodeURIComponent(to)}&status=`, cookie)).text();
    expect(list).toContain(`/console/sends/${sent.body.id}`);
    // Escaped, never markup.
    expect(list).toContain('Console &lt;b&gt;test&lt;/b&gt;');
    const failedOnly = await (await get(`/console/sends?to=${encodeURIComponent(to)}&status=failed`, cookie)).text();
    expect(failedOnly).not.toContain(sent.body.id);

    const detail = await get(`/console/sends/${sent.body.id}`, cookie);
    expect(detail.status).toBe(200);
    const html = await detail.text();
    expect(html).toContain('Attempts (1)');
    expect(html).toMatch(/<span class="status s-sent">sent<\/span>/);
    expect(html).toContain(`http://localhost:8233/namespaces/default/workflows/email-${sent.body.id}`);
  });

  it('answers a bad filter with 400 naming it', async () => {
    const { cookie } = await signIn(KEY);
    const res = await get('/console/sends?status=lost', cookie);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('status');
  });

  it("shows another tenant's send and bulk as not found", async () => {
    const mine = await api('POST', '/v1/emails', validEmail());
    const { cookie } = await signIn(OTHER);
    expect((await get(`/console/sends/${mine.body.id}`, cookie)).status).toBe(404);
    expect(await (await get('/console/sends', cookie)).text()).not.toContain(mine.body.id);
    const other = await h.app.request(`/console/sends/${mine.body.id}`, {
      headers: { authorization: `Bearer ${OTHER}` },
    });
    expect(other.status).toBe(404);
  });

  it('pauses a running bulk from its page only with the session CSRF token', async () => {
    const bulk = await api('POST', '/v1/bulk', bulkBody(200, `cb-${randomUUID().slice(0, 6)}`, { rate_per_second: 2 }));
    expect(bulk.status).toBe(202);
    started.push(bulk.body.id);
    const { cookie } = await signIn(KEY);
    const list = await (await get('/console/bulks', cookie)).text();
    expect(list).toContain(`/console/bulks/${bulk.body.id}`);
    expect(list).toMatch(/role="img" aria-label="\d+ sent, 0 failed, 0 cancelled, \d+ pending of 200"/);

    const pageHtml = await (await get(`/console/bulks/${bulk.body.id}`, cookie)).text();
    const csrf = csrfOf(pageHtml)!;
    expect(csrf).toBeTruthy();

    const forged = await post(`/console/bulks/${bulk.body.id}/pause`, cookie, {});
    expect(forged.status).toBe(403);
    const wrong = await post(`/console/bulks/${bulk.body.id}/pause`, cookie, { csrf: `${csrf}x` });
    expect(wrong.status).toBe(403);
    // Another session's token is not this session's.
    const second = await signIn(KEY);
    expect((await post(`/console/bulks/${bulk.body.id}/pause`, second.cookie, { csrf })).status).toBe(403);
    expect((await api('GET', `/v1/bulk/${bulk.body.id}`)).body.status).not.toBe('paused');

    const paused = await post(`/console/bulks/${bulk.body.id}/pause`, cookie, { csrf });
    expect(paused.status).toBe(303);
    expect(paused.headers.get('location')).toBe(`/console/bulks/${bulk.body.id}?done=pause`);
    await expect
      .poll(async () => (await api('GET', `/v1/bulk/${bulk.body.id}`)).body.status, { timeout: 30_000 })
      .toBe('paused');
    const fragment = await (await get(`/console/bulks/${bulk.body.id}/progress`, cookie)).text();
    expect(fragment).toContain('data-status="paused"');
    expect(fragment).toContain('data-actions="resume cancel"');

    // The other tenant can neither see nor control it.
    const other = await signIn(OTHER);
    const otherCsrf = csrfOf(await (await get('/console/bulks', other.cookie)).text())!;
    expect((await post(`/console/bulks/${bulk.body.id}/resume`, other.cookie, { csrf: otherCsrf })).status).toBe(404);

    const cancelled = await post(`/console/bulks/${bulk.body.id}/cancel`, cookie, { csrf });
    expect(cancelled.status).toBe(303);
    await expect
      .poll(async () => (await api('GET', `/v1/bulk/${bulk.body.id}`)).body.status, { timeout: 30_000 })
      .toBe('cancelled');
    expect((await post(`/console/bulks/${bulk.body.id}/resume`, cookie, { csrf })).status).toBe(409);
  });

  it('lists suppressions and removes one, webhook endpoints with their state, and provider health', async () => {
    const email = `supp-${randomUUID().slice(0, 8)}@example.com`;
    expect((await api('POST', '/v1/suppressions', { email })).status).toBe(201);
    const hook = await api('POST', '/v1/webhook-endpoints', {
      url: 'https://hooks.example.com/mailroom',
      events: ['email.sent'],
    });
    expect(hook.status).toBe(201);
    const { cookie } = await signIn(KEY);

    const supp = await (await get('/console/suppressions', cookie)).text();
    expect(supp).toContain(email);
    const csrf = csrfOf(supp)!;
    expect((await post('/console/suppressions/remove', cookie, { email })).status).toBe(403);
    // A key of the same tenant that may only read sees the list, but cannot change it.
    const reader = await signIn((await h.newKey({ tenant: TENANT, scopes: ['read'] })).key);
    const readerPage = await (await get('/console/suppressions', reader.cookie)).text();
    expect(readerPage).toContain(email);
    const refused = await post('/console/suppressions/remove', reader.cookie, { email, csrf: csrfOf(readerPage)! });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('manage scope');
    const removed = await post('/console/suppressions/remove', cookie, { email, csrf });
    expect(removed.status).toBe(303);
    expect((await api('GET', '/v1/suppressions')).body.data.map((s: any) => s.email)).not.toContain(email);

    const hooks = await (await get('/console/webhooks', cookie)).text();
    expect(hooks).toContain('https://hooks.example.com/mailroom');
    expect(hooks).toContain('enabled');
    expect(hooks).not.toContain(hook.body.secret);
    expect(await (await get('/console/webhooks', (await signIn(OTHER)).cookie)).text()).not.toContain(
      'hooks.example.com',
    );

    // Nothing may be delivered to it: the endpoint exists only to be listed.
    expect((await api('DELETE', `/v1/webhook-endpoints/${hook.body.id}`)).status).toBe(200);

    const health = await (await get('/console/providers', cookie)).text();
    expect(health).toMatch(/SES<\/th>\s*<td><span class="status s-closed">closed/);
    expect(health).toContain('SMTP');
  });
});
