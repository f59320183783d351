import { describe, expect, it } from 'vitest';
import { parseSendRequest, type SendRequest } from '../../api/send-request.js';

const limits = { maxRecipients: 4, maxMessageBytes: 2048, maxAttachments: 2, maxScheduleAheadMs: 86_400_000 };
const base = { from: 'sender@example.com', to: 'a@example.com', subject: 'Hi', text: 't' };
const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
const file = (n: number, filename = 'f.bin') => ({
  filename,
  contentType: 'application/octet-stream',
  bytes: new Uint8Array(n),
});

/** The error parseSendRequest throws, with the fields the API turns into its envelope. */
function rejection(body: unknown, files: ReturnType<typeof file>[] = [], l = limits) {
  try {
    parseSendRequest(body, files, l);
  } catch (err) {
    return err as Error & { field: string; tooLarge: boolean };
  }
  throw new Error('parseSendRequest accepted the request');
}

describe('parseSendRequest', () => {
  it('normalises a valid body: lists, addresses, defaults and decoded attachments', () => {
    const r: SendRequest = parseSendRequest(
      {
        ...base,
        from: 'Sender <sender@Example.COM>',
        cc: ['c@bücher.example'],
        attachments: [{ filename: 'a.txt', content: Buffer.from('hello').toString('base64') }],
      },
      [],
      limits,
    );
    expect(r).toMatchObject({
      from: '"Sender" <sender@example.com>',
      to: ['a@example.com'],
      cc: ['c@xn--bcher-kva.example'],
      bcc: [],
      replyTo: [],
      headers: {},
      tags: {},
    });
    expect(r.attachments).toEqual([
      { filename: 'a.txt', contentType: 'application/octet-stream', bytes: Buffer.from('hello') },
    ]);
  });

  it('accepts exactly the recipient limit across to, cc and bcc', () => {
    const r = parseSendRequest(
      { ...base, to: ['a@example.com', 'b@example.com'], cc: 'c@example.com', bcc: 'd@example.com' },
      [],
      limits,
    );
    expect(r.to.length + r.cc.length + r.bcc.length).toBe(limits.maxRecipients);
  });

  it('rejects one recipient over the limit, counting bcc, naming to', () => {
    const err = rejection({
      ...base,
      to: ['a@example.com', 'b@example.com'],
      cc: 'c@example.com',
      bcc: ['d@example.com', 'e@example.com'],
    });
    expect(err).toMatchObject({ field: 'to', tooLarge: false });
    expect(err.message).toContain('at most 4 recipients');
    expect(err.message).toContain('got 5');
  });

  it('does not count reply_to as a recipient', () => {
    expect(() =>
      parseSendRequest(
        {
          ...base,
          to: ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com'],
          reply_to: 'r@example.com',
        },
        [],
        limits,
      ),
    ).not.toThrow();
  });

  it('counts uploaded files and JSON attachments together against the attachment limit', () => {
    const json = [{ filename: 'a.txt', content: b64(3) }];
    expect(parseSendRequest({ ...base, attachments: json }, [file(1)], limits).attachments).toHaveLength(2);
    expect(rejection({ ...base, attachments: json }, [file(1), file(1)])).toMatchObject({
      field: 'attachments',
      tooLarge: false,
    });
  });

  it('rejects any attachment when the limit is 0', () => {
    expect(rejection(base, [file(1)], { ...limits, maxAttachments: 0 })).toMatchObject({ field: 'attachments' });
  });

  it('accepts a message of exactly the byte limit and rejects one byte more as too large', () => {
    const text = 'x'.repeat(48);
    // 2000 bytes of attachment + 48 of text = 2048.
    expect(() => parseSendRequest({ ...base, text }, [file(2000)], limits)).not.toThrow();
    const err = rejection({ ...base, text: `${text}x` }, [file(2000)]);
    expect(err).toMatchObject({ field: 'attachments', tooLarge: true });
    expect(err.message).toContain('2049');
  });

  it('measures attachments by their decoded size, not their base64 length', () => {
    // 1500 bytes are 2000 base64 characters: within 2048 decoded.
    const attachments = [{ filename: 'a.bin', content: b64(1500) }];
    expect(parseSendRequest({ ...base, attachments }, [], limits).attachments[0]!.bytes.byteLength).toBe(1500);
  });

  it('measures html and text in UTF-8 bytes, not characters', () => {
    // 1100 characters, 2200 bytes.
    expect(rejection({ ...base, text: undefined, html: 'ü'.repeat(1100) })).toMatchObject({ tooLarge: true });
  });

  it('checks the schema before the limits, so the first problem reported is the malformed field', () => {
    expect(rejection({ ...base, subject: '' }, [file(5000)])).toMatchObject({ field: 'subject', tooLarge: false });
  });

  describe('send window', () => {
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();

    it('keeps a future scheduled_at and a not_after after it', () => {
      const r = parseSendRequest({ ...base, scheduled_at: at(60_000), not_after: at(120_000) }, [], limits);
      expect(r.scheduledAt!.getTime()).toBeGreaterThan(Date.now());
      expect(r.notAfter!.getTime()).toBeGreaterThan(r.scheduledAt!.getTime());
    });

    it('sends at once for a scheduled_at already past, and takes offsets other than Z', () => {
      expect(parseSendRequest({ ...base, scheduled_at: at(-5_000) }, [], limits).scheduledAt).toBeUndefined();
      const r = parseSendRequest({ ...base, scheduled_at: '2999-01-01T10:00:00+02:00' }, [], {
        ...limits,
        maxScheduleAheadMs: Number.MAX_SAFE_INTEGER,
      });
      expect(r.scheduledAt!.toISOString()).toBe('2999-01-01T08:00:00.000Z');
    });

    it('names the field for a time without a zone, too far ahead, or a not_after that is not later', () => {
      expect(rejection({ ...base, scheduled_at: '2030-01-01T10:00:00' })).toMatchObject({ field: 'scheduled_at' });
      expect(rejection({ ...base, scheduled_at: at(2 * 86_400_000) })).toMatchObject({ field: 'scheduled_at' });
      expect(rejection({ ...base, not_after: at(-1_000) })).toMatchObject({ field: 'not_after' });
      expect(rejection({ ...base, scheduled_at: at(60_000), not_after: at(30_000) })).toMatchObject({
        field: 'not_after',
      });
    });
  });
});
