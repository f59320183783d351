// SMTP submission end to end: nodemailer as the client (STARTTLS, AUTH with an API key), the real
// accept path, worker and SES stand-in behind it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporalClient } from '../../temporal/client.js';
import { eq } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { createTransport, type SendMailOptions } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { appDeps } from '../../api/listen.js';
import { startSmtpSubmission, type SmtpSubmission } from '../../api/smtp-submission.js';
import { createDb, type DbHandle } from '../../db/create-db.js';
import { messages } from '../../db/schema.js';
import { devCertificate } from '../../local/dev-certificate.js';
import { freePort } from '../../local/free-port.js';
import { createObjectStore, createS3Client } from '../../storage/object-store.js';
import { API_KEY, startHarness, type Harness } from '../support/harness.js';
import { listObjectKeys } from '../support/s3-objects.js';

const MAX_MESSAGE_BYTES = 256 * 1024;
let h: Harness;
let certDir: string;
let tls: { cert: string; key: string };
let submission: SmtpSubmission;
const logged: { dependency?: string; msg: string }[] = [];
const logger = {
  error: (o: any, msg?: string) => {
    logged.push({ dependency: o.dependency, msg: msg ?? '' });
  },
};
const unexpected = () => logged.filter((l) => l.msg !== 'dependency unavailable');

/** A submission listener on a free port, over the harness's deps with some replaced. */
async function listener(over: Partial<Parameters<typeof appDeps>[0]> = {}): Promise<SmtpSubmission> {
  const deps = appDeps({ config: h.config, db: h.db, temporal: h.client, objects: h.objects, logger, ...over });
  return startSmtpSubmission(deps, { port: 0, host: '127.0.0.1', tls });
}

beforeAll(async () => {
  h = await startHarness({ env: { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), MAX_RECIPIENTS: '3' } });
  // Dev mode's own certificate, trusted by the client as a private CA would be.
  certDir = mkdtempSync(join(tmpdir(), 'mailroom-submission-'));
  const files = devCertificate(certDir);
  tls = { cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
  submission = await listener();
});
afterAll(async () => {
  await submission?.close();
  await h?.close();
  rmSync(certDir, { recursive: true, force: true });
});

function client(o: { port?: number; pass?: string; auth?: false; ignoreTLS?: boolean } = {}) {
  const transport = createTransport({
    host: '127.0.0.1',
    port: o.port ?? submission.port,
    secure: false,
    requireTLS: !o.ignoreTLS,
    ignoreTLS: o.ignoreTLS ?? false,
    tls: { ca: tls.cert },
    ...(o.auth === false ? {} : { auth: { user: 'any', pass: o.pass ?? API_KEY } }),
  });
  onTestFinished(() => transport.close());
  return transport;
}

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;
const queuedId = (response: string) => /^250 2\.6\.0 Ok: queued as (\S+)$/.exec(response)?.[1];
const bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf('\r\n\r\n') + 4);
const rowsWithSubject = (subject: string) => h.db.select().from(messages).where(eq(messages.subject, subject));
const sesCopiesTo = (address: string) => h.ses.messages.filter((m) => m.destination.includes(address));

function plainMail(to: string[], over: SendMailOptions = {}): SendMailOptions {
  return {
    from: 'Sender <sender@example.com>',
    to,
    subject: `smtp ${randomUUID()}`,
    text: 'Hello over SMTP.',
    ...over,
  };
}

describe('SMTP submission', () => {
  it('accepts a message over STARTTLS with an API key, answers 250 with its id, and sends the same bytes without Bcc', async () => {
    const [to, cc, bcc] = [unique('to'), unique('cc'), unique('hidden')];
    const files = [randomBytes(40_000), Buffer.from('second file, text\r\n')];
    const subject = `smtp submission ${randomUUID()}`;
    const composed = new MailComposer({
      from: 'Sender <sender@example.com>',
      to,
      cc,
      bcc,
      subject,
      text: 'Two files attached.',
      attachments: [
        { filename: 'data.bin', content: files[0] },
        { filename: 'notes.txt', content: files[1], contentType: 'text/plain' },
      ],
    }).compile();
    // As `sendmail -t`-style clients do: the Bcc header in the message, for the server to remove.
    composed.keepBcc = true;
    const raw = await composed.build();
    expect(raw.toString('latin1')).toMatch(/^Bcc: /m);

    const info = await client().sendMail({ envelope: { from: 'sender@example.com', to: [to, cc, bcc] }, raw });
    const id = queuedId(info.response);
    expect(id, info.response).toBeDefined();
    expect(info.accepted).toEqual([to, cc, bcc]);

    // The reply came after the row was stored and the workflow started.
    expect(await rowsWithSubject(subject)).toMatchObject([{ id }]);
    expect(await h.result(id!)).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(await h.status(id!)).toMatchObject({ status: 'sent', to: [to], cc: [cc], bcc: [bcc] });

    const [copy, ...more] = sesCopiesTo(to);
    expect(more).toEqual([]);
    expect(copy!.destination.sort()).toEqual([to, cc, bcc].sort());
    expect(Buffer.compare(bodyOf(copy!.raw), bodyOf(raw))).toBe(0);
    expect(copy!.raw.toString('latin1')).not.toContain(bcc);
    const parsed = await simpleParser(copy!.raw);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.subject).toBe(subject);
    expect(parsed.attachments.map((a) => [a.filename, Buffer.compare(a.content, files.shift()!)])).toEqual([
      ['data.bin', 0],
      ['notes.txt', 0],
    ]);
  });

  it('refuses a wrong API key with 535', async () => {
    const mail = plainMail([unique('to')]);
    await expect(client({ pass: 'not-a-key' }).sendMail(mail)).rejects.toMatchObject({ responseCode: 535 });
    expect(await rowsWithSubject(mail.subject as string)).toEqual([]);
  });

  it('refuses AUTH before STARTTLS, and MAIL without AUTH', async () => {
    await expect(client({ ignoreTLS: true }).sendMail(plainMail([unique('to')]))).rejects.toMatchObject({
      responseCode: 538,
    });
    await expect(client({ auth: false }).sendMail(plainMail([unique('to')]))).rejects.toMatchObject({
      responseCode: 530,
    });
  });

  it('refuses a message over MAX_MESSAGE_BYTES with 552 and stores nothing', async () => {
    const mail = plainMail([unique('to')], {
      attachments: [{ filename: 'big.bin', content: randomBytes(MAX_MESSAGE_BYTES) }],
    });
    await expect(client().sendMail(mail)).rejects.toMatchObject({ responseCode: 552 });
    expect(await rowsWithSubject(mail.subject as string)).toEqual([]);
  });

  it('refuses an invalid recipient with 550 and delivers to the valid one', async () => {
    const [valid, invalid] = [unique('valid'), 'nobody@-bad.example'];
    // Only in the envelope, as for a Bcc: the headers name the valid recipient alone.
    const info = await client().sendMail(
      plainMail([valid], { envelope: { from: 'sender@example.com', to: [valid, invalid] } }),
    );
    expect(info.accepted).toEqual([valid]);
    expect(info.rejected).toEqual([invalid]);
    expect(info.rejectedErrors?.[0]).toMatchObject({
      responseCode: 550,
      response: expect.stringContaining('invalid domain'),
    });
    const id = queuedId(info.response)!;
    expect(await h.result(id)).toMatchObject({ status: 'sent' });
    expect(sesCopiesTo(valid).map((m) => m.destination)).toEqual([[valid]]);
  });

  it('refuses the message with 554 when a To address is invalid, as the API refuses the request', async () => {
    const [valid, invalid] = [unique('valid'), 'nobody@-bad.example'];
    const mail = plainMail([valid, invalid]);
    await expect(client().sendMail(mail)).rejects.toMatchObject({
      responseCode: 554,
      response: expect.stringMatching(/To address 2 .*invalid domain/),
    });
    expect(await rowsWithSubject(mail.subject as string)).toEqual([]);
  });

  it('answers 452 for recipients past MAX_RECIPIENTS and sends to the others', async () => {
    const rcpts = [unique('a'), unique('b'), unique('c'), unique('d')];
    const info = await client().sendMail(plainMail(rcpts));
    expect(info.accepted).toEqual(rcpts.slice(0, 3));
    expect(info.rejectedErrors?.map((e) => (e as { responseCode?: number }).responseCode)).toEqual([452]);
    expect(await h.result(queuedId(info.response)!)).toMatchObject({ status: 'sent' });
    expect(sesCopiesTo(rcpts[0]!)[0]!.destination.sort()).toEqual(rcpts.slice(0, 3).sort());
  });

  it('refuses a message without a From header with 554, naming why', async () => {
    const raw = Buffer.from(`To: x@example.com\r\nSubject: no from\r\n\r\nbody\r\n`);
    await expect(
      client().sendMail({ envelope: { from: 'sender@example.com', to: ['x@example.com'] }, raw }),
    ).rejects.toMatchObject({ responseCode: 554, response: expect.stringMatching(/exactly one From/) });
  });
});

describe('SMTP submission during an outage', () => {
  const dead: { db?: DbHandle; connection?: Connection } = {};
  afterAll(async () => {
    await dead.db?.close();
    await dead.connection?.close().catch(() => {});
  });

  it('answers 451 (try again) when S3, Postgres or Temporal is unreachable, never 250', async () => {
    const [dbPort, s3Port, temporalPort] = await Promise.all([freePort(), freePort(), freePort()]);
    dead.db = await createDb({ url: `postgres://postgres@127.0.0.1:${dbPort}/x`, maxConnections: 2 });
    dead.connection = Connection.lazy({ address: `127.0.0.1:${temporalPort}` });
    const outages = {
      storage: {
        objects: createObjectStore(
          createS3Client({
            endpoint: `http://127.0.0.1:${s3Port}`,
            region: 'us-east-1',
            bucket: h.config.S3_BUCKET,
            accessKeyId: 'x',
            secretAccessKey: 'x',
          }),
          h.config.S3_BUCKET,
        ),
      },
      database: { db: dead.db.db },
      temporal: { temporal: temporalClient(dead.connection, h.config) },
    };
    const objectsBefore = await listObjectKeys(h.config);
    for (const [dependency, over] of Object.entries(outages)) {
      const down = await listener(over);
      onTestFinished(() => down.close());
      const mail = plainMail([unique('to')]);
      await expect(client({ port: down.port }).sendMail(mail), dependency).rejects.toMatchObject({
        responseCode: 451,
        response: expect.stringContaining(`${dependency} unavailable`),
      });
      const rows = await rowsWithSubject(mail.subject as string);
      if (dependency === 'temporal') {
        // Stored before the start failed: kept `queued` for the repair schedule, never started here.
        expect(rows).toMatchObject([{ status: 'queued' }]);
        expect(sesCopiesTo((mail.to as string[])[0]!)).toEqual([]);
      } else expect(rows).toEqual([]);
    }
    expect(logged.map((l) => l.dependency)).toEqual(['storage', 'database', 'temporal']);
    expect(unexpected()).toEqual([]);
    // Nothing left behind by the refused messages except the one stored row's raw MIME.
    expect((await listObjectKeys(h.config)).length).toBe(objectsBefore.length + 1);
  });
});
