// Truly concurrent requests with one Idempotency-Key: one send, one id for every answer, no 500;
// a different body under the same key is a 409; the losers' attachment copies are taken back.
import { randomUUID } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TENANT } from '../../api/principal.js';
import { bulkAttachments, bulkRecipients, bulks, messages } from '../../db/schema.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';
import { bulkBody, bulkResult, exactlyOnce, postBulk } from '../support/bulk.js';
import { listObjectKeys } from '../support/s3-objects.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const CONCURRENCY = 8;
const file = (text: string) => ({
  filename: 'terms.txt',
  content: Buffer.from(text).toString('base64'),
  content_type: 'text/plain',
});

const bulksWithKey = async (key: string) =>
  (
    await h.db
      .select({ n: count() })
      .from(bulks)
      .where(and(eq(bulks.tenantId, DEFAULT_TENANT), eq(bulks.idempotencyKey, key)))
  )[0]!.n;

describe('concurrent bulk requests with one key', () => {
  it('make one bulk: every answer is 202 with the same id, each recipient gets one copy', async () => {
    const key = `bulk-race-${randomUUID()}`;
    const body = bulkBody(5, 'race', { attachments: [file('same terms')] });
    const replies = await Promise.all(
      Array.from({ length: CONCURRENCY }, () => postBulk(h, body, { 'idempotency-key': key })),
    );
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(202);
    const ids = new Set(replies.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];

    expect(await bulksWithKey(key)).toBe(1);
    const [recipients] = await h.db.select({ n: count() }).from(bulkRecipients).where(eq(bulkRecipients.bulkId, id));
    expect(recipients!.n).toBe(5);

    // Every request put its own copy of the attachment; only the winner's is referenced and kept.
    const [stored] = await h.db.select().from(bulkAttachments).where(eq(bulkAttachments.bulkId, id));
    expect(await listObjectKeys(h.config, `bulks/${id}/`)).toEqual([stored!.objectKey]);

    expect(await bulkResult(h, id)).toMatchObject({ status: 'completed', sent: 5, failed: 0 });
    expect(exactlyOnce(h.ses.messages, 'race', [0, 1, 2, 3, 4])).toEqual([]);
  });

  it('with two different bodies: one body wins (202, one id), every request of the other gets 409', async () => {
    const key = `bulk-conflict-${randomUUID()}`;
    const a = bulkBody(2, 'conflict-a');
    const b = bulkBody(2, 'conflict-b');
    const replies = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        postBulk(h, i % 2 === 0 ? a : b, { 'idempotency-key': key }).then((r) => ({ ...r, body_: i % 2 })),
      ),
    );
    for (const r of replies) expect([202, 409], JSON.stringify(r.body)).toContain(r.status);
    const byBody = [0, 1].map((k) => new Set(replies.filter((r) => r.body_ === k).map((r) => r.status)));
    // Within one body every request got the same answer; the two bodies got different ones.
    expect(byBody.map((s) => s.size)).toEqual([1, 1]);
    expect([...byBody[0]!, ...byBody[1]!].sort()).toEqual([202, 409]);
    const accepted = replies.filter((r) => r.status === 202);
    expect(new Set(accepted.map((r) => r.body.id)).size).toBe(1);
    for (const r of replies.filter((x) => x.status === 409))
      expect(r.body).toMatchObject({ error: { code: 'idempotency_conflict', field: 'Idempotency-Key' } });
    expect(await bulksWithKey(key)).toBe(1);
    await bulkResult(h, accepted[0]!.body.id);
  });
});

describe('concurrent email requests with one key', () => {
  it('make one message: every answer is 202 with the same id, one copy delivered', async () => {
    const key = `email-race-${randomUUID()}`;
    const body = validEmail({ attachments: [file('email terms')] });
    const replies = await Promise.all(Array.from({ length: CONCURRENCY }, () => h.send(body, { idempotencyKey: key })));
    for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(202);
    const ids = new Set(replies.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];
    const rows = await h.db
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.tenantId, DEFAULT_TENANT), eq(messages.idempotencyKey, key)));
    expect(rows).toEqual([{ id }]);
    expect(await h.result(id)).toMatchObject({ status: 'sent' });
    expect(h.ses.messages.filter((m) => m.destination.includes(body.to as string))).toHaveLength(1);
    // One attachment object (the winner's) next to the composed MIME.
    expect((await listObjectKeys(h.config, `messages/${id}/attachments/`)).length).toBe(1);
  });
});
