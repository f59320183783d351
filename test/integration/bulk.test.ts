import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkWorkflowId, progressQuery } from '../../workflows/contracts.js';
import { bulkAction, bulkBody, bulkResult, exactlyOnce, getBulk, parse, postBulk } from '../support/bulk.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SES_MAX_SEND_RATE: '2000', BULK_BATCH_SIZE: '50' } });
});
afterAll(() => h?.close());

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('bulk send', () => {
  it('gives each of 1,000 recipients exactly one copy, addressed only to them, with their variables', async () => {
    const res = await postBulk(h, bulkBody(1000, 'k1', { rate_per_second: 1000 }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', total: 1000, accepted: 1000, rejected: [] });
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: 1000, sent: 1000, failed: 0, cancelled: 0, pending: 0 });

    const mine = h.ses.messages.filter((m) => m.destination.some((d) => d.startsWith('k1-')));
    expect(exactlyOnce(mine, 'k1', range(1000))).toEqual([]);
    for (const m of mine.filter((_, i) => i % 97 === 0)) {
      expect(m.destination).toHaveLength(1);
      const n = Number(/k1-(\d+)@/.exec(m.destination[0]!)![1]);
      const mail = await parse(m);
      expect(mail.to).toMatchObject({ value: [{ address: `k1-${n}@example.com`, name: `Person ${n}` }] });
      expect(mail.cc).toBeUndefined();
      expect(mail.headers.has('bcc')).toBe(false);
      expect(mail.subject).toBe(`Hello Person ${n}`);
      expect(mail.text?.trim()).toBe(`Hi Person ${n}, you are number ${n}`);
      expect(
        m.raw
          .toString('latin1')
          .match(/k1-\d+@example\.com/g)
          ?.every((a) => a === `k1-${n}@example.com`),
      ).toBe(true);
    }

    const status = await getBulk(h, res.body.id);
    expect(status).toMatchObject({ status: 'completed', total: 1000, sent: 1000, failed: 0, cancelled: 0, pending: 0 });
    expect(status.finished_at).not.toBeNull();

    // Paged outcomes cover every recipient once.
    const seen: number[] = [];
    let cursor: number | null = null;
    do {
      const page = await bulkAction(
        h,
        res.body.id,
        `/recipients?status=sent&limit=300${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status).toBe(200);
      for (const r of page.body.data) {
        expect(r).toMatchObject({ status: 'sent', provider: 'ses', provider_message_id: expect.any(String) });
        seen.push(r.index);
      }
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(range(1000));
  });

  it('escapes recipient data in HTML but not in the text part', async () => {
    const res = await postBulk(h, {
      from: 'news@example.com',
      subject: 'Hi {{name}}',
      html: '<p>{{data.note}}</p>',
      text: '{{data.note}}',
      recipients: [{ email: 'esc-0@example.com', name: 'Ana', data: { note: '<script>x</script> & co' } }],
    });
    await bulkResult(h, res.body.id);
    const mail = await parse(h.ses.messages.find((m) => m.destination[0] === 'esc-0@example.com')!);
    expect(mail.html).toContain('&lt;script&gt;x&lt;/script&gt; &amp; co');
    expect(mail.text?.trim()).toBe('<script>x</script> & co');
  });

  it('fails over to SMTP per message while SES is down, and records the provider per recipient', async () => {
    await h.ses.down();
    try {
      const res = await postBulk(h, bulkBody(30, 'fo', { rate_per_second: 200 }));
      const result = await bulkResult(h, res.body.id);
      expect(result).toMatchObject({ status: 'completed', sent: 30, failed: 0 });
    } finally {
      await h.ses.up();
    }
    const delivered = h.smtp.mails.filter((m) => m.to[0]?.startsWith('fo-'));
    expect(
      delivered
        .map((m) => m.to)
        .flat()
        .sort(),
    ).toEqual(
      range(30)
        .map((i) => `fo-${i}@example.com`)
        .sort(),
    );
  });

  it('retries throttled recipients without duplicates and marks permanent rejects failed after one attempt', async () => {
    h.ses.failNext('throttle', 'reject', 'error500', 'throttle');
    const res = await postBulk(h, bulkBody(40, 'tr', { rate_per_second: 400 }));
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', total: 40, sent: 39, failed: 1, cancelled: 0, pending: 0 });
    const failed = await bulkAction(h, res.body.id, '/recipients?status=failed');
    expect(failed.body.data).toHaveLength(1);
    expect(failed.body.data[0]).toMatchObject({ attempts: 1, error: expect.stringContaining('MessageRejected') });
    const sentIdx = range(40).filter((i) => i !== failed.body.data[0].index);
    expect(exactlyOnce(h.ses.messages, 'tr', sentIdx)).toEqual([]);
  });

  it('pauses, sends nothing while paused, and resumes where it stopped without duplicates or skips', async () => {
    const res = await postBulk(h, bulkBody(300, 'pr', { rate_per_second: 100 }));
    await h.ses.waitForMessages(h.ses.messages.length + 30);
    const paused = await bulkAction(h, res.body.id, '/pause');
    expect(paused.status).toBe(200);
    expect(paused.body.phase).toBe('paused');
    await expect.poll(async () => (await getBulk(h, res.body.id)).status, { timeout: 10_000 }).toBe('paused');

    const sentWhenPaused = h.ses.messages.filter((m) => m.destination[0]!.startsWith('pr-')).length;
    expect(sentWhenPaused).toBeLessThan(300);
    // Proving an absence needs a window: a single send goes through meanwhile, and the bulk does not move.
    const probe = await h.send(validEmail());
    await h.result(probe.body.id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.ses.messages.filter((m) => m.destination[0]!.startsWith('pr-')).length).toBe(sentWhenPaused);
    expect((await getBulk(h, res.body.id)).sent).toBe(sentWhenPaused);
    // Recipients the interrupted batch had claimed but not reached are pending and unattempted.
    const waiting = await bulkAction(h, res.body.id, '/recipients?status=pending&limit=1000');
    expect(waiting.body.data.length).toBe(300 - sentWhenPaused);
    expect(waiting.body.data.every((r: { attempts: number }) => r.attempts === 0)).toBe(true);

    const resumed = await bulkAction(h, res.body.id, '/resume');
    expect(resumed.body.phase).toBe('running');
    const result = await bulkResult(h, res.body.id);
    expect(result).toMatchObject({ status: 'completed', sent: 300, pending: 0 });
    expect(exactlyOnce(h.ses.messages, 'pr', range(300))).toEqual([]);
  });

  it('delivers a single send promptly while a bulk is running', async () => {
    const res = await postBulk(h, bulkBody(400, 'bg', { rate_per_second: 100 }));
    await h.ses.waitForMessages(h.ses.messages.length + 20);
    const body = validEmail();
    const single = await h.send(body);
    expect(await h.result(single.body.id)).toMatchObject({ status: 'sent' });
    // Not queued behind the bulk: when SES got the single send, most of the bulk was still to come
    // (order, not wall time: the precise latency is the benchmark's).
    const at = h.ses.messages.findIndex((m) => m.destination.includes(body.to));
    const bulkBefore = h.ses.messages.slice(0, at).filter((m) => m.destination[0]!.startsWith('bg-')).length;
    expect(bulkBefore).toBeLessThan(300);
    expect((await getBulk(h, res.body.id)).status).toBe('running');
    await bulkAction(h, res.body.id, '/cancel');
    await bulkResult(h, res.body.id);
  });

  it('answers the progress query and refuses controls once the bulk is finished', async () => {
    const res = await postBulk(h, bulkBody(5, 'fin', { rate_per_second: 100 }));
    const handle = h.client.workflow.getHandle(bulkWorkflowId(res.body.id));
    const progress = await handle.query(progressQuery);
    expect(progress).toMatchObject({ total: 5 });
    await bulkResult(h, res.body.id);
    const late = await bulkAction(h, res.body.id, '/pause');
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ code: 'bulk_finished', field: 'id' });
  });
});
