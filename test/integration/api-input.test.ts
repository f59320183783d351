import { randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TENANT } from '../../api/principal.js';
import { attachments, messages } from '../../db/schema.js';
import { API_KEY, startHarness, validEmail, type Harness } from '../support/harness.js';
import { listObjectKeys } from '../support/s3-objects.js';

// Small limits so each one is easy to cross.
const MAX_RECIPIENTS = 3;
const MAX_ATTACHMENTS = 2;
const MAX_MESSAGE_BYTES = 4096;

let h: Harness;
let before: { messages: number; attachments: number };

async function rowCounts() {
  // The database is shared by every file of the run; files run one at a time, so a before/after
  // difference on our tenant's rows is this file's doing.
  const [m] = await h.db.select({ n: count() }).from(messages).where(eq(messages.tenantId, DEFAULT_TENANT));
  const [a] = await h.db.select({ n: count() }).from(attachments);
  return { messages: m!.n, attachments: a!.n };
}

beforeAll(async () => {
  h = await startHarness({
    env: {
      MAX_RECIPIENTS: String(MAX_RECIPIENTS),
      MAX_ATTACHMENTS: String(MAX_ATTACHMENTS),
      MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
    },
  });
  before = await rowCounts();
});
afterAll(() => h?.close());

interface Reply {
  status: number;
  body: Record<string, any>;
}

async function post(o: {
  body: NonNullable<ConstructorParameters<typeof Request>[1]>['body'];
  contentType?: string;
  headers?: Record<string, string>;
  authorization?: string | null;
}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.authorization !== null) headers.authorization = o.authorization ?? `Bearer ${API_KEY}`;
  // FormData bodies get their multipart boundary from the Request itself.
  if (o.contentType) headers['content-type'] = o.contentType;
  const res = await h.app.request('/v1/emails', { method: 'POST', headers, body: o.body });
  const text = await res.text();
  let body: Record<string, any>;
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    body = { unparsed: text };
  }
  return { status: res.status, body };
}

function expectError(res: Reply, status: number, code: string, field: string) {
  expect(res.body, JSON.stringify(res.body)).toMatchObject({ error: { code, field, message: expect.any(String) } });
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(res.status).toBe(status);
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const tiny = { filename: 'a.txt', content: b64('hello'), content_type: 'text/plain' };
const without = (key: string) => {
  const body: Record<string, unknown> = validEmail();
  delete body[key];
  return body;
};

interface JsonCase {
  name: string;
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field: string;
}

const jsonCases: JsonCase[] = [
  { name: 'malformed JSON', raw: '{"from": nope}', status: 400, code: 'invalid_json', field: 'body' },
  {
    name: 'truncated JSON',
    raw: JSON.stringify(validEmail()).slice(0, -12),
    status: 400,
    code: 'invalid_json',
    field: 'body',
  },
  { name: 'an empty JSON body', raw: '', status: 400, code: 'invalid_json', field: 'body' },
  {
    name: 'a duplicate key whose last value is valid',
    raw: `{"subject":"Hi\\r\\nBcc: x@evil.test",${JSON.stringify(validEmail()).slice(1)}`,
    status: 400,
    code: 'validation_error',
    field: 'subject',
  },
  {
    name: 'a duplicate key inside an attachment',
    raw: JSON.stringify(validEmail({ attachments: [{ filename: 'a.txt', content: 'aGk=' }] })).replace(
      '"filename":"a.txt"',
      '"filename":"a.txt","filename":"../x"',
    ),
    status: 400,
    code: 'validation_error',
    field: 'attachments[0].filename',
  },
  { name: 'a JSON null body', body: null, status: 400, code: 'validation_error', field: 'body' },
  {
    name: 'a text/plain body',
    raw: JSON.stringify(validEmail()),
    contentType: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
    field: 'Content-Type',
  },
  {
    name: 'a form-urlencoded body',
    raw: 'from=a%40example.com',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'unsupported_media_type',
    field: 'Content-Type',
  },
  { name: 'a missing from', body: without('from'), status: 400, code: 'validation_error', field: 'from' },
  { name: 'a missing to', body: without('to'), status: 400, code: 'validation_error', field: 'to' },
  { name: 'an empty to list', body: validEmail({ to: [] }), status: 400, code: 'validation_error', field: 'to' },
  { name: 'a missing subject', body: without('subject'), status: 400, code: 'validation_error', field: 'subject' },
  {
    name: 'a subject that is not a string',
    body: validEmail({ subject: 42 }),
    status: 400,
    code: 'validation_error',
    field: 'subject',
  },
  {
    name: 'neither html nor text',
    body: validEmail({ html: undefined, text: undefined }),
    status: 400,
    code: 'validation_error',
    field: 'html',
  },
  {
    name: 'an invalid from',
    body: validEmail({ from: 'sender' }),
    status: 400,
    code: 'validation_error',
    field: 'from',
  },
  {
    name: 'an invalid to address',
    body: validEmail({ to: 'not-an-address' }),
    status: 400,
    code: 'validation_error',
    field: 'to',
  },
  {
    name: 'an invalid cc address',
    body: validEmail({ cc: 'cc@nodot' }),
    status: 400,
    code: 'validation_error',
    field: 'cc',
  },
  {
    name: 'an invalid bcc address',
    body: validEmail({ bcc: 'two@@example.com' }),
    status: 400,
    code: 'validation_error',
    field: 'bcc',
  },
  {
    name: 'an invalid reply_to address',
    body: validEmail({ reply_to: 'reply to@example.com' }),
    status: 400,
    code: 'validation_error',
    field: 'reply_to',
  },
  {
    name: 'a header injection through a to address',
    body: validEmail({ to: 'a@example.com\r\nBcc: victim@example.net' }),
    status: 400,
    code: 'validation_error',
    field: 'to',
  },
  {
    name: 'a display name containing <',
    body: validEmail({ to: 'Evil <script> <a@example.com>' }),
    status: 400,
    code: 'validation_error',
    field: 'to',
  },
  {
    name: 'CR/LF in the subject',
    body: validEmail({ subject: 'Hi\r\nBcc: victim@example.net' }),
    status: 400,
    code: 'validation_error',
    field: 'subject',
  },
  {
    name: 'CR/LF in a header value',
    body: validEmail({ headers: { 'X-Campaign': 'spring\r\nBcc: victim@example.net' } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.X-Campaign',
  },
  {
    name: 'a reserved Bcc header',
    body: validEmail({ headers: { Bcc: 'victim@example.net' } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.Bcc',
  },
  {
    name: 'a reserved header in lower case',
    body: validEmail({ headers: { 'content-type': 'text/plain' } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.content-type',
  },
  {
    name: 'an invalid header name',
    body: validEmail({ headers: { 'X Bad:Name': 'v' } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.X Bad:Name',
  },
  {
    name: 'an SES control header (X-SES-*), in any case',
    body: validEmail({ headers: { 'x-SeS-Configuration-Set': 'other-tenant' } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.x-SeS-Configuration-Set',
  },
  {
    name: 'an X-SES-SOURCE-ARN header',
    body: validEmail({ headers: { 'X-Campaign': 'a', 'X-SES-SOURCE-ARN': 'arn:aws:ses:us-east-1:1:identity/x' } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.X-SES-SOURCE-ARN',
  },
  {
    name: 'a header line over 998 characters',
    body: validEmail({ headers: { 'X-Long': 'v'.repeat(998 - 'X-Long: '.length + 1) } }),
    status: 400,
    code: 'validation_error',
    field: 'headers.X-Long',
  },
  {
    name: 'more than 50 headers',
    body: validEmail({ headers: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`X-H${i}`, 'v'])) }),
    status: 400,
    code: 'validation_error',
    field: 'headers',
  },
  {
    name: 'an address over 320 characters, in a list',
    body: validEmail({ to: ['a@example.com', 'b@example.com', `${'x'.repeat(60)}@${'d'.repeat(300)}.com`] }),
    status: 400,
    code: 'validation_error',
    field: 'to[2]',
  },
  {
    name: 'a from of one character, spaces and another character',
    body: validEmail({ from: `a${' '.repeat(64 * 1024)}b` }),
    status: 400,
    code: 'validation_error',
    field: 'from',
  },
  {
    name: 'a display name over 256 characters',
    body: validEmail({ cc: [`${'N'.repeat(257)} <c@example.com>`] }),
    status: 400,
    code: 'validation_error',
    field: 'cc[0]',
  },
  {
    name: 'a content_type over 255 characters',
    body: validEmail({ attachments: [{ ...tiny, content_type: `text/${'x'.repeat(300)}` }] }),
    status: 400,
    code: 'validation_error',
    field: 'attachments[0].content_type',
  },
  {
    name: 'an object of more than 1,000 keys, refused before JSON.parse builds it',
    raw: JSON.stringify(
      validEmail({ headers: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`X-${i}`, 'v'])) }),
    ),
    status: 400,
    code: 'validation_error',
    field: 'headers',
  },
  {
    name: 'a 100 KB reply_to, refused before JSON.parse builds it',
    body: validEmail({ reply_to: [`N${' '.repeat(100_000)}N <r@example.com>`] }),
    status: 400,
    code: 'validation_error',
    field: 'reply_to[0]',
  },
  {
    name: 'a list of more than 1,000 items, refused before JSON.parse builds it',
    body: validEmail({ to: Array.from({ length: 1001 }, (_, i) => `r${i}@example.com`) }),
    status: 400,
    code: 'validation_error',
    field: 'to',
  },
  {
    name: 'JSON nested deeper than 32 levels',
    raw: `{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    status: 400,
    code: 'validation_error',
    field: 'x'.concat('[0]'.repeat(31)),
  },
  {
    name: 'an unknown top-level field',
    body: validEmail({ priority: 'high' }),
    status: 400,
    code: 'validation_error',
    field: 'priority',
  },
  {
    name: 'an unknown field inside an attachment',
    body: validEmail({ attachments: [{ ...tiny, inline: true }] }),
    status: 400,
    code: 'validation_error',
    field: 'attachments[0].inline',
  },
  {
    name: 'attachment content that is not base64',
    body: validEmail({ attachments: [tiny, { ...tiny, content: 'not base64!' }] }),
    status: 400,
    code: 'validation_error',
    field: 'attachments[1].content',
  },
  {
    name: 'a path-traversal attachment filename',
    body: validEmail({ attachments: [{ ...tiny, filename: '../etc/passwd' }] }),
    status: 400,
    code: 'validation_error',
    field: 'attachments[0].filename',
  },
  {
    name: 'a bad attachment content_type',
    body: validEmail({ attachments: [{ ...tiny, content_type: 'text' }] }),
    status: 400,
    code: 'validation_error',
    field: 'attachments[0].content_type',
  },
  {
    name: 'more recipients than MAX_RECIPIENTS',
    body: validEmail({ to: ['a@example.com', 'b@example.com'], cc: ['c@example.com', 'd@example.com'] }),
    status: 400,
    code: 'validation_error',
    field: 'to',
  },
  {
    name: 'more attachments than MAX_ATTACHMENTS',
    body: validEmail({ attachments: [tiny, tiny, tiny] }),
    status: 400,
    code: 'validation_error',
    field: 'attachments',
  },
  {
    name: 'a message over MAX_MESSAGE_BYTES',
    body: validEmail({ attachments: [{ ...tiny, content: randomBytes(MAX_MESSAGE_BYTES + 1).toString('base64') }] }),
    status: 413,
    code: 'payload_too_large',
    field: 'attachments',
  },
  {
    name: 'a request body over the body limit',
    body: validEmail({ html: 'x'.repeat(300 * 1024) }),
    status: 413,
    code: 'payload_too_large',
    field: 'body',
  },
  {
    name: 'a non-ASCII Idempotency-Key',
    body: validEmail(),
    headers: { 'idempotency-key': 'clé-1' },
    status: 400,
    code: 'validation_error',
    field: 'Idempotency-Key',
  },
  {
    name: 'an Idempotency-Key over 255 characters',
    body: validEmail(),
    headers: { 'idempotency-key': 'k'.repeat(256) },
    status: 400,
    code: 'validation_error',
    field: 'Idempotency-Key',
  },
  {
    name: 'a tag value with a space',
    body: validEmail({ tags: { campaign: 'spring sale' } }),
    status: 400,
    code: 'validation_error',
    field: 'tags.campaign',
  },
  {
    name: 'a tag name with a dot',
    body: validEmail({ tags: { 'a.b': 'x' } }),
    status: 400,
    code: 'validation_error',
    field: 'tags.a.b',
  },
];

const sendJson = (c: JsonCase) =>
  post({
    body: c.raw ?? JSON.stringify(c.body),
    contentType: c.contentType ?? 'application/json',
    headers: c.headers,
  });

/** A valid multipart send; each case spoils one part of it. */
function form(fields: Record<string, string | string[]> = {}, files: [string, Blob, string][] = []): FormData {
  const f = new FormData();
  const base = validEmail();
  for (const [k, v] of Object.entries({
    from: base.from,
    to: base.to,
    subject: base.subject,
    text: base.text,
    ...fields,
  }))
    for (const one of Array.isArray(v) ? v : [v]) f.append(k, one);
  for (const [k, blob, name] of files) f.append(k, blob, name);
  return f;
}
const blob = (s: string) => new Blob([s], { type: 'text/plain' });

const multipartCases: { name: string; form: () => FormData; field: string }[] = [
  { name: 'a text value under attachments', form: () => form({ attachments: 'not a file' }), field: 'attachments[0]' },
  { name: 'a file under subject', form: () => form({}, [['subject', blob('hi'), 'subject.txt']]), field: 'subject' },
  { name: 'headers that are not JSON', form: () => form({ headers: '{X-A: 1' }), field: 'headers' },
  { name: 'tags that are not JSON', form: () => form({ tags: 'campaign=spring' }), field: 'tags' },
  {
    name: 'a file with a path-traversal name',
    form: () => form({}, [['attachments', blob('root:x:0:0'), '../etc/passwd']]),
    field: 'attachments[0]',
  },
  { name: 'an unknown field', form: () => form({ priority: 'high' }), field: 'priority' },
  { name: 'an invalid to address', form: () => form({ to: 'nobody' }), field: 'to' },
];

describe('POST /v1/emails rejects bad input with a 4xx naming the culprit', () => {
  it.each(jsonCases.map((c) => [`rejects ${c.name} with ${c.status} ${c.code} naming ${c.field}`, c] as const))(
    '%s',
    async (_, c) => {
      expectError(await sendJson(c), c.status, c.code, c.field);
    },
  );

  it.each(
    multipartCases.map(
      (c) => [`rejects multipart with ${c.name} with 400 validation_error naming ${c.field}`, c] as const,
    ),
  )('%s', async (_, c) => {
    expectError(await post({ body: c.form() }), 400, 'validation_error', c.field);
  });

  it.each([
    ['names to[1] for an invalid second to address', { list: { to: ['ok@example.com', 'bad'] }, field: 'to[1]' }],
    ['names bcc[0] for an invalid address in a bcc list', { list: { bcc: ['bad'] }, field: 'bcc[0]' }],
  ] as const)('%s', async (_, c) => {
    const res = await post({ body: JSON.stringify(validEmail(c.list)), contentType: 'application/json' });
    expectError(res, 400, 'validation_error', c.field);
  });

  it('says why an address is invalid', async () => {
    const res = await post({
      body: JSON.stringify(validEmail({ to: 'not-an-address' })),
      contentType: 'application/json',
    });
    expect(res.body.error.message).toContain('not-an-address');
  });

  it('says which limit an over-long address or header crosses', async () => {
    const long = await post({
      body: JSON.stringify(validEmail({ to: `${'a'.repeat(1024)}@example.com` })),
      contentType: 'application/json',
    });
    expect(long.body.error.message).toContain('longer than 320 characters');
    const ses = await post({
      body: JSON.stringify(validEmail({ headers: { 'X-SES-FROM-ARN': 'arn' } })),
      contentType: 'application/json',
    });
    expect(ses.body.error.message).toContain('X-SES-*');
  });

  it('does not call a present field of the wrong type "required"', async () => {
    const res = await post({ body: JSON.stringify(validEmail({ subject: 42 })), contentType: 'application/json' });
    expect(res.body.error.message).not.toContain('required');
  });
});

describe('authentication', () => {
  it.each([
    ['answers 401 naming Authorization when the header is missing', null],
    ['answers 401 naming Authorization for an unknown key', 'Bearer not-a-key'],
    ['answers 401 naming Authorization for the Basic scheme', `Basic ${b64(`user:${API_KEY}`)}`],
    ['answers 401 naming Authorization for a valid key under the Basic scheme', `Basic ${API_KEY}`],
    ['answers 401 naming Authorization for an empty Bearer token', 'Bearer '],
  ] as const)('%s', async (_, authorization) => {
    const res = await post({ body: JSON.stringify(validEmail()), contentType: 'application/json', authorization });
    expectError(res, 401, 'unauthorized', 'Authorization');
  });

  it('answers 401 before reading the email status route too', async () => {
    const res = await h.app.request('/v1/emails/00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', field: 'Authorization' } });
  });
});

describe('rejected requests', () => {
  it('leave no message row, no workflow and no stored object behind (401s included)', async () => {
    expect(await rowCounts()).toEqual(before);
    expect(await h.workflowCount()).toBe(0);
    expect(await listObjectKeys(h.config)).toEqual([]);
  });
});

describe('accepted requests (positive controls for the counts above)', () => {
  it('accepts a valid IDN address and delivers to its punycode form', async () => {
    const res = await post({
      body: JSON.stringify(validEmail({ to: 'Ana <ana@bücher.example>' })),
      contentType: 'application/json',
    });
    expect(res.status).toBe(202);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });
    const copy = h.ses.messages.find((m) => m.destination.includes('ana@xn--bcher-kva.example'));
    expect(copy).toBeDefined();
    expect((await h.status(res.body.id)).to).toEqual(['"Ana" <ana@xn--bcher-kva.example>']);
  });

  it('delivers a multipart send with its file attachment byte for byte', async () => {
    const bytes = randomBytes(1500);
    const rcpt = validEmail().to;
    const f = form(
      { to: [rcpt, 'second@example.com'], tags: '{"campaign":"spring"}', headers: '{"X-Campaign":"spring"}' },
      [['attachments', new Blob([bytes], { type: 'application/pdf' }), 'report.pdf']],
    );
    const res = await post({ body: f });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'ses' });

    const copy = h.ses.messages.find((m) => m.destination.includes(rcpt));
    expect(copy?.destination.sort()).toEqual([rcpt, 'second@example.com'].sort());
    const parsed = await simpleParser(copy!.raw);
    expect(parsed.headers.get('x-campaign')).toBe('spring');
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.filename).toBe('report.pdf');
    expect(parsed.attachments[0]!.contentType).toBe('application/pdf');
    expect(Buffer.compare(parsed.attachments[0]!.content, bytes)).toBe(0);

    const status = await h.status(res.body.id);
    expect(status.tags).toEqual({ campaign: 'spring' });
    expect(status.attachments).toEqual([
      { filename: 'report.pdf', content_type: 'application/pdf', size: 1500, sha256: expect.any(String) },
    ]);
    // A first attempt that delivers composes in memory: only the attachment is stored.
    expect(await listObjectKeys(h.config, `messages/${res.body.id}/`)).toEqual([
      expect.stringMatching(new RegExp(`^messages/${res.body.id}/attachments/[0-9a-f]{16}/0$`)),
    ]);
  });

  it('shows up in every count the rejection test relied on', async () => {
    expect(await rowCounts()).toEqual({ messages: before.messages + 2, attachments: before.attachments + 1 });
    // Visibility is eventually consistent: poll for it rather than sleep.
    await vi.waitFor(async () => expect(await h.workflowCount()).toBe(2), { timeout: 10_000, interval: 100 });
    expect((await listObjectKeys(h.config)).length).toBeGreaterThan(0);
  });
});

describe('service routes', () => {
  it('answers GET /health without authentication', async () => {
    const res = await h.app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports ready when the database and Temporal answer, each check to an API key only', async () => {
    const res = await h.app.request('/ready');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
    const operator = await h.app.request('/ready', { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(await operator.json()).toMatchObject({
      status: 'ready',
      checks: { database: { ok: true }, temporal: { ok: true } },
    });
  });

  it('answers an unknown route with the JSON error envelope', async () => {
    for (const [path, headers] of [
      ['/nowhere', {}],
      ['/v1/nowhere', { authorization: `Bearer ${API_KEY}` }],
    ] as const) {
      const res = await h.app.request(path, { headers });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(await res.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
  });

  it('answers 404 naming id for an email id that is not a UUID', async () => {
    const res = await h.app.request('/v1/emails/not-a-uuid', { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found', field: 'id' } });
  });

  it('serves an OpenAPI 3.1 document describing the email and bulk routes', async () => {
    const res = await h.app.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, any>;
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.paths['/v1/emails'].post.responses).toHaveProperty('202');
    expect(doc.components.schemas.SendEmail.properties).toHaveProperty('from');
    expect(doc.components.schemas.SendEmail.required).toEqual(expect.arrayContaining(['from', 'to', 'subject']));
    expect(doc.components.schemas.SendBulk.required).toEqual(expect.arrayContaining(['from', 'subject', 'recipients']));
    for (const path of ['/v1/bulk', '/v1/bulk/{id}', '/v1/bulk/{id}/recipients', '/v1/bulk/{id}/cancel'])
      expect(doc.paths).toHaveProperty([path]);
  });

  it('documents every route it serves, from the schemas that validate them', async () => {
    const doc = (await (await h.app.request('/openapi.json')).json()) as Record<string, any>;
    // The docs page, its assets and the console are HTML for people: outside the document by design.
    const forPeople = (path: string) => /^\/(docs|console)(\/|$)/.test(path);
    const served = h.app.routes.filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json' && !forPeople(r.path));
    expect(served.length).toBeGreaterThan(10);
    for (const r of served) {
      const path = r.path.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${r.path}`).toBeDefined();
    }
    // A query schema that refuses input is the documented one.
    expect(doc.paths['/v1/emails'].get.parameters.map((p: any) => p.name)).toEqual(
      expect.arrayContaining(['status', 'to', 'tag', 'created_after', 'created_before', 'cursor', 'limit']),
    );
  });
});
