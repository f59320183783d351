// The SMTP provider with the real nodemailer against the real SMTP sink, made to answer like real
// relays do: what each answer (or silence) becomes as a provider outcome.
import nodemailer, { type Transporter } from 'nodemailer';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSmtpTransport, sendViaSmtp, type SmtpSettings } from '../../delivery/smtp.js';
import { SmtpSink, type SmtpSinkOptions } from '../../local/smtp-sink.js';

const raw = Buffer.from(
  'From: Mailroom <sender@mailroom.test>\r\nTo: a@x.test, b@x.test\r\nSubject: Hello\r\n' +
    'Message-ID: <smtp-provider-test@mailroom.test>\r\n\r\nHello over SMTP.\r\n',
);
const message = (to = ['a@x.test', 'b@x.test']) => ({ envelope: { from: 'sender@mailroom.test', to }, raw });
const credentials = { user: 'mailroom', pass: 's3cret' };
// The sink's STARTTLS uses smtp-server's built-in (expired, self-signed) certificate.
const acceptSinkCertificate = 'tls.rejectUnauthorized=false';

async function sink(opts: SmtpSinkOptions = {}) {
  const s = await SmtpSink.start(opts);
  onTestFinished(() => s.close());
  return s;
}

function transport(url: string, timeoutMs = 2_000): Transporter {
  const t = createSmtpTransport({ url, timeoutMs });
  onTestFinished(() => t.close());
  return t;
}

/** `smtp://user:pass@127.0.0.1:port?…` for a sink. */
const urlFor = (s: SmtpSink, user: string, pass: string, query = '') =>
  `${s.urlWith(user, pass)}${query ? `?${query}` : ''}`;

describe('sendViaSmtp against a relay', () => {
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
  const optionsOf = (t: Transporter) =>
    (t as unknown as { transporter: { options: Record<string, unknown> } }).transporter.options;
  const settings = (url: string): SmtpSettings => ({ url, timeoutMs: 5_000 });

  it('caps every timeout at timeoutMs and keeps shorter ones and the other options from the URL', () => {
    const t = createSmtpTransport(
      settings(
        'smtp://relay.example.com:2525?socketTimeout=600000&greetingTimeout=1000&name=mailroom.test&tls.servername=relay',
      ),
    );
    expect(optionsOf(t)).toMatchObject({
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
    t.close();
  });

  it('requires TLS whenever the URL carries credentials, unless it is already smtps', () => {
    const plain = createSmtpTransport(settings('smtp://relay.example.com:587'));
    const withCredentials = createSmtpTransport(settings('smtp://user:pass@relay.example.com:587?requireTLS=false'));
    const implicitTls = createSmtpTransport(settings('smtps://user:pass@relay.example.com:465'));
    expect(optionsOf(plain).requireTLS).toBeUndefined();
    expect(optionsOf(withCredentials)).toMatchObject({ requireTLS: true, auth: { user: 'user', pass: 'pass' } });
    expect(optionsOf(implicitTls)).toMatchObject({ secure: true });
    expect(optionsOf(implicitTls).requireTLS).toBeUndefined();
    for (const t of [plain, withCredentials, implicitTls]) t.close();
  });
});
