import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkBody, bulkResult, postBulk } from '../support/bulk.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

// Test files share the database: this file's keys are of tenants no other file writes to.
let KEY: string;
let OTHER: string;
const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  KEY = (await h.newKey()).key;
  OTHER = (await h.newKey()).key;
});
afterAll(() => h?.close());

async function list(path: string, key = KEY) {
  const res = await h.app.request(path, { headers: auth(key) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('GET /v1/emails', () => {
  const ids: string[] = [];
  beforeAll(async () => {
    // Created one after another, so newest first is the reverse of this order.
    for (const [i, to] of ['Ada Lovelace <Ada@Example.com>', 'bob@example.com', 'carol@example.com'].entries()) {
      const res = await h.send(validEmail({ to, tags: { campaign: i === 1 ? 'spring' : 'autumn' } }), { key: KEY });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    await Promise.all(ids.map((id) => h.result(id)));
  });

  it('lists the tenant’s sends newest first, in pages that join up without gaps or repeats', async () => {
    const first = await list('/v1/emails?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.data.map((e: any) => e.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.data[0]).toMatchObject({ status: 'sent', to: ['carol@example.com'], provider: 'ses' });
    const second = await list(`/v1/emails?limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((e: any) => e.id)).toEqual([ids[0]]);
    expect(second.body.next_cursor).toBeNull();
  });

  it('filters by status, recipient (whatever its case or display name), tag and creation time', async () => {
    const ofIds = async (query: string) => (await list(`/v1/emails?${query}`)).body.data.map((e: any) => e.id);
    expect(await ofIds('status=sent')).toEqual([ids[2], ids[1], ids[0]]);
    expect(await ofIds('status=failed')).toEqual([]);
    expect(await ofIds('to=ada@example.com')).toEqual([ids[0]]);
    expect(await ofIds('to=da@example.com')).toEqual([]);
    expect(await ofIds('tag=campaign:spring')).toEqual([ids[1]]);
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    expect(await ofIds(`created_after=${future}`)).toEqual([]);
    expect(await ofIds(`created_before=${future}&tag=campaign:autumn`)).toEqual([ids[2], ids[0]]);
  });

  it('shows nothing of another tenant’s sends, and refuses its cursors', async () => {
    expect((await list('/v1/emails', OTHER)).body.data).toEqual([]);
    const res = await list(`/v1/emails?cursor=${ids[1]}`, OTHER);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_error', field: 'cursor' });
  });

  it('answers 400 naming the filter that is wrong', async () => {
    for (const [query, field] of [
      ['status=delivered-ish', 'status'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['created_after=yesterday', 'created_after'],
      ['tag=no-colon', 'tag'],
      ['to=' + 'a'.repeat(321), 'to'],
      ['colour=blue', 'colour'],
    ]) {
      const res = await list(`/v1/emails?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error, query).toMatchObject({ code: 'validation_error', field });
    }
  });
});

describe('GET /v1/bulk', () => {
  it('lists the tenant’s bulks newest first with their status, filterable by status', async () => {
    const created = [];
    for (let i = 0; i < 2; i++) {
      const res = await postBulk(h, bulkBody(2, `list-${i}-${randomUUID().slice(0, 8)}`), auth());
      expect(res.status).toBe(202);
      created.push(res.body.id as string);
    }
    await Promise.all(created.map((id) => bulkResult(h, id)));
    const page = await list('/v1/bulk?limit=1');
    expect(page.body.data).toEqual([expect.objectContaining({ id: created[1], status: 'completed', total: 2 })]);
    const next = await list(`/v1/bulk?limit=1&cursor=${page.body.next_cursor}`);
    expect(next.body.data.map((b: any) => b.id)).toEqual([created[0]]);
    expect((await list('/v1/bulk?status=completed')).body.data.map((b: any) => b.id)).toEqual([created[1], created[0]]);
    expect((await list('/v1/bulk?status=running')).body.data).toEqual([]);
    expect((await list('/v1/bulk', OTHER)).body.data).toEqual([]);
  });
});
