// SMTP_URL as the README's "SMTP relays" presets write it, each sent through real nodemailer to
// the real SMTP sink set up as that relay (implicit TLS, STARTTLS with a login, plain port 25),
// and certificate checks: an untrusted relay is unavailable, never sent to, unless its CA is given.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpTransport, sendViaSmtp } from '../../delivery/smtp.js';
import type { SmtpSink, SmtpSinkOptions } from '../../local/smtp-sink.js';
import { testMessage as message, smtpTransport, startSink, transportOptions } from '../support/smtp.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-certs.js';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(() => certs.remove());

/** The URL with its host and port replaced by the sink's: scheme, credentials and query stay. */
function pointedAt(url: string, sink: SmtpSink) {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(sink.port);
  return u.href;
}

interface Preset {
  relay: string;
  url: string;
  /** What the relay expects to see at AUTH (the URL's credentials, decoded). */
  login?: { user: string; pass: string };
  /** How the relay speaks TLS. */
  tls: 'implicit' | 'starttls' | 'none';
  options: Record<string, unknown>;
}

const presets: Preset[] = [
  {
    relay: 'QQ Mail: implicit TLS on 465, the mailbox’s authorisation code as password',
    url: 'smtps://12345%40qq.com:abcdefghijklmnop@smtp.qq.com:465',
    login: { user: '12345@qq.com', pass: 'abcdefghijklmnop' },
    tls: 'implicit',
    options: { host: 'smtp.qq.com', port: 465, secure: true },
  },
  {
    relay: 'Gmail: implicit TLS on 465, an app password',
    url: 'smtps://you%40gmail.com:abcdefghijklmnop@smtp.gmail.com:465',
    login: { user: 'you@gmail.com', pass: 'abcdefghijklmnop' },
    tls: 'implicit',
    options: { host: 'smtp.gmail.com', port: 465, secure: true },
  },
  {
    relay: 'Office 365: STARTTLS on 587, one connection per worker',
    url: 'smtp://ana%40contoso.com:p%40ss%3Aw%2Frd@smtp.office365.com:587?maxConnections=1',
    login: { user: 'ana@contoso.com', pass: 'p@ss:w/rd' },
    tls: 'starttls',
    options: { host: 'smtp.office365.com', port: 587, secure: false, requireTLS: true, maxConnections: 1 },
  },
  {
    relay: 'SES SMTP: STARTTLS on 587, SMTP credentials (their password has / and +)',
    url: 'smtp://AKIAEXAMPLESMTPUSER:BJ3x%2FAbc%2BdEf0123456789abcdefghijklmnopq@email-smtp.eu-west-1.amazonaws.com:587',
    login: { user: 'AKIAEXAMPLESMTPUSER', pass: 'BJ3x/Abc+dEf0123456789abcdefghijklmnopq' },
    tls: 'starttls',
    options: { host: 'email-smtp.eu-west-1.amazonaws.com', port: 587, secure: false, requireTLS: true },
  },
  {
    relay: 'an internal relay on port 25: no login, no TLS',
    url: 'smtp://mail.internal.example:25',
    tls: 'none',
    options: { host: 'mail.internal.example', port: 25, secure: false },
  },
];

describe.each(presets)('SMTP_URL for $relay', (preset) => {
  it('parses to the relay’s host, port, TLS mode and decoded credentials', () => {
    const options = transportOptions(smtpTransport(preset.url));
    expect(options).toMatchObject({ ...preset.options, pool: true, tls: { rejectUnauthorized: true } });
    expect(options.auth).toEqual(preset.login);
    if (!preset.login) expect(options.requireTLS).toBeUndefined();
  });

  it('delivers through a relay set up the same way, logging in with the decoded credentials', async () => {
    const tls: SmtpSinkOptions = { implicit: { secure: true }, starttls: { starttls: true }, none: {} }[preset.tls];
    const relay = await startSink({ ...tls, tls: certs.server, ...(preset.login ? { auth: preset.login } : {}) });
    const outcome = await sendViaSmtp(smtpTransport(pointedAt(preset.url, relay), { caFile: certs.caFile }), message());
    expect(outcome).toMatchObject({ kind: 'accepted' });
    expect(relay.authAttempts).toEqual(preset.login ? [preset.login.user] : []);
    expect(relay.mails).toHaveLength(1);
  });
});

describe('certificate checks', () => {
  // Each relay mode: implicit TLS (smtps) and STARTTLS with a login.
  const modes = [
    { mode: 'implicit TLS', sink: { secure: true } },
    { mode: 'STARTTLS', sink: { starttls: true, auth: { user: 'mailroom', pass: 's3cret' } } },
  ];
  const urlOf = (relay: SmtpSink, query = '') =>
    `${relay.url.startsWith('smtps') ? relay.url : relay.urlWith('mailroom', 's3cret')}${query}`;

  describe.each(modes)('over $mode', ({ sink }) => {
    it('is unavailable, and sends nothing, when the relay’s certificate is self-signed', async () => {
      const relay = await startSink({ ...sink, tls: certs.selfSigned });
      const outcome = await sendViaSmtp(smtpTransport(urlOf(relay)), message());
      expect(outcome).toMatchObject({ kind: 'unavailable', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      expect(relay.mails).toHaveLength(0);
      expect(relay.authAttempts).toEqual([]);
    });

    it('is unavailable when the certificate is signed by a CA nobody configured, accepted once its CA file is given', async () => {
      const relay = await startSink({ ...sink, tls: certs.server });
      expect(await sendViaSmtp(smtpTransport(urlOf(relay)), message())).toMatchObject({
        kind: 'unavailable',
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      });
      expect(relay.mails).toHaveLength(0);
      const trusting = smtpTransport(urlOf(relay), { caFile: certs.caFile });
      expect(await sendViaSmtp(trusting, message())).toMatchObject({ kind: 'accepted' });
      expect(relay.mails).toHaveLength(1);
    });

    it('is unavailable when the certificate is for another name, even from the configured CA', async () => {
      const relay = await startSink({ ...sink, tls: certs.server });
      const smtp = smtpTransport(urlOf(relay, '?tls.servername=relay.example.com'), { caFile: certs.caFile });
      expect(await sendViaSmtp(smtp, message())).toMatchObject({
        kind: 'unavailable',
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
      expect(relay.mails).toHaveLength(0);
    });

    it('trusts only the configured CA: a self-signed certificate stays refused', async () => {
      const relay = await startSink({ ...sink, tls: certs.selfSigned });
      const smtp = smtpTransport(urlOf(relay), { caFile: certs.caFile });
      expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'unavailable' });
    });

    it('accepts any certificate only with ?tls.rejectUnauthorized=false in the URL (the last resort)', async () => {
      const relay = await startSink({ ...sink, tls: certs.selfSigned });
      const smtp = smtpTransport(urlOf(relay, '?tls.rejectUnauthorized=false'));
      expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
    });
  });

  it('refuses to start with a CA file it cannot read or that holds no certificate, naming the file', () => {
    const missing = join(certs.caFile, '..', 'missing.pem');
    expect(() => createSmtpTransport({ url: 'smtps://relay.example.com', timeoutMs: 1_000, caFile: missing })).toThrow(
      `cannot read the SMTP relay's CA file ${missing}`,
    );
    const notPem = join(certs.caFile, '..', 'not.pem');
    writeFileSync(notPem, 'not a certificate\n');
    expect(() => createSmtpTransport({ url: 'smtps://relay.example.com', timeoutMs: 1_000, caFile: notPem })).toThrow(
      `the SMTP relay's CA file ${notPem} holds no PEM certificate`,
    );
  });
});
