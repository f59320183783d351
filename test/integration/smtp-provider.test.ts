// The SMTP provider with the real nodemailer against the real SMTP sink, made to answer like real
// relays do: what each answer (or silence) becomes as a provider outcome.
import nodemailer, { type Transporter } from 'nodemailer';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sendViaSmtp, type SmtpSettings } from '../../delivery/smtp.js';
import { SmtpSink } from '../../local/smtp-sink.js';
import { testMessage as message, startSink as sink, smtpTransport, transportOptions } from '../support/smtp.js';

const credentials = { user: 'mailroom', pass: 's3cret' };
// The sink's STARTTLS uses smtp-server's built-in (expired, self-signed) certificate.
const acceptSinkCertificate = 'tls.rejectUnauthorized=false';

/** `smtp://user:pass@127.0.0.1:port?…` for a sink. */
const urlFor = (s: SmtpSink, user: string, pass: string, query = '') =>
  `${s.urlWith(user, pass)}${query ? `?${query}` : ''}`;

// Every answer means the same on a pooled transport (the default) and on one connection per send.
describe.each([{ pool: true }, { pool: false }])('sendViaSmtp against a relay (pool: $pool)', ({ pool }) => {
  const transport = (url: string, timeoutMs = 2_000): Transporter => smtpTransport(url, { timeoutMs, pool });

  it('is accepted when the relay takes the message, which arrives byte for byte with its envelope', async () => {
    const relay = await sink();
    const outcome = await sendViaSmtp(transport(relay.url), message());
    expect(outcome).toEqual({ kind: 'accepted', providerMessageId: '250 OK: message queued' });
    expect(relay.mails).toHaveLength(1);
    expect(relay.mails[0]).toMatchObject({ from: 'sender@mailroom.test', to: ['a@x.test', 'b@x.test'] });
    expect(relay.mails[0]!.raw.toString()).toContain('Message-ID: <smtp-provider-test@mailroom.test>');
    expect(relay.mails[0]!.raw.toString()).toContain('Hello over SMTP.');
  });

  it('is accepted with the refused recipient listed when the relay refuses one of two recipients (550 to RCPT)', async () => {
    const relay = await sink();
    relay.reply('RCPT', 550, { to: 'b@x.test', message: '5.1.1 <b@x.test>: Recipient address rejected' });
    const outcome = await sendViaSmtp(transport(relay.url), message());
    expect(outcome).toEqual({
      kind: 'accepted',
      providerMessageId: '250 OK: message queued',
      rejectedRecipients: [
        { address: 'b@x.test', code: '550', message: '550 5.1.1 <b@x.test>: Recipient address rejected' },
      ],
    });
    expect(relay.mails.map((m) => m.to)).toEqual([['a@x.test']]);
  });

  it('is rejected when the relay refuses every recipient (550 to each RCPT)', async () => {
    const relay = await sink();
    relay.reply('RCPT', 550, { message: '5.1.1 No such user' });
    const outcome = await sendViaSmtp(transport(relay.url), message());
    expect(outcome).toMatchObject({ kind: 'rejected', code: '550' });
    expect(relay.mails).toHaveLength(0);
  });

  it('is rejected when the relay refuses the sender (550 to MAIL FROM) or the message data (554)', async () => {
    const relay = await sink();
    relay.reply('MAIL', 550, { message: '5.1.8 Sender address rejected', times: 1 });
    relay.reply('DATA', 554, { message: '5.6.0 Message content rejected', times: 1 });
    const smtp = transport(relay.url);
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'rejected', code: '550' });
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'rejected', code: '554' });
    expect(relay.mails).toHaveLength(0);
  });

  it('is transient when the relay answers 451, at MAIL FROM or after the data', async () => {
    const relay = await sink();
    relay.reply('MAIL', 451, { message: '4.3.0 Try again later', times: 1 });
    relay.failNext(451);
    const smtp = transport(relay.url);
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'transient', code: '451' });
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'transient', code: '451' });
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
  });

  it('is unavailable with a wrong password (535), so failover mail is not failed by a relay misconfiguration', async () => {
    const relay = await sink({ auth: credentials, starttls: true });
    const outcome = await sendViaSmtp(
      transport(urlFor(relay, credentials.user, 'wrong', acceptSinkCertificate)),
      message(),
    );
    expect(outcome).toMatchObject({ kind: 'unavailable', code: '535' });
    expect(relay.authAttempts).toEqual([credentials.user]);
    expect(relay.mails).toHaveLength(0);
  });

  it('is unavailable when the relay requires a login the URL does not have (530 to MAIL FROM)', async () => {
    const relay = await sink({ auth: credentials, starttls: true });
    const outcome = await sendViaSmtp(transport(`${relay.url}?${acceptSinkCertificate}`), message());
    expect(outcome).toMatchObject({ kind: 'unavailable', code: '530' });
  });

  it('logs in over STARTTLS with the right credentials, keeping the URL’s TLS options', async () => {
    const relay = await sink({ auth: credentials, starttls: true });
    const outcome = await sendViaSmtp(
      transport(urlFor(relay, credentials.user, credentials.pass, acceptSinkCertificate)),
      message(),
    );
    expect(outcome).toMatchObject({ kind: 'accepted' });
    expect(relay.authAttempts).toEqual([credentials.user]);
  });

  it('never sends the password when the URL has credentials and the relay offers no STARTTLS: unavailable', async () => {
    const relay = await sink({ auth: credentials });
    const url = urlFor(relay, credentials.user, credentials.pass);
    const outcome = await sendViaSmtp(transport(url), message());
    expect(outcome).toMatchObject({ kind: 'unavailable' });
    expect(relay.authAttempts).toEqual([]);
    expect(relay.mails).toHaveLength(0);

    // The sink does see a clear-text login when one is sent: plain nodemailer sends it.
    const plain = nodemailer.createTransport(url);
    onTestFinished(() => plain.close());
    await plain.sendMail(message());
    expect(relay.authAttempts).toEqual([credentials.user]);
  });

  it('is unavailable when nothing listens at the relay address (connection refused)', async () => {
    const gone = await SmtpSink.start();
    await gone.close();
    const outcome = await sendViaSmtp(transport(gone.url), message());
    expect(outcome).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });
  });

  it('is unknown when the relay drops the connection after the message data, and the relay may well have it', async () => {
    const relay = await sink();
    relay.dropAt('DATA');
    const outcome = await sendViaSmtp(transport(relay.url), message());
    expect(outcome).toMatchObject({ kind: 'unknown', code: 'ECONNECTION' });
    expect(relay.mails).toHaveLength(1);
  });

  it('is transient when the relay drops the connection before the message data', async () => {
    const relay = await sink();
    relay.dropAt('RCPT');
    const outcome = await sendViaSmtp(transport(relay.url), message());
    expect(outcome).toMatchObject({ kind: 'transient', code: 'ECONNECTION' });
    expect(relay.mails).toHaveLength(0);
  });

  it('returns unknown once timeoutMs passes when the relay never answers the message data', async () => {
    const relay = await sink();
    relay.delayAt('DATA', Infinity);
    const outcome = await sendViaSmtp(transport(relay.url, 300), message());
    expect(outcome).toMatchObject({ kind: 'unknown', code: 'ETIMEDOUT' });
    expect(relay.mails).toHaveLength(1);
  });

  it('is unavailable once timeoutMs passes when the relay accepts the connection but never greets', async () => {
    const relay = await sink();
    relay.delayAt('CONNECT', Infinity);
    const outcome = await sendViaSmtp(transport(relay.url, 300), message());
    // The greeting timer or the socket's idle timer, whichever fires first: both are timeoutMs.
    expect(outcome).toMatchObject({ kind: 'unavailable', code: 'ETIMEDOUT' });
  });

  it('is accepted when the final reply is slow but within timeoutMs', async () => {
    const relay = await sink();
    relay.delayAt('DATA', 300);
    const outcome = await sendViaSmtp(transport(relay.url, 2_000), message());
    expect(outcome).toMatchObject({ kind: 'accepted' });
  });

  it('tells concurrent sends on one transport apart', async () => {
    const relay = await sink();
    relay.dropAt('DATA', { times: 1 });
    relay.reply('RCPT', 550, { to: 'rejected@x.test' });
    const smtp = transport(relay.url);
    const outcomes = await Promise.all([
      sendViaSmtp(smtp, message(['dropped@x.test'])),
      sendViaSmtp(smtp, message(['rejected@x.test'])),
      sendViaSmtp(smtp, message(['a@x.test'])),
    ]);
    // Which of the two data-sending sends the sink drops is a race; each is classified by its own stage.
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['accepted', 'rejected', 'unknown']);
    expect(outcomes[1]).toMatchObject({ kind: 'rejected', code: '550' });
  });
});

describe('createSmtpTransport', () => {
  const optionsOf = (url: string, settings: Partial<SmtpSettings> = {}) =>
    transportOptions(smtpTransport(url, { timeoutMs: 5_000, ...settings }));

  it('caps every timeout at timeoutMs and keeps shorter ones and the other options from the URL', () => {
    const url =
      'smtp://relay.example.com:2525?socketTimeout=600000&greetingTimeout=1000&name=mailroom.test&tls.servername=relay';
    expect(optionsOf(url)).toMatchObject({
      host: 'relay.example.com',
      port: 2525,
      secure: false,
      connectionTimeout: 5_000,
      greetingTimeout: 1_000,
      socketTimeout: 5_000,
      dnsTimeout: 5_000,
      name: 'mailroom.test',
      tls: { servername: 'relay' },
    });
  });

  it('requires TLS whenever the URL carries credentials, unless it is already smtps', () => {
    expect(optionsOf('smtp://relay.example.com:587').requireTLS).toBeUndefined();
    expect(optionsOf('smtp://user:pass@relay.example.com:587?requireTLS=false')).toMatchObject({
      requireTLS: true,
      auth: { user: 'user', pass: 'pass' },
    });
    const implicitTls = optionsOf('smtps://user:pass@relay.example.com:465');
    expect(implicitTls).toMatchObject({ secure: true });
    expect(implicitTls.requireTLS).toBeUndefined();
  });

  it('checks certificates unless the URL explicitly says tls.rejectUnauthorized=false', () => {
    expect(optionsOf('smtps://relay.example.com:465').tls).toEqual({ rejectUnauthorized: true });
    expect(optionsOf('smtps://relay.example.com:465?tls.rejectUnauthorized=false').tls).toEqual({
      rejectUnauthorized: false,
    });
  });

  it('pools connections by default (5 connections, 100 messages each), closes idle ones after half of timeoutMs and never requeues a message', () => {
    expect(optionsOf('smtp://relay.example.com:25')).toMatchObject({
      pool: true,
      maxConnections: 5,
      maxMessages: 100,
      idleTimeout: 2_500,
      maxRequeues: 0,
    });
  });

  it('takes the pool settings it is given, and the URL’s query over them', () => {
    const settings = { pool: true, maxConnections: 2, maxMessages: 10 };
    expect(optionsOf('smtp://relay.example.com:25', settings)).toMatchObject(settings);
    expect(optionsOf('smtp://relay.example.com:25?maxConnections=1&maxMessages=50', settings)).toMatchObject({
      pool: true,
      maxConnections: 1,
      maxMessages: 50,
    });
    expect(optionsOf('smtp://relay.example.com:25?pool=false', settings).pool).toBeFalsy();
    expect(optionsOf('smtp://relay.example.com:25?pool=true', { pool: false }).pool).toBe(true);
  });
});
