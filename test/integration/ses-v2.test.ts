import { randomBytes, randomUUID } from 'node:crypto';
import {
  GetAccountCommand,
  SendEmailCommand,
  SESv2Client,
  type SendEmailCommandInput,
  type SESv2ClientConfig,
} from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { serve, type ServerType } from '@hono/node-server';
import { Connection } from '@temporalio/client';
import { temporalClient } from '../../temporal/client.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { sesTenantId } from '../../api/auth.js';
import { appDeps } from '../../api/listen.js';
import { freePort } from '../../local/free-port.js';
import { emailRecord, findEmail, listEmails } from '../../api/records/emails.js';
import { startHarness, type Harness } from '../support/harness.js';

const KEY = { accessKeyId: 'AKIAMAILROOMTEST0001', secretAccessKey: 'test-secret-0123456789abcdefghij' };
const tenant = sesTenantId(KEY.accessKeyId);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    listen: true,
    env: { SES_ACCESS_KEYS: `${KEY.accessKeyId}:${KEY.secretAccessKey}`, SES_MAX_SEND_RATE: '7' },
  });
});
afterAll(() => h?.close());

const client = (o: Partial<SESv2ClientConfig> = {}) =>
  new SESv2Client({ endpoint: h.apiUrl, region: 'eu-west-1', credentials: KEY, ...o });
const rcpt = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.com`;
const simple = (to: string[], o: Partial<SendEmailCommandInput> = {}): SendEmailCommandInput => ({
  FromEmailAddress: 'Sender <sender@example.com>',
  Destination: { ToAddresses: to },
  Content: { Simple: { Subject: { Data: 'Hello from SES' }, Body: { Text: { Data: 'plain' } } } },
  ...o,
});

/** Every copy of one SendEmail, as `GET /v1/emails?tag=ses_request:<id>` lists them, once delivered. */
async function deliveredCopies(messageId: string) {
  const { data } = await listEmails(h.db, tenant, { tag: `ses_request:${messageId}`, limit: 100 });
  await Promise.all(data.map((m) => h.result(m.id)));
  return Promise.all(data.map(async (m) => emailRecord(h.db, await findEmail(h.db, m.id, tenant))));
}
const atStandIn = (address: string) => h.ses.messages.filter((m) => m.destination.includes(address));
const storedFor = async (address: string) => (await listEmails(h.db, tenant, { to: address, limit: 10 })).data;

async function rejection(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } },
  );
  expect(err).toBeInstanceOf(Error);
  return err!;
}

describe('SES v2 SendEmail through the AWS SDK', () => {
  it('delivers Simple content with its subject, html, text, headers and tags', async () => {
    const to = rcpt('simple');
    const { MessageId } = await client().send(
      new SendEmailCommand(
        simple([to], {
          ReplyToAddresses: ['replies@example.com'],
          EmailTags: [{ Name: 'campaign', Value: 'spring-1' }],
          Content: {
            Simple: {
              Subject: { Data: 'Grüße from SES', Charset: 'UTF-8' },
              Body: { Html: { Data: '<p>Hello <b>there</b></p>' }, Text: { Data: 'Hello there' } },
              Headers: [{ Name: 'X-Campaign', Value: 'spring' }],
            },
          },
        }),
      ),
    );
    const [copy, ...more] = await deliveredCopies(MessageId!);
    expect(more).toEqual([]);
    expect(copy).toMatchObject({
      id: MessageId,
      status: 'sent',
      to: [to],
      tags: { campaign: 'spring-1', ses_request: MessageId },
    });
    const [received] = atStandIn(to);
    const mail = await simpleParser(received!.raw);
    expect(mail.subject).toBe('Grüße from SES');
    expect(mail.html).toContain('<p>Hello <b>there</b></p>');
    expect(mail.text?.trim()).toBe('Hello there');
    expect(mail.headers.get('x-campaign')).toBe('spring');
    expect(mail.replyTo?.text).toBe('replies@example.com');
  });

  it('sends Raw content as submitted: the stand-in receives the same body bytes and attachment', async () => {
    const to = rcpt('raw');
    const file = randomBytes(20_000);
    const raw = await new MailComposer({
      from: 'Sender <sender@example.com>',
      to,
      subject: 'Raw with a file',
      text: 'see attached',
      attachments: [{ filename: 'data.bin', content: file }],
    })
      .compile()
      .build();
    const { MessageId } = await client().send(new SendEmailCommand({ Content: { Raw: { Data: raw } } }));
    const [copy] = await deliveredCopies(MessageId!);
    expect(copy).toMatchObject({ status: 'sent', to: [to], subject: 'Raw with a file' });
    const [received] = atStandIn(to);
    const bodyOf = (b: Buffer) => b.subarray(b.indexOf('\r\n\r\n'));
    expect(bodyOf(received!.raw).equals(bodyOf(raw))).toBe(true);
    const mail = await simpleParser(received!.raw);
    expect(mail.attachments[0]!.content.equals(file)).toBe(true);
  });

  it.each(['Simple', 'Raw'])(
    'splits %s content to three recipients into three copies, each addressed to its recipient alone',
    async (kind) => {
      const [a, b, c] = [rcpt('to'), rcpt('cc'), rcpt('bcc')];
      const input =
        kind === 'Simple'
          ? simple([a], { Destination: { ToAddresses: [a], CcAddresses: [b], BccAddresses: [c] } })
          : {
              // As nodemailer's SES transport does: Bcc is not in the MIME, the envelope is Destination.
              Destination: { ToAddresses: [a], CcAddresses: [b], BccAddresses: [c] },
              Content: {
                Raw: {
                  Data: await new MailComposer({
                    from: 'sender@example.com',
                    to: a,
                    cc: b,
                    subject: 'Three',
                    text: 'x',
                  })
                    .compile()
                    .build(),
                },
              },
            };
      const { MessageId } = await client().send(new SendEmailCommand(input));
      const copies = await deliveredCopies(MessageId!);
      expect(copies.map((m) => m.to[0]).sort()).toEqual([a, b, c].sort());
      expect(copies.every((m) => m.status === 'sent' && m.cc.length === 0 && m.bcc.length === 0)).toBe(true);
      for (const address of [a, b, c]) {
        const [received, ...twice] = atStandIn(address);
        expect(twice).toEqual([]);
        expect(received!.destination).toEqual([address]);
        const mail = await simpleParser(received!.raw);
        expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : undefined).toBe(address);
        expect(mail.headers.has('cc')).toBe(false);
        expect(mail.headers.has('bcc')).toBe(false);
        for (const other of [a, b, c].filter((x) => x !== address))
          expect(received!.raw.toString()).not.toContain(other);
      }
    },
  );

  it('answers GetAccount with the configured quota', async () => {
    const account = await client().send(new GetAccountCommand({}));
    expect(account).toMatchObject({
      SendingEnabled: true,
      ProductionAccessEnabled: true,
      SendQuota: { MaxSendRate: 7, Max24HourSend: 7 * 86_400 },
    });
    expect(account.SendQuota!.SentLast24Hours).toBeGreaterThan(0);
  });

  it('refuses bad input with BadRequestException naming the SES field, and stores nothing', async () => {
    const to = rcpt('bad');
    const cases: [SendEmailCommandInput, RegExp][] = [
      [simple([to], { FromEmailAddress: 'not an address' }), /^FromEmailAddress /],
      [simple([to], { Destination: { ToAddresses: [to], CcAddresses: ['x@'] } }), /^Destination\.CcAddresses\[0\] /],
      [
        simple([to], { Content: { Template: { TemplateName: 't', TemplateData: '{}' } } }),
        /^Content\.Template is not supported/,
      ],
      [simple([to], { ConfigurationSetName: 'cs' }), /^ConfigurationSetName is not supported/],
      [
        simple([to], {
          Content: {
            Simple: {
              Subject: { Data: 's' },
              Body: { Text: { Data: 't' } },
              Headers: [{ Name: 'X-SES-CONFIGURATION-SET', Value: 'other' }],
            },
          },
        }),
        /^Content\.Simple\.Headers\[0\] .*X-SES/,
      ],
    ];
    for (const [input, message] of cases) {
      const err = await rejection(client().send(new SendEmailCommand(input)));
      expect(err.name).toBe('BadRequestException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toMatch(message);
    }
    expect(await storedFor(to)).toEqual([]);
  });

  it('sends once when the SDK retries a call whose answer was lost (its signed invocation id)', async () => {
    const [a, b] = [rcpt('retry-a'), rcpt('retry-b')];
    const sdk = client();
    const attempts: { invocation?: string; signed: boolean }[] = [];
    // After the request was answered, the first answer "never arrives": the SDK retries the call.
    sdk.middlewareStack.addRelativeTo(
      (next: any) => async (args: any) => {
        const headers = args.request.headers as Record<string, string>;
        attempts.push({
          invocation: headers['amz-sdk-invocation-id'],
          signed: /SignedHeaders=[^,]*amz-sdk-invocation-id/.test(headers.authorization ?? ''),
        });
        const result = await next(args);
        if (attempts.length === 1) throw Object.assign(new Error('answer lost'), { name: 'TimeoutError' });
        return result;
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'loseFirstAnswer' },
    );
    // A hand-written message without Date: Mailroom adds one, so the retry is not byte-identical.
    const raw = Buffer.from(`From: sender@example.com\r\nTo: ${a}, ${b}\r\nSubject: once\r\n\r\nonly once\r\n`);
    const { MessageId } = await sdk.send(new SendEmailCommand({ Content: { Raw: { Data: raw } } }));
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.invocation).toBe(attempts[1]!.invocation);
    expect(attempts.every((x) => x.signed)).toBe(true);
    expect(await deliveredCopies(MessageId!)).toHaveLength(2);
    expect(atStandIn(a)).toHaveLength(1);
    expect(atStandIn(b)).toHaveLength(1);
  });
});

describe('SES v2 SendEmail during an outage', () => {
  let deadConnection: Connection;
  let server: ServerType;
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await deadConnection?.close().catch(() => {});
  });

  it('answers 503 ServiceUnavailable, which the SDK retries, and the retry sends each copy once', async () => {
    // The same app with Temporal unreachable: the first copy is stored, its start fails.
    deadConnection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const noTemporal = createApp(
      appDeps({
        config: h.config,
        db: h.db,
        temporal: temporalClient(deadConnection, h.config),
        objects: h.objects,
        logger: { error: () => {} },
      }),
    );
    server = await new Promise<ServerType>((resolve) => {
      const s: ServerType = serve({ fetch: noTemporal.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const sdk = client({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const answers: (number | undefined)[] = [];
    // The first attempt reaches the app whose Temporal is down; the SDK's retry, the healthy one.
    sdk.middlewareStack.addRelativeTo(
      (next: any) => async (args: any) => {
        if (answers.length > 0) args.request.port = Number(new URL(h.apiUrl).port);
        try {
          const result = await next(args);
          answers.push(result.response.statusCode);
          return result;
        } catch (err: any) {
          answers.push(err.$metadata?.httpStatusCode);
          throw err;
        }
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'outageThenRecovery' },
    );
    const [a, b] = [rcpt('outage-a'), rcpt('outage-b')];
    const { MessageId } = await sdk.send(new SendEmailCommand(simple([a, b])));
    expect(answers).toEqual([503, 200]);
    expect(await deliveredCopies(MessageId!)).toHaveLength(2);
    expect(atStandIn(a)).toHaveLength(1);
    expect(atStandIn(b)).toHaveLength(1);
  });
});

describe('SES v2 authentication (Signature Version 4)', () => {
  it('refuses a wrong secret and an unknown access key with 403', async () => {
    const to = rcpt('wrong-secret');
    const wrong = await rejection(
      client({ credentials: { ...KEY, secretAccessKey: 'not-the-secret-0123456789' } }).send(
        new SendEmailCommand(simple([to])),
      ),
    );
    expect(wrong.name).toBe('InvalidSignatureException');
    expect(wrong.$metadata.httpStatusCode).toBe(403);
    const unknown = await rejection(
      client({ credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: KEY.secretAccessKey } }).send(
        new GetAccountCommand({}),
      ),
    );
    expect(unknown.name).toBe('UnrecognizedClientException');
    expect(unknown.$metadata.httpStatusCode).toBe(403);
    expect(await storedFor(to)).toEqual([]);
  });

  it('refuses a signature more than 5 minutes old; the SDK corrects its clock from the answer and retries', async () => {
    const to = rcpt('skew');
    const tenMinutesSlow = -10 * 60_000;
    const expired = await rejection(
      client({ systemClockOffset: tenMinutesSlow, maxAttempts: 1 }).send(new SendEmailCommand(simple([to]))),
    );
    expect(expired.name).toBe('InvalidSignatureException');
    expect(expired.message).toMatch(/^Signature expired: /);
    expect(expired.$metadata.httpStatusCode).toBe(403);
    expect(await storedFor(to)).toEqual([]);

    const { MessageId } = await client({ systemClockOffset: tenMinutesSlow }).send(new SendEmailCommand(simple([to])));
    expect(await deliveredCopies(MessageId!)).toHaveLength(1);
  });

  it('refuses a body altered after signing', async () => {
    const to = rcpt('tampered');
    const sdk = client();
    sdk.middlewareStack.addRelativeTo(
      (next: any) => (args: any) => {
        // The SDK's JSON body is bytes (with string methods that warn).
        const body = new TextDecoder().decode(args.request.body as Uint8Array);
        expect(body).toContain('Hello from SES');
        args.request.body = body.replace('Hello from SES', 'Hello from XXX');
        return next(args);
      },
      { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamper' },
    );
    const err = await rejection(sdk.send(new SendEmailCommand(simple([to]))));
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(await storedFor(to)).toEqual([]);
  });
});
