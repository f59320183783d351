// The email_server form API, posted the way its callers post: curl -F against a listening app.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messages } from '../../db/schema.js';
import { API_KEY, startHarness, type Harness } from '../support/harness.js';

const run = promisify(execFile);
let h: Harness;
let server: ServerType;
let url: string;
let dir: string;

beforeAll(async () => {
  h = await startHarness({
    env: { COMPAT_FROM_ADDRESS: 'noreply@example.com', MAX_MESSAGE_BYTES: String(256 * 1024) },
  });
  server = await new Promise<ServerType>((resolve) => {
    const s: ServerType = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/email/send`;
  dir = mkdtempSync(join(tmpdir(), 'email-form-'));
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** curl's form post as a caller of email_server writes it (`-F` for files); answers the HTTP status and the JSON. */
async function curl(fields: string[], key = API_KEY) {
  const args = [
    '-s',
    '-w',
    '\n%{http_code}',
    '-H',
    `Authorization: Bearer ${key}`,
    ...fields.flatMap((f) => [/^[\w[\]]+=@/.test(f) ? '-F' : '--form-string', f]),
    url,
  ];
  const { stdout } = await run('curl', args);
  const lines = stdout.trimEnd().split('\n');
  return {
    status: Number(lines.pop()),
    body: JSON.parse(lines.join('\n')) as { code: number; message: string; data: string | null },
  };
}

const file = (name: string, bytes: Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

describe('POST /api/email/send (email_server form API)', () => {
  it('sends the form as one email with its attachments and answers success with the id', async () => {
    const to = [`a-${randomUUID().slice(0, 8)}@example.com`, `b-${randomUUID().slice(0, 8)}@example.com`];
    const pdf = randomBytes(20_000);
    const csv = Buffer.from('a,b\n1,2\n');
    const res = await curl([
      'title=Monthly report',
      'content=<p>See the attachments</p>',
      'sender_name=Reports Bot',
      `receiver=${to.join(',')}`,
      'receiver_name=Ana,Bo',
      `attachment[]=@${file('report.pdf', pdf)};type=application/pdf`,
      `attachment[]=@${file('data.csv', csv)};type=text/csv`,
    ]);
    expect(res).toEqual({ status: 200, body: { code: 200, message: 'success', data: expect.any(String) } });

    expect(await h.result(res.body.data!)).toMatchObject({ status: 'sent', provider: 'ses' });
    const copy = h.ses.messages.find((m) => m.destination.includes(to[0]!));
    expect(copy?.destination.sort()).toEqual([...to].sort());
    const mail = await simpleParser(copy!.raw);
    expect(mail.from?.text).toBe('"Reports Bot" <noreply@example.com>');
    expect(mail.to).toMatchObject({
      value: [
        { name: 'Ana', address: to[0] },
        { name: 'Bo', address: to[1] },
      ],
    });
    expect(mail.subject).toBe('Monthly report');
    expect(mail.html).toContain('<p>See the attachments</p>');
    expect(
      mail.attachments.map((a) => [
        a.filename,
        a.contentType,
        a.content.equals(a.filename === 'report.pdf' ? pdf : csv),
      ]),
    ).toEqual([
      ['report.pdf', 'application/pdf', true],
      ['data.csv', 'text/csv', true],
    ]);
  });

  it('answers Param is invalid naming the missing or bad field, and stores nothing', async () => {
    const to = `c-${randomUUID().slice(0, 8)}@example.com`;
    const before = await h.db.$count(messages);
    expect(await curl(['content=<p>x</p>', `receiver=${to}`])).toEqual({
      status: 400,
      body: { code: 400, message: 'Param is invalid', data: 'title' },
    });
    expect((await curl(['title=t', `receiver=${to}`])).body).toEqual({
      code: 400,
      message: 'Param is invalid',
      data: 'content',
    });
    expect((await curl(['title=t', 'content=x'])).body.data).toBe('receiver');
    expect((await curl(['title=t', 'content=x', `receiver=${to},not-an-address`])).body.data).toBe('receiver[1]');
    expect((await curl(['title=t', 'content=x', `receiver=${to}`, 'attachment[]=not a file'])).body.data).toBe(
      'attachment[0]',
    );
    const big = await curl([
      'title=t',
      'content=x',
      `receiver=${to}`,
      `attachment[]=@${file('big.bin', randomBytes(300 * 1024))}`,
    ]);
    expect(big).toMatchObject({ status: 413, body: { code: 413, message: 'Param is invalid' } });
    expect(await h.db.$count(messages)).toBe(before);
    expect(
      await h.db
        .select()
        .from(messages)
        .where(eq(messages.to, [to])),
    ).toEqual([]);
  });

  it('refuses a missing or wrong API key in the same envelope', async () => {
    expect(await curl(['title=t', 'content=x', 'receiver=a@example.com'], 'wrong-key')).toEqual({
      status: 401,
      body: { code: 401, message: 'invalid API key', data: 'Authorization' },
    });
  });
});
