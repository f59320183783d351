import { describe, expect, it } from 'vitest';
import { classifySmtpError } from '../../delivery/smtp.js';
import type { ProviderFailure } from '../../delivery/outcome.js';

/**
 * Errors exactly as nodemailer 10.6.0 rejected them, captured with createSmtpTransport +
 * sendViaSmtp (timeoutMs 500) against local/smtp-sink.ts set up as noted on each one: the message
 * and every own field, including the `smtpStage` sendViaSmtp adds. Re-capture them when upgrading
 * nodemailer: the classification reads these fields. The pooled transport (the default) fails a
 * message whose connection closed before it could be handed over with an error of its own
 * (`pooled…` below), without the command: only the stage tells how far the message got.
 */
function captured(fields: { message: string } & Record<string, unknown>): Error {
  const { message, ...rest } = fields;
  return Object.assign(new Error(message), rest);
}

const rcptError = (recipient: string, response: string) => ({
  message: `Recipient command failed: ${response}`,
  code: 'EENVELOPE',
  response,
  responseCode: Number(response.slice(0, 3)),
  permanent: response.startsWith('5'),
  command: 'RCPT TO',
  recipient,
});

const nodemailerErrors = {
  // no sink: smtp://127.0.0.1:1
  refused: captured({
    message: 'connect ECONNREFUSED 127.0.0.1:1',
    errno: -111,
    code: 'ESOCKET',
    syscall: 'connect',
    address: '127.0.0.1',
    port: 1,
    originalCode: 'ECONNREFUSED',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // smtp://relay.invalid:25
  noSuchHost: captured({
    message: 'getaddrinfo ENOTFOUND relay.invalid',
    errno: -3008,
    code: 'EDNS',
    syscall: 'getaddrinfo',
    hostname: 'relay.invalid',
    originalCode: 'ENOTFOUND',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // delayAt('CONNECT', Infinity)
  noGreeting: captured({
    message: 'Greeting never received',
    timeoutType: 'GREETING_TIMEOUT',
    code: 'ETIMEDOUT',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // the same, when the socket's idle timer (also timeoutMs) fires before the greeting timer
  // (seen under load)
  noGreetingIdle: captured({
    message: 'Timeout',
    timeoutType: 'SOCKET_TIMEOUT',
    code: 'ETIMEDOUT',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // reply('CONNECT', 554, { message: 'No SMTP service here' })
  greeting554: captured({
    message: 'Invalid greeting. response=554 No SMTP service here: 554 No SMTP service here',
    code: 'EPROTOCOL',
    response: '554 No SMTP service here',
    responseCode: 554,
    permanent: true,
    command: 'CONN',
    smtpStage: 'session',
  }),
  // reply('CONNECT', 421, { message: 'Too busy' })
  greeting421: captured({
    message: 'Invalid greeting. response=421 Too busy: 421 Too busy',
    code: 'EPROTOCOL',
    response: '421 Too busy',
    responseCode: 421,
    permanent: false,
    command: 'CONN',
    smtpStage: 'session',
  }),
  // dropAt('CONNECT')
  droppedBeforeGreeting: captured({
    message: 'Connection closed unexpectedly',
    code: 'ECONNECTION',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // pooled: dropAt('CONNECT')
  pooledDroppedBeforeGreeting: captured({
    message: 'Reached maximum number of retries after connection was closed',
    code: 'ECONNECTION',
    smtpStage: 'session',
  }),
  // credentials in the URL, sink with AUTH and without STARTTLS (createSmtpTransport adds requireTLS)
  noStarttls: captured({
    message: 'Error upgrading connection with STARTTLS: 500 Error: command not recognized',
    code: 'ETLS',
    response: '500 Error: command not recognized',
    responseCode: 500,
    permanent: true,
    command: 'STARTTLS',
    smtpStage: 'session',
  }),
  // STARTTLS with the sink's expired built-in certificate, certificates checked
  badCertificate: captured({
    message: 'certificate has expired',
    code: 'ESOCKET',
    originalCode: 'CERT_HAS_EXPIRED',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // smtps:// to a sink with a self-signed certificate (test/support/tls-certs.ts)
  selfSigned: captured({
    message: 'self-signed certificate',
    code: 'ESOCKET',
    originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // smtps:// against the plain sink
  smtpsToPlain: captured({
    message:
      '803CCDBA2C7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
    library: 'SSL routines',
    reason: 'wrong version number',
    code: 'ESOCKET',
    originalCode: 'ERR_SSL_WRONG_VERSION_NUMBER',
    command: 'CONN',
    smtpStage: 'session',
  }),
  // sink with AUTH and STARTTLS, wrong password
  wrongPassword: captured({
    message: 'Invalid login: 535 Authentication credentials invalid',
    code: 'EAUTH',
    response: '535 Authentication credentials invalid',
    responseCode: 535,
    permanent: true,
    command: 'AUTH PLAIN',
    smtpStage: 'session',
  }),
  // reply('AUTH', 454, { message: '4.7.0 Temporary authentication failure' })
  auth454: captured({
    message: 'Invalid login: 454 4.7.0 Temporary authentication failure',
    code: 'EAUTH',
    response: '454 4.7.0 Temporary authentication failure',
    responseCode: 454,
    permanent: false,
    command: 'AUTH PLAIN',
    smtpStage: 'session',
  }),
  // sink with AUTH, URL without credentials
  mustAuthenticate: captured({
    message: 'Mail command failed: 530 Error: authentication Required',
    code: 'EENVELOPE',
    response: '530 Error: authentication Required',
    responseCode: 530,
    permanent: true,
    command: 'MAIL FROM',
    smtpStage: 'envelope',
  }),
  // reply('MAIL', 550, { message: '5.7.57 Client not authenticated to send mail' }) (Microsoft 365's answer)
  notAuthenticated5757: captured({
    message: 'Mail command failed: 550 5.7.57 Client not authenticated to send mail',
    code: 'EENVELOPE',
    response: '550 5.7.57 Client not authenticated to send mail',
    responseCode: 550,
    permanent: true,
    command: 'MAIL FROM',
    smtpStage: 'envelope',
  }),
  // reply('MAIL', 503, { message: '5.5.1 Error: send AUTH command first' })
  mail503: captured({
    message: 'Mail command failed: 503 5.5.1 Error: send AUTH command first',
    code: 'EENVELOPE',
    response: '503 5.5.1 Error: send AUTH command first',
    responseCode: 503,
    permanent: false,
    command: 'MAIL FROM',
    smtpStage: 'envelope',
  }),
  // reply('MAIL', 550, { message: '5.1.8 Sender address rejected' })
  mail550: captured({
    message: 'Mail command failed: 550 5.1.8 Sender address rejected',
    code: 'EENVELOPE',
    response: '550 5.1.8 Sender address rejected',
    responseCode: 550,
    permanent: true,
    command: 'MAIL FROM',
    smtpStage: 'envelope',
  }),
  // reply('MAIL', 451, { message: '4.3.0 Try again later' })
  mail451: captured({
    message: 'Mail command failed: 451 4.3.0 Try again later',
    code: 'EENVELOPE',
    response: '451 4.3.0 Try again later',
    responseCode: 451,
    permanent: false,
    command: 'MAIL FROM',
    smtpStage: 'envelope',
  }),
  // reply('MAIL', 421, { message: '4.3.2 Shutting down' })
  mail421: captured({
    message: 'Mail command failed: 421 4.3.2 Shutting down',
    code: 'EENVELOPE',
    response: '421 4.3.2 Shutting down',
    responseCode: 421,
    permanent: false,
    command: 'MAIL FROM',
    smtpStage: 'envelope',
  }),
  // reply('RCPT', 550, { message: '5.1.1 No such user' }), two recipients
  allRecipients550: captured({
    message: "Can't send mail - all recipients were rejected: 550 5.1.1 No such user",
    code: 'EENVELOPE',
    response: '550 5.1.1 No such user',
    responseCode: 550,
    permanent: true,
    command: 'RCPT TO',
    rejected: ['b@x.test', 'c@x.test'],
    rejectedErrors: [rcptError('b@x.test', '550 5.1.1 No such user'), rcptError('c@x.test', '550 5.1.1 No such user')],
    smtpStage: 'envelope',
  }),
  // reply('RCPT', 550, { to: 'b@x.test' … }) and reply('RCPT', 451, { to: 'c@x.test' … })
  recipients550And451: captured({
    message: "Can't send mail - all recipients were rejected: 451 4.3.0 Try again later",
    code: 'EENVELOPE',
    response: '451 4.3.0 Try again later',
    responseCode: 451,
    permanent: false,
    command: 'RCPT TO',
    rejected: ['b@x.test', 'c@x.test'],
    rejectedErrors: [
      rcptError('b@x.test', '550 5.1.1 No such user'),
      rcptError('c@x.test', '451 4.3.0 Try again later'),
    ],
    smtpStage: 'envelope',
  }),
  // reply('RCPT', 554, { message: '5.7.1 <b@x.test>: Relay access denied' }) (Postfix's answer)
  relayDenied: captured({
    message: "Can't send mail - all recipients were rejected: 554 5.7.1 <b@x.test>: Relay access denied",
    code: 'EENVELOPE',
    response: '554 5.7.1 <b@x.test>: Relay access denied',
    responseCode: 554,
    permanent: true,
    command: 'RCPT TO',
    rejected: ['b@x.test', 'c@x.test'],
    rejectedErrors: [
      rcptError('b@x.test', '554 5.7.1 <b@x.test>: Relay access denied'),
      rcptError('c@x.test', '554 5.7.1 <b@x.test>: Relay access denied'),
    ],
    smtpStage: 'envelope',
  }),
  // dropAt('MAIL')
  droppedAtMail: captured({
    message: 'Connection closed unexpectedly',
    code: 'ECONNECTION',
    command: 'CONN',
    smtpStage: 'envelope',
  }),
  // pooled: a message accepted, then dropAt('MAIL') for the next one on the same connection
  pooledDroppedAtMail: captured({
    message: 'Reached maximum number of retries after connection was closed',
    code: 'ECONNECTION',
    smtpStage: 'envelope',
  }),
  // delayAt('RCPT', Infinity)
  heldAtRcpt: captured({
    message: 'Timeout',
    timeoutType: 'SOCKET_TIMEOUT',
    code: 'ETIMEDOUT',
    command: 'CONN',
    smtpStage: 'envelope',
  }),
  // reply('DATA', 554, { message: '5.6.0 Message content rejected' })
  data554: captured({
    message: 'Message failed: 554 5.6.0 Message content rejected',
    code: 'EMESSAGE',
    response: '554 5.6.0 Message content rejected',
    responseCode: 554,
    permanent: true,
    command: 'DATA',
    smtpStage: 'sent',
  }),
  // failNext(451)
  data451: captured({
    message: 'Message failed: 451 sink says 451',
    code: 'EMESSAGE',
    response: '451 sink says 451',
    responseCode: 451,
    permanent: false,
    command: 'DATA',
    smtpStage: 'sent',
  }),
  // dropAt('DATA'): the sink kept the message
  droppedAfterData: captured({
    message: 'Connection closed unexpectedly',
    code: 'ECONNECTION',
    command: 'CONN',
    smtpStage: 'sent',
  }),
  // delayAt('DATA', Infinity): the sink kept the message
  heldAfterData: captured({
    message: 'Timeout',
    timeoutType: 'SOCKET_TIMEOUT',
    code: 'ETIMEDOUT',
    command: 'CONN',
    smtpStage: 'sent',
  }),
};

type Expected = Pick<ProviderFailure, 'kind' | 'code'>;
const cases = (rows: [string, keyof typeof nodemailerErrors, Expected][]) => rows;

describe('classifySmtpError', () => {
  describe('the relay could not take mail from us at all: unavailable (fail over or retry, never failed)', () => {
    it.each(
      cases([
        ['a refused connection', 'refused', { kind: 'unavailable', code: 'ECONNREFUSED' }],
        ['a relay host that does not resolve', 'noSuchHost', { kind: 'unavailable', code: 'ENOTFOUND' }],
        ['a relay that never greets', 'noGreeting', { kind: 'unavailable', code: 'ETIMEDOUT' }],
        [
          'a relay that never greets, seen by the idle timer first',
          'noGreetingIdle',
          { kind: 'unavailable', code: 'ETIMEDOUT' },
        ],
        ['a 554 greeting', 'greeting554', { kind: 'unavailable', code: '554' }],
        [
          'a connection closed before the greeting',
          'droppedBeforeGreeting',
          { kind: 'unavailable', code: 'ECONNECTION' },
        ],
        ['a refused STARTTLS that the credentials require', 'noStarttls', { kind: 'unavailable', code: '500' }],
        ['a certificate that fails verification', 'badCertificate', { kind: 'unavailable', code: 'CERT_HAS_EXPIRED' }],
        ['a self-signed certificate', 'selfSigned', { kind: 'unavailable', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }],
        [
          'a pooled connection closed before the greeting',
          'pooledDroppedBeforeGreeting',
          { kind: 'unavailable', code: 'ECONNECTION' },
        ],
        [
          'TLS spoken to a plain-text port',
          'smtpsToPlain',
          { kind: 'unavailable', code: 'ERR_SSL_WRONG_VERSION_NUMBER' },
        ],
        ['a wrong password (535 to AUTH)', 'wrongPassword', { kind: 'unavailable', code: '535' }],
        ['530 "authentication required" to MAIL FROM', 'mustAuthenticate', { kind: 'unavailable', code: '530' }],
        [
          '550 5.7.57 "client not authenticated" to MAIL FROM',
          'notAuthenticated5757',
          { kind: 'unavailable', code: '550' },
        ],
        ['503 "send AUTH first" to MAIL FROM', 'mail503', { kind: 'unavailable', code: '503' }],
        ['"Relay access denied" for every recipient', 'relayDenied', { kind: 'unavailable', code: '554' }],
      ]),
    )('treats %s as the relay being unavailable', (_, name, expected) => {
      expect(classifySmtpError(nodemailerErrors[name])).toMatchObject(expected);
    });
  });

  describe("the relay's final word on this message: rejected (never retried, never failed over)", () => {
    it.each(
      cases([
        ['550 to MAIL FROM', 'mail550', { kind: 'rejected', code: '550' }],
        ['550 to every RCPT TO', 'allRecipients550', { kind: 'rejected', code: '550' }],
        ['554 to the message data', 'data554', { kind: 'rejected', code: '554' }],
      ]),
    )('treats %s as a rejection of the message', (_, name, expected) => {
      expect(classifySmtpError(nodemailerErrors[name])).toMatchObject(expected);
    });
  });

  describe('a temporary answer, or silence before the message went out: transient (retry)', () => {
    it.each(
      cases([
        ['a 421 greeting', 'greeting421', { kind: 'transient', code: '421' }],
        ['454 to AUTH', 'auth454', { kind: 'transient', code: '454' }],
        ['451 to MAIL FROM', 'mail451', { kind: 'transient', code: '451' }],
        ['421 to MAIL FROM', 'mail421', { kind: 'transient', code: '421' }],
        ['451 to the message data', 'data451', { kind: 'transient', code: '451' }],
        ['a 550 and a 451 for the only two recipients', 'recipients550And451', { kind: 'transient', code: '451' }],
        [
          'a connection closed while waiting for the reply to MAIL FROM',
          'droppedAtMail',
          { kind: 'transient', code: 'ECONNECTION' },
        ],
        [
          'a reused pooled connection closed at MAIL FROM',
          'pooledDroppedAtMail',
          { kind: 'transient', code: 'ECONNECTION' },
        ],
        ['a relay that stops answering RCPT TO', 'heldAtRcpt', { kind: 'transient', code: 'ETIMEDOUT' }],
      ]),
    )('treats %s as transient', (_, name, expected) => {
      expect(classifySmtpError(nodemailerErrors[name])).toMatchObject(expected);
    });
  });

  describe('silence after the message data went out: unknown (the relay may have queued it)', () => {
    it.each(
      cases([
        ['a connection closed after the message data', 'droppedAfterData', { kind: 'unknown', code: 'ECONNECTION' }],
        ['no final reply within the socket timeout', 'heldAfterData', { kind: 'unknown', code: 'ETIMEDOUT' }],
      ]),
    )('treats %s as an unknown outcome, and says why', (_, name, expected) => {
      const outcome = classifySmtpError(nodemailerErrors[name]);
      expect(outcome).toMatchObject(expected);
      expect(outcome.message).toMatch(/after the message data was sent/);
    });
  });

  describe('an error that did not come through sendViaSmtp (no smtpStage)', () => {
    const withoutStage = (name: keyof typeof nodemailerErrors) => {
      const { smtpStage: _, ...fields } = { ...nodemailerErrors[name] } as Record<string, unknown>;
      return Object.assign(new Error(nodemailerErrors[name].message), fields);
    };

    it('treats a dropped connection as unknown: nothing shows the data had not gone out', () => {
      expect(classifySmtpError(withoutStage('droppedAfterData'))).toMatchObject({ kind: 'unknown' });
      expect(classifySmtpError(withoutStage('droppedAtMail'))).toMatchObject({ kind: 'unknown' });
      expect(classifySmtpError(withoutStage('pooledDroppedAtMail'))).toMatchObject({ kind: 'unknown' });
    });

    it('still knows setup failures and answers by their own fields', () => {
      expect(classifySmtpError(withoutStage('refused'))).toMatchObject({ kind: 'unavailable' });
      expect(classifySmtpError(withoutStage('noGreeting'))).toMatchObject({ kind: 'unavailable' });
      expect(classifySmtpError(withoutStage('greeting554'))).toMatchObject({ kind: 'unavailable' });
      expect(classifySmtpError(withoutStage('wrongPassword'))).toMatchObject({ kind: 'unavailable' });
      expect(classifySmtpError(withoutStage('mail550'))).toMatchObject({ kind: 'rejected' });
      expect(classifySmtpError(withoutStage('data451'))).toMatchObject({ kind: 'transient' });
    });

    it('treats something that is not an error at all as unknown', () => {
      expect(classifySmtpError('socket hang up')).toEqual({
        kind: 'unknown',
        code: 'Error',
        message: 'socket hang up',
      });
    });
  });

  it("keeps the relay's reply in the message, cut to 1,000 characters", () => {
    expect(classifySmtpError(nodemailerErrors.mail550).message).toBe(
      'Mail command failed: 550 5.1.8 Sender address rejected',
    );
    const long = Object.assign(new Error('x'.repeat(5000)), { responseCode: 550, command: 'MAIL FROM' });
    expect(classifySmtpError(long).message).toHaveLength(1000);
  });
});
