import { describe, expect, it } from 'vitest';
import { parseRawSend, rawCopyFor } from '../../api/raw-request.js';
import { RequestError } from '../../api/fields.js';

const limits = { maxRecipients: 5, maxMessageBytes: 64 * 1024, maxAttachments: 10, maxScheduleAheadMs: 1 };
const mime = (headers: string[], body = 'Hello\r\nthere\r\n') => Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
const base = [
  'From: =?UTF-8?Q?Ad=C3=A1?= <ada@example.com>',
  'To: "Doe, Jo" <jo@example.com>, bo@example.com',
  'Cc: cy@example.com',
  'Bcc: hidden@example.com',
  'Subject: =?UTF-8?B?SMOpbGxv?=',
  'X-Custom: kept',
];

async function rejection(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RequestError);
  return err as RequestError;
}

describe('parseRawSend', () => {
  it('reads the recipients and subject from the headers and keeps the body as submitted', async () => {
    const { request } = await parseRawSend(mime(base), 'm1', { field: 'raw' }, limits);
    expect(request).toMatchObject({
      from: '"Adá" <ada@example.com>',
      to: ['"Doe, Jo" <jo@example.com>', 'bo@example.com'],
      cc: ['cy@example.com'],
      bcc: ['hidden@example.com'],
      subject: 'Héllo',
    });
    const sent = Buffer.from(request.raw!).toString();
    expect(sent).not.toMatch(/^Bcc:/im);
    expect(sent).toMatch(/^X-Custom: kept$/m);
    expect(sent).toMatch(/^Message-ID: <m1@example\.com>$/m);
    expect(sent).toMatch(/^Date: /m);
    expect(sent.endsWith('\r\n\r\nHello\r\nthere\r\n')).toBe(true);
  });

  it('takes the SMTP envelope as who receives it: Bcc is whoever is not shown', async () => {
    const { request } = await parseRawSend(
      mime(base),
      'm2',
      { field: 'message', envelopeTo: ['bo@example.com', 'secret@example.com'] },
      limits,
    );
    expect(request).toMatchObject({ to: ['bo@example.com'], cc: [], bcc: ['secret@example.com'] });
  });

  it('gives each recipient a copy addressed to them alone', async () => {
    const message = await parseRawSend(mime(base), 'm3', { field: 'raw' }, limits);
    const copy = rawCopyFor(message, '"Doe, Jo" <jo@example.com>');
    const text = Buffer.from(copy.raw!).toString();
    expect(copy).toMatchObject({ to: ['"Doe, Jo" <jo@example.com>'], cc: [], bcc: [] });
    expect(text.match(/^To: .*$/gm)).toEqual(['To: "Doe, Jo" <jo@example.com>']);
    expect(text).not.toMatch(/^Cc:/im);
  });

  it('refuses what the JSON API refuses, naming the field', async () => {
    expect(
      (await rejection(parseRawSend(mime([...base, 'X-SES-CONFIGURATION-SET: other']), 'x', { field: 'raw' }, limits)))
        .message,
    ).toMatch(/x-ses-configuration-set/);
    expect(
      (
        await rejection(
          parseRawSend(mime(['From: a@example.com', 'To: nobody@nowhere']), 'x', { field: 'raw' }, limits),
        )
      ).field,
    ).toBe('raw');
    expect(
      (
        await rejection(
          parseRawSend(Buffer.from('From: a@example.com\r\nno blank line'), 'x', { field: 'raw' }, limits),
        )
      ).message,
    ).toMatch(/blank line/);
    const many = ['From: a@example.com', `To: ${[1, 2, 3, 4, 5, 6].map((i) => `r${i}@example.com`).join(', ')}`];
    expect((await rejection(parseRawSend(mime(many), 'x', { field: 'raw' }, limits))).message).toMatch(/at most 5/);
    const big = await rejection(parseRawSend(mime(base, 'x'.repeat(70 * 1024)), 'x', { field: 'raw' }, limits));
    expect(big.tooLarge).toBe(true);
  });

  it('keeps a message written with bare LF line ends readable', async () => {
    const { request } = await parseRawSend(
      Buffer.from('From: a@example.com\nTo: b@example.com\nSubject: hi\n\nbody\n'),
      'm4',
      { field: 'raw' },
      limits,
    );
    expect(request.subject).toBe('hi');
    expect(Buffer.from(request.raw!).toString()).toMatch(/\nMessage-ID: <m4@example\.com>\nDate: [^\n]+\n\nbody\n$/);
  });
});
