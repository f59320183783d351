import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulks } from '../../db/schema.js';
import { bulkBody, bulkResult, postBulk, recipients } from '../support/bulk.js';
import { API_KEY, startHarness, type Harness } from '../support/harness.js';

const BODY_LIMIT = 64 * 1024;
let h: Harness;
let bulksBefore: number;
beforeAll(async () => {
  h = await startHarness({
    env: { BULK_MAX_RECIPIENTS: '50', MAX_ATTACHMENTS: '1', BULK_MAX_BODY_BYTES: String(BODY_LIMIT) },
    listen: true,
  });
  bulksBefore = await countBulks();
});
afterAll(() => h?.close());

// Test files run one at a time, so no other file adds bulks meanwhile.
const countBulks = async () => (await h.db.select({ n: count() }).from(bulks))[0]!.n;

const base = () => bulkBody(3, 'bad');
const withRecipients = (r: unknown[]) => ({ ...base(), recipients: r });
/** POST /v1/bulk as multipart, the recipients an uploaded CSV file. */
function postCsv(csv: string) {
  const form = new FormData();
  for (const [k, v] of Object.entries({ from: 'news@example.com', subject: 'Hi', text: 'Hello' })) form.set(k, v);
  form.set('recipients', new File([csv], 'list.csv', { type: 'text/csv' }));
  return h.app.request('/v1/bulk', { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` }, body: form });
}
const ok = (n: number) => ({ email: `ok-${n}@example.com`, name: `OK ${n}`, data: { n } });

const cases: [string, unknown, number, string][] = [
  ['an empty recipient list', withRecipients([]), 400, 'recipients'],
  ['more recipients than the limit', withRecipients(recipients(51, 'big')), 400, 'recipients'],
  ['no recipients field', { ...base(), recipients: undefined }, 400, 'recipients'],
  ['recipients that are not a list', { ...base(), recipients: 'a@example.com' }, 400, 'recipients'],
  ['an invalid address (strict)', withRecipients([ok(0), { ...ok(1), email: 'not-an-address' }]), 400, 'recipients[1]'],
  [
    'a duplicate recipient (strict)',
    withRecipients([ok(0), { ...ok(0), email: 'OK-0@example.com' }]),
    400,
    'recipients[1]',
  ],
  [
    'a recipient with an unknown field',
    withRecipients([{ email: 'a@example.com', name: 'A', age: 3 }]),
    400,
    'recipients[0]',
  ],
  [
    'a display name in the email field',
    withRecipients([{ email: 'Ana <a@example.com>', name: 'Ana' }]),
    400,
    'recipients[0]',
  ],
  [
    'a recipient lacking a template variable',
    withRecipients([{ email: 'a@example.com', name: 'A', data: {} }]),
    400,
    'recipients[0]',
  ],
  [
    'a recipient without the {{name}} the subject uses',
    withRecipients([{ email: 'a@example.com', data: { n: 1 } }]),
    400,
    'recipients[0]',
  ],
  ['a template that does not parse', { ...base(), subject: 'Hi {{#if name}}' }, 400, 'subject'],
  ['an html template that does not parse', { ...base(), html: '<p>{{name</p>' }, 400, 'html'],
  ['a line break in the subject', { ...base(), subject: 'Hi\r\nBcc: x@example.com' }, 400, 'subject'],
  ['no html and no text', { ...base(), html: undefined, text: undefined }, 400, 'html'],
  ['an invalid from', { ...base(), from: 'nobody' }, 400, 'from'],
  ['a rate of zero', { ...base(), rate_per_second: 0 }, 400, 'rate_per_second'],
  ['an unknown mode', { ...base(), mode: 'yolo' }, 400, 'mode'],
  ['an unknown top-level field', { ...base(), cc: 'x@example.com' }, 400, 'cc'],
  [
    'too many attachments',
    { ...base(), attachments: [1, 2].map((i) => ({ filename: `${i}.txt`, content: 'aGk=' })) },
    400,
    'attachments',
  ],
  ['a template using the lookup helper', { ...base(), html: '<p>{{lookup data "n"}}</p>' }, 400, 'html'],
  ['a template using a partial', { ...base(), text: '{{> footer}}' }, 400, 'text'],
  [
    'data nested deeper than 8 levels',
    withRecipients([ok(0), { ...ok(1), data: { n: 1, deep: [[[[[[[[[1]]]]]]]]] } }]),
    400,
    'recipients[1]',
  ],
  [
    'data with a list over 100 items',
    withRecipients([{ ...ok(0), data: { n: 0, list: Array.from({ length: 101 }, (_, i) => i) } }]),
    400,
    // Refused by the scan before JSON.parse: no list of a bulk is longer than its recipients or 100.
    'recipients[0].data.list',
  ],
  [
    'data over 16 KB of JSON',
    withRecipients([{ ...ok(0), data: { n: 0, blob: 'x'.repeat(17 * 1024) } }]),
    400,
    'recipients[0]',
  ],
  [
    'a template rendering past its cap for one recipient',
    {
      ...withRecipients([
        { ...ok(0), data: { n: 0, a: Array.from({ length: 100 }, (_, i) => i), s: 'y'.repeat(3000) } },
      ]),
      text: '{{#each data.a}}{{../data.s}}{{/each}}',
    },
    400,
    'recipients[0]',
  ],
  [
    'a recipient address over 320 characters',
    withRecipients([{ ...ok(0), email: `${'a'.repeat(400)}@example.com` }]),
    400,
    'recipients[0]',
  ],
  [
    'an X-SES-* header',
    { ...base(), headers: { 'X-SES-CONFIGURATION-SET': 'other' } },
    400,
    'headers.X-SES-CONFIGURATION-SET',
  ],
  [
    'lenient mode with no valid recipient',
    { ...withRecipients([{ email: 'nope' }]), mode: 'lenient' },
    400,
    'recipients',
  ],
];

describe('bad bulk input', () => {
  it.each(cases)('refuses %s with a 4xx naming the field', async (_name, body, status, field) => {
    const res = await postBulk(h, body);
    expect(res.status).toBe(status);
    expect(res.body.error.field).toBe(field);
    expect(res.body.error.message).toEqual(expect.any(String));
  });

  it('lists every rejected recipient by index in strict mode', async () => {
    const res = await postBulk(
      h,
      withRecipients([{ email: 'x' }, { email: 'ok@example.com', name: 'O', data: { n: 1 } }, { email: 'y@' }]),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.rejected.map((r: { index: number }) => r.index)).toEqual([0, 2]);
  });

  it('names the recipient and the bound its data crosses', async () => {
    const res = await postBulk(h, withRecipients([ok(0), { ...ok(1), data: { n: 1, l: Array(101).fill(0) } }]));
    expect(res.body.error.message).toContain('recipients[1].data.l has more than 100 items');
  });

  it('says which helper a template may not use', async () => {
    const res = await postBulk(h, { ...base(), html: '{{#with data}}{{n}}{{/with}}' });
    expect(res.body.error).toMatchObject({
      field: 'html',
      message: expect.stringContaining('{{#with}} is not allowed'),
    });
  });

  it('refuses a body over BULK_MAX_BODY_BYTES with 413 before reading it', async () => {
    const res = await postBulk(h, withRecipients(recipients(20, 'fat').map((r) => ({ ...r, name: 'n'.repeat(4000) }))));
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'payload_too_large', field: 'body' });
    expect(res.body.error.message).toContain(String(BODY_LIMIT));
  });

  it.each([
    [
      'more rows than BULK_MAX_RECIPIENTS',
      `email,name\n${recipients(51, 'csv-rows')
        .map((r) => `${r.email},A`)
        .join('\n')}\n`,
      'more than 50 rows',
    ],
    ['more than 50 columns', `email,${Array.from({ length: 50 }, (_, i) => `c${i}`).join(',')}\n`, '51 columns'],
    ['a cell over 4096 characters', `email,note\na@example.com,${'z'.repeat(4097)}\n`, 'longer than 4096'],
    [
      'a row over 16 KB',
      `email,${Array.from({ length: 10 }, (_, i) => `c${i}`).join(',')}\na@example.com${`,${'z'.repeat(2000)}`.repeat(10)}\n`,
      'Max Record Size',
    ],
  ])('refuses a recipients CSV with %s', async (_name, csv, says) => {
    const res = await postCsv(csv);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({
      field: 'recipients',
      message: expect.stringContaining(says),
    });
  });

  it('refuses an uploaded CSV at the first row past the cap, while the rest is still arriving', async () => {
    // An upload that never ends: the answer can only come from the rows read so far.
    const boundary = 'mailroom-test-boundary';
    const head =
      Object.entries({ from: 'news@example.com', subject: 'Hi', text: 'Hello' })
        .map(([k, v]) => `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join('') +
      `--${boundary}\r\ncontent-disposition: form-data; name="recipients"; filename="list.csv"\r\n` +
      'content-type: text/csv\r\n\r\nemail,name\n';
    const rows = recipients(60, 'endless').map((r) => `${r.email},A\n`);
    let upload!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        upload = controller;
        controller.enqueue(new TextEncoder().encode(head + rows.join('')));
      },
    });
    const res = await h.app.request('/v1/bulk', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({
      field: 'recipients',
      message: expect.stringContaining('more than 50 rows'),
    });
    upload.close();
  });

  it('keeps the connection usable after refusing an upload before its end', async () => {
    // fetch reuses the connection: each refused upload is followed by a request on it.
    const rows = `email,name\n${recipients(2_000, 'reuse')
      .map((r) => `${r.email},A`)
      .join('\n')}\n`;
    for (let i = 0; i < 3; i++) {
      const form = new FormData();
      for (const [k, v] of Object.entries({ from: 'news@example.com', subject: 'Hi', text: 'Hello' })) form.set(k, v);
      form.set('recipients', new File([rows], 'list.csv', { type: 'text/csv' }));
      const res = await fetch(`${h.apiUrl}/v1/bulk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}` },
        body: form,
      });
      expect(res.status).toBe(400);
      await res.arrayBuffer();
      expect((await fetch(`${h.apiUrl}/health`)).status).toBe(200);
    }
  });

  it('refuses a malformed recipients CSV', async () => {
    const res = await postCsv('email,name\n"unterminated,A\n');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.field).toBe('recipients');
  });

  it('refuses a CSV without an email column', async () => {
    const res = await postCsv('mail,name\na@example.com,A\n');
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({
      field: 'recipients',
      message: expect.stringContaining('email'),
    });
  });

  it('started and stored nothing for any of them', async () => {
    expect(await countBulks()).toBe(bulksBefore);
    expect(await h.workflowCount()).toBe(0);
  });
});

describe('good bulk input', () => {
  it('skips and reports bad recipients in lenient mode, sending to the rest', async () => {
    const res = await postBulk(h, {
      ...withRecipients([
        { email: 'len-0@example.com', name: 'A', data: { n: 0 } },
        { email: 'broken' },
        { email: 'LEN-0@example.com', name: 'dup', data: { n: 9 } },
        { email: 'len-1@example.com', name: 'B', data: { n: 1 } },
      ]),
      mode: 'lenient',
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ total: 2, accepted: 2 });
    expect(res.body.rejected.map((r: { index: number }) => r.index)).toEqual([1, 2]);
    expect(await bulkResult(h, res.body.id)).toMatchObject({ status: 'completed', sent: 2 });
  });

  it('takes recipients as an uploaded CSV with data columns', async () => {
    const form = new FormData();
    for (const [k, v] of Object.entries({
      from: 'news@example.com',
      subject: 'Hi {{name}}',
      text: 'Code {{data.code}}',
    }))
      form.set(k, v);
    form.set(
      'recipients',
      new File(['email,name,code\ncsv-0@example.com,Ana,A1\ncsv-1@example.com,Bo,B2\n'], 'list.csv'),
    );
    const res = await h.app.request('/v1/bulk', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}` },
      body: form,
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as any;
    expect(await bulkResult(h, body.id)).toMatchObject({ status: 'completed', sent: 2 });
    const mail = h.ses.messages.find((m) => m.destination[0] === 'csv-1@example.com');
    expect(mail?.raw.toString()).toContain('Code B2');
  });
});
