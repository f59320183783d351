// R4: hostile input against /v1/emails and /v1/bulk: generated (fast-check) and hand-written cases.
// Every request must get a 4xx naming the field; nothing may start a workflow or write a row.
import fc from 'fast-check';
import { API_KEY, type Stack } from '../support/stack.js';
import { bulkBody, smallEmail } from '../support/bulk.js';
import { verdict, type CaseContext } from '../support/report.js';
import { startStack } from '../support/stack.js';

interface Hostile {
  name: string;
  path: '/v1/emails' | '/v1/bulk';
  body: string;
  contentType?: string;
}

const nl = fc.constantFrom('\r', '\n', '\r\n', '\0');
const withBreak = fc
  .tuple(fc.string({ maxLength: 20 }), nl, fc.string({ maxLength: 20 }))
  .map(([a, b, c]) => a + b + c);
const notJson = (v: unknown) => fc.constant(v);
const wrongType = fc.oneof(
  fc.integer(),
  fc.boolean(),
  notJson(null),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
);
const known = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply_to',
  'subject',
  'html',
  'text',
  'headers',
  'tags',
  'attachments',
  'recipients',
  'rate_per_second',
  'mode',
]);
const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k) && k !== '__proto__');
const noAt = fc.string({ maxLength: 30 }).filter((s) => !s.includes('@'));
const b64 = Buffer.from('hello world, this is an attachment').toString('base64');

function mutations(base: () => Record<string, any>, path: Hostile['path']): fc.Arbitrary<Hostile> {
  const json = (name: string, f: (b: Record<string, any>) => void) => {
    const b = base();
    f(b);
    return { name, path, body: JSON.stringify(b) };
  };
  const textField =
    path === '/v1/bulk'
      ? ['from', 'subject', 'html', 'text', 'headers', 'recipients', 'rate_per_second', 'mode']
      : ['from', 'to', 'cc', 'subject', 'html', 'text', 'headers', 'tags'];
  return fc.oneof(
    withBreak.map((s) => json('CR/LF in subject', (b) => (b.subject = `Hi ${s}`))),
    withBreak.map((s) => json('CR/LF in header value', (b) => (b.headers = { 'X-Campaign': s }))),
    withBreak.map((s) => json('CR/LF in header name', (b) => (b.headers = { [`X-${s}`]: 'v' }))),
    noAt.map((s) => json('from without @', (b) => (b.from = s))),
    fc.tuple(unknownKey, fc.jsonValue()).map(([k, v]) => json('unknown key', (b) => (b[k] = v))),
    fc.tuple(fc.constantFrom(...textField), wrongType).map(([k, v]) => json(`wrong type for ${k}`, (b) => (b[k] = v))),
    fc.integer({ min: 999, max: 20_000 }).map((len) => json('subject too long', (b) => (b.subject = 'x'.repeat(len)))),
    fc
      .integer({ min: 2001, max: 50_000 })
      .map((len) => json('header value too long', (b) => (b.headers = { 'X-Big': 'y'.repeat(len) }))),
    fc
      .constantFrom('!', '*', '-', '_', '%', ' ', '"', '\\')
      .map((c) =>
        json(
          'bad base64',
          (b) => (b.attachments = [{ filename: 'a.txt', content: b64.slice(0, 8) + c + b64.slice(9) }]),
        ),
      ),
    fc
      .tuple(fc.constantFrom('../', '..\\', '/', 'C:\\', './'), fc.string({ minLength: 1, maxLength: 10 }))
      .map(([p, s]) =>
        json('path-traversal filename', (b) => (b.attachments = [{ filename: `${p}${s}`, content: b64 }])),
      ),
    fc.integer({ min: 1, max: 400 }).map((cut) => {
      const text = JSON.stringify(base());
      return { name: 'truncated JSON', path, body: text.slice(0, Math.min(cut, text.length - 1)) };
    }),
    ...(path === '/v1/emails'
      ? [
          fc
            .integer({ min: 51, max: 300 })
            .map((k) =>
              json('too many recipients', (b) => (b.to = Array.from({ length: k }, (_, i) => `r${i}@example.com`))),
            ),
        ]
      : [
          noAt.map((s) => json('bad recipient email (strict)', (b) => (b.recipients[1].email = s))),
          fc
            .oneof(
              fc.integer({ max: 0 }),
              fc.integer({ min: 10_001 }),
              fc.double({ min: 1.01, max: 9.99, noInteger: true }),
            )
            .map((r) => json('bad rate_per_second', (b) => (b.rate_per_second = r))),
          withBreak.map((s) => json('CR/LF in recipient name', (b) => (b.recipients[0].name = s))),
        ]),
  );
}

function handWritten(): Hostile[] {
  const e = smallEmail() as Record<string, unknown>;
  const bulk = bulkBody(3, 'h');
  const j = (path: Hostile['path'], name: string, body: unknown, contentType?: string): Hostile => ({
    name,
    path,
    body: JSON.stringify(body),
    contentType,
  });
  const list: Hostile[] = [];
  for (const path of ['/v1/emails', '/v1/bulk'] as const) {
    const base = path === '/v1/emails' ? e : bulk;
    list.push(
      { name: 'text/plain body', path, body: JSON.stringify(base), contentType: 'text/plain' },
      { name: 'application/xml body', path, body: '<email/>', contentType: 'application/xml' },
      { name: 'no content type', path, body: JSON.stringify(base), contentType: '' },
      { name: 'multipart without boundary', path, body: 'garbage', contentType: 'multipart/form-data' },
      { name: 'empty body', path, body: '' },
      { name: 'JSON null', path, body: 'null' },
      { name: 'JSON array', path, body: '[]' },
      { name: 'JSON string', path, body: '"hello"' },
      { name: 'truncated JSON', path, body: JSON.stringify(base).slice(0, -1) },
      {
        name: 'duplicate key "subject", last invalid',
        path,
        body: `${JSON.stringify(base).slice(0, -1)},"subject":"a\\r\\nBcc: x@evil.com"}`,
      },
      {
        name: 'duplicate key "from", first valid, last invalid',
        path,
        body: `{"from":"a@example.com",${JSON.stringify(base)
          .slice(1)
          .replace(/"from":"[^"]*"/, '"from":"not an address"')}`,
      },
      {
        name: 'duplicate key "subject", first hostile, last valid',
        path,
        body: `{"subject":"x\\r\\nBcc: evil@example.com",${JSON.stringify(base).slice(1)}`,
      },
      {
        name: 'body over the size limit',
        path,
        body: JSON.stringify({ ...base, html: 'z'.repeat(path === '/v1/emails' ? 14_500_000 : 130_000_000) }),
      },
      j(path, 'IDN: empty label', { ...base, from: 'a@bücher..de' }),
      j(path, 'IDN: label too long after punycode', { ...base, from: `a@${'ü'.repeat(60)}.de` }),
      j(path, 'IDN: leading hyphen label', { ...base, from: 'a@-bücher.de' }),
      j(path, 'address with display-name injection', { ...base, from: 'Evil\r\n <a@example.com>' }),
      j(path, 'two addresses in from', { ...base, from: 'a@example.com, b@example.com' }),
      j(path, 'from with trailing dot domain', { ...base, from: 'a@example..com' }),
      j(path, 'neither html nor text', { ...base, html: undefined, text: undefined }),
      j(path, 'attachment filename with NUL', { ...base, attachments: [{ filename: 'a\u0000.txt', content: b64 }] }),
      j(path, 'attachment content not a multiple of 4', {
        ...base,
        attachments: [{ filename: 'a.txt', content: 'abc' }],
      }),
      j(path, '__proto__ key', JSON.parse(JSON.stringify(base).replace('{', '{"__proto__":{"polluted":1},'))),
    );
  }
  list.push(
    j('/v1/emails', 'invalid to address', { ...e, to: 'not-an-address' }),
    j('/v1/emails', 'IDN local part (needs SMTPUTF8)', { ...e, to: 'üser@exämple.com' }),
    j('/v1/emails', 'empty to list', { ...e, to: [] }),
    j('/v1/bulk', '0 recipients', { ...bulk, recipients: [] }),
    j('/v1/bulk', '100,001 recipients', bulkBody(100_001, 'h')),
    j('/v1/bulk', 'template syntax error', { ...bulk, subject: 'Hi {{#if}}' }),
    j('/v1/bulk', 'recipients not a list', { ...bulk, recipients: 'a@example.com' }),
    j('/v1/bulk', 'unknown mode', { ...bulk, mode: 'yolo' }),
  );
  return list;
}

async function send(stack: Stack, h: Hostile) {
  const headers: Record<string, string> = { authorization: `Bearer ${API_KEY}` };
  if (h.contentType !== '') headers['content-type'] = h.contentType ?? 'application/json';
  try {
    const res = await fetch(`${stack.apiUrl}${h.path}`, { method: 'POST', headers, body: h.body });
    const text = await res.text();
    let field: string | undefined;
    try {
      field = JSON.parse(text)?.error?.field;
    } catch {
      // not JSON: no field to report
    }
    return { status: res.status, field, snippet: text.slice(0, 160) };
  } catch (err) {
    return { status: 0, field: undefined, snippet: (err as Error).message };
  }
}

export async function r4(ctx: CaseContext) {
  const generated = ctx.quick ? 120 : 300;
  const stack = await startStack({ workers: 0 });
  try {
    const samples = [
      ...fc.sample(
        mutations(() => smallEmail(), '/v1/emails'),
        { numRuns: generated / 2, seed: 4242 },
      ),
      ...fc.sample(
        mutations(() => bulkBody(3, 'g'), '/v1/bulk'),
        { numRuns: generated / 2, seed: 4343 },
      ),
      ...handWritten(),
    ];
    const bad: string[] = [];
    let ok4xx = 0;
    let fivexx = 0;
    let accepted = 0;
    let noField = 0;
    for (const h of samples) {
      const r = await send(stack, h);
      if (r.status >= 400 && r.status < 500 && r.field) ok4xx++;
      else {
        if (r.status >= 500 || r.status === 0) fivexx++;
        else if (r.status < 400) accepted++;
        else noField++;
        if (bad.length < 25) bad.push(`${h.path} ${h.name}: ${r.status} ${r.snippet.replace(/\s+/g, ' ')}`);
      }
    }
    const workflows = (await stack.client.workflow.count()).count;
    const [rows] =
      await stack.sql`select (select count(*) from messages)::int + (select count(*) from bulks)::int + (select count(*) from bulk_recipients)::int + (select count(*) from attachments)::int as c`;
    const n = samples.length;
    ctx.row({
      metric: `requests (${generated} generated + ${n - generated} hand-written)`,
      value: n,
      target: '≥ 200',
      verdict: verdict(n >= 200),
    });
    ctx.row({
      metric: '4xx naming a field',
      value: ok4xx,
      baseline: n,
      ratio: ok4xx / n,
      target: '100%',
      verdict: verdict(ok4xx === n),
    });
    ctx.row({ metric: '5xx or dropped', value: fivexx, target: '0', verdict: verdict(fivexx === 0) });
    ctx.row({ metric: 'accepted (2xx)', value: accepted, target: '0', verdict: verdict(accepted === 0) });
    ctx.row({ metric: '4xx without a field', value: noField, target: '0', verdict: verdict(noField === 0) });
    ctx.row({ metric: 'workflows started', value: workflows, target: '0', verdict: verdict(workflows === 0) });
    ctx.row({ metric: 'rows written', value: rows!.c, target: '0', verdict: verdict(rows!.c === 0) });
    for (const b of bad) ctx.note(b);
    ctx.result.data = { n, ok4xx, fivexx, accepted, noField, workflows, rows: rows!.c, bad };
  } finally {
    await stack.close();
  }
}
