// The console and the docs in a real browser (Debian's Chromium driven by playwright-core), with
// every request outside this host blocked and recorded: sign in, watch a bulk's progress bar move,
// pause, resume and cancel it from its buttons, open a failed send, render /docs offline.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkWorkflowId } from '../../workflows/contracts.js';
import { bulkBody } from '../support/bulk.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not on PATH under this name
    }
  }
  return undefined;
}
const chromiumPath = findChromium();
if (!chromiumPath) console.warn('console-browser tests skipped: no chromium on PATH (apt-get install -y chromium)');

const ADMIN_KEY = `console-browser-${randomUUID()}`;
/** A key of a tenant of its own: the default tenant's console would list every other test file's sends too. */
let KEY: string;
const shots = fileURLToPath(new URL('../out/browser/', import.meta.url));
const local = new Set(['127.0.0.1', 'localhost']);

let h: Harness;
let server: ServerType;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the page asked for; anything not on this host is also refused. */
const requested: string[] = [];
const bulks: string[] = [];

const api = async (path: string, body: unknown) => {
  const res = await h.app.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const offHost = () => requested.filter((u) => !u.startsWith('data:') && !local.has(new URL(u).hostname));

describe.skipIf(!chromiumPath)('the console in a browser, offline', () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    h = await startHarness({ env: { API_KEYS: ADMIN_KEY, BULK_BATCH_SIZE: '5' } });
    KEY = (await h.newKey()).key;
    server = await new Promise<ServerType>((resolve) => {
      const s: ServerType = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      // root in a container has no user namespace sandbox
      args: ['--no-sandbox', '--disable-background-networking', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      return local.has(new URL(url).hostname) ? route.continue() : route.abort('internetdisconnected');
    });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(
      bulks.map((id) =>
        h.client.workflow
          .getHandle(bulkWorkflowId(id))
          .terminate()
          .catch(() => {}),
      ),
    );
    if (server) await new Promise((resolve) => server.close(resolve));
    await h?.close();
  });

  it('signs in, lists a failed send with its attempts, watches a bulk progress live and pauses, resumes, cancels it', async () => {
    h.ses.failNext('reject');
    const failed = await api('/v1/emails', validEmail({ subject: 'Refused by SES' }));
    await h.result(failed.body.id);
    const bulk = await api('/v1/bulk', bulkBody(120, `br-${randomUUID().slice(0, 6)}`, { rate_per_second: 3 }));
    expect(bulk.status).toBe(202);
    bulks.push(bulk.body.id);

    await page.goto(`${base}/console`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/sign-in');
    await page.getByLabel('API key').fill('wrong-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sends' }).waitFor();
    const cookies = await context.cookies();
    // The session goes to the console and to the codec endpoint (the Web UI decrypting payloads), nowhere else.
    expect(cookies.map((c) => [c.name, c.path, c.httpOnly, c.sameSite]).sort()).toEqual([
      ['mailroom_console', '/codec', true, 'Strict'],
      ['mailroom_console', '/console', true, 'Strict'],
    ]);
    for (const c of cookies) expect(c.value).not.toContain(KEY);
    await page.screenshot({ path: join(shots, 'sends.png'), fullPage: true });

    await page.getByRole('link', { name: 'Refused by SES' }).click();
    await page.getByRole('heading', { name: 'Attempts (1)' }).waitFor();
    await expect.poll(() => page.locator('table').first().textContent()).toContain('rejected');
    await page.screenshot({ path: join(shots, 'send.png'), fullPage: true });

    await page.getByRole('link', { name: 'Bulks', exact: true }).click();
    await page.getByRole('link', { name: `Bulk ${bulk.body.id}` }).click();
    const status = page.locator('.progress [data-role=status]');
    const counts = page.locator('.progress [data-role=counts]');
    // A mark on this document: the bar must move by the page's own script, not by a reload.
    await page.evaluate(() => ((globalThis as any).stillThisPage = true));
    const first = await counts.textContent();
    await expect.poll(() => counts.textContent(), { timeout: 15_000 }).not.toBe(first);
    expect(await page.evaluate(() => (globalThis as any).stillThisPage)).toBe(true);
    await page.screenshot({ path: join(shots, 'bulk-running.png'), fullPage: true });

    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('status').filter({ hasText: 'Paused' }).waitFor();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect(await page.getByRole('button', { name: 'Pause' }).isVisible()).toBe(false);
    await page.screenshot({ path: join(shots, 'bulk-paused.png'), fullPage: true });

    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('running');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toBe('cancelled');
    await page.screenshot({ path: join(shots, 'bulk-cancelled.png'), fullPage: true });

    for (const section of ['Suppressions', 'Webhooks', 'Providers']) {
      await page.getByRole('link', { name: section, exact: true }).click();
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.screenshot({ path: join(shots, `${section.toLowerCase()}.png`), fullPage: true });
    }

    expect(requested.length).toBeGreaterThan(10);
    expect(offHost()).toEqual([]);
  });

  it('renders the API reference at /docs with every asset from this host', async () => {
    const before = requested.length;
    await page.goto(`${base}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/v1/emails' }).first().waitFor();
    expect(await page.locator('.opblock').count()).toBeGreaterThan(10);
    await page.screenshot({ path: join(shots, 'docs.png'), fullPage: false });
    const docs = requested.slice(before);
    expect(docs.some((u) => u.endsWith('/swagger-ui-bundle.js'))).toBe(true);
    expect(docs.some((u) => u.endsWith('/openapi.json'))).toBe(true);
    expect(offHost()).toEqual([]);
  });
});
