import {
  AccountSuspendedException,
  BadRequestException,
  MessageRejected,
  SESv2ServiceException,
  SendingPausedException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import {
  backoffWithJitter,
  classifySesError,
  classifySmtpError,
  toApplicationFailure,
} from '../../activities/provider-errors.js';
import { DeliveryErrorType } from '../../workflows/contracts.js';

const $metadata = { httpStatusCode: 400, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 };

/** What Node's socket layer throws, e.g. `connect ECONNREFUSED 127.0.0.1:1`. */
function socketError(code: string) {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), {
    code,
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 1,
  });
}

/** What nodemailer rejects with: a `code` like EENVELOPE and the server's numeric reply. */
function smtpError(message: string, fields: { code?: string; responseCode?: number; command?: string }) {
  return Object.assign(new Error(message), fields);
}

describe('classifySesError', () => {
  it.each([
    ['the SDK class', new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata })],
    [
      'a plain Error named like the SDK names it',
      Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'TooManyRequestsException' }),
    ],
  ])('treats throttling (%s) as transient', (_, err) => {
    expect(classifySesError(err)).toEqual({
      type: DeliveryErrorType.Transient,
      outcome: 'retryable_error',
      code: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
    });
  });

  it('treats an unmodelled 5xx service error as transient, keeping its name as the code', () => {
    const err = new SESv2ServiceException({
      name: 'InternalFailure',
      $fault: 'server',
      $metadata: { ...$metadata, httpStatusCode: 500 },
      message: 'Internal failure.',
    });
    expect(classifySesError(err)).toMatchObject({
      type: DeliveryErrorType.Transient,
      outcome: 'retryable_error',
      code: 'InternalFailure',
    });
  });

  it.each([
    new MessageRejected({ message: 'Email address is not verified.', $metadata }),
    new BadRequestException({ message: 'Invalid MIME.', $metadata }),
  ])('treats $name as a permanent rejection', (err) => {
    expect(classifySesError(err)).toMatchObject({
      type: DeliveryErrorType.Rejected,
      outcome: 'rejected',
      code: err.name,
      message: err.message,
    });
  });

  it.each([
    new SendingPausedException({ message: 'Sending is paused for this account.', $metadata }),
    new AccountSuspendedException({ message: 'Account suspended.', $metadata }),
    Object.assign(new Error('The security token included in the request is invalid.'), {
      name: 'UnrecognizedClientException',
    }),
  ])('treats $name as SES being unavailable (fail over at once)', (err) => {
    expect(classifySesError(err)).toMatchObject({
      type: DeliveryErrorType.Unavailable,
      outcome: 'unavailable',
      code: err.name,
    });
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])(
    'treats socket error %s as SES being unreachable, with the socket code',
    (code) => {
      expect(classifySesError(socketError(code))).toMatchObject({
        type: DeliveryErrorType.Unavailable,
        outcome: 'unavailable',
        code,
      });
    },
  );

  it('finds the socket code in the cause chain of a wrapping error', () => {
    const wrapped = new Error('request failed', { cause: new Error('socket', { cause: socketError('ECONNREFUSED') }) });
    expect(classifySesError(wrapped)).toMatchObject({ type: DeliveryErrorType.Unavailable, code: 'ECONNREFUSED' });
  });

  it('finds the socket code on an AggregateError from a dual-stack connect', () => {
    // Node's happy-eyeballs connect rejects with an AggregateError carrying the first code.
    const err = Object.assign(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''), {
      code: 'ECONNREFUSED',
    });
    expect(classifySesError(err)).toMatchObject({ type: DeliveryErrorType.Unavailable, code: 'ECONNREFUSED' });
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'EPIPE'])(
    'treats socket error %s mid-request as transient, not a failover',
    (code) => {
      expect(classifySesError(socketError(code))).toMatchObject({
        type: DeliveryErrorType.Transient,
        outcome: 'retryable_error',
        code,
      });
    },
  );

  it('treats the SDK request timeout as transient', () => {
    const err = Object.assign(new Error('Connection timed out after 2000 ms'), { name: 'TimeoutError' });
    expect(classifySesError(err)).toMatchObject({ type: DeliveryErrorType.Transient, code: 'TimeoutError' });
  });

  it('classifies a thrown non-Error value as transient instead of throwing', () => {
    expect(classifySesError('boom')).toEqual({
      type: DeliveryErrorType.Transient,
      outcome: 'retryable_error',
      code: 'Error',
      message: 'boom',
    });
    expect(classifySesError(undefined)).toMatchObject({ type: DeliveryErrorType.Transient });
  });

  it('caps the recorded message at 1000 characters', () => {
    const err = new TooManyRequestsException({ message: 'x'.repeat(5000), $metadata });
    expect(classifySesError(err).message).toHaveLength(1000);
  });
});

describe('classifySmtpError', () => {
  it('treats a 5xx reply as a permanent rejection, with the reply code', () => {
    const err = smtpError("Can't send mail - all recipients were rejected: 550 5.1.1 user unknown", {
      code: 'EENVELOPE',
      responseCode: 550,
      command: 'RCPT TO',
    });
    expect(classifySmtpError(err)).toEqual({
      type: DeliveryErrorType.Rejected,
      outcome: 'rejected',
      code: '550',
      message: err.message,
    });
  });

  it.each([421, 450, 451, 452])('treats a %i reply as transient', (responseCode) => {
    expect(classifySmtpError(smtpError('try again later', { code: 'EMESSAGE', responseCode }))).toMatchObject({
      type: DeliveryErrorType.Transient,
      outcome: 'retryable_error',
      code: String(responseCode),
    });
  });

  it('treats a refused connection to the SMTP server as transient, with nodemailer code', () => {
    expect(classifySmtpError(smtpError('connect ECONNREFUSED 127.0.0.1:25', { code: 'ECONNECTION' }))).toMatchObject({
      type: DeliveryErrorType.Transient,
      code: 'ECONNECTION',
    });
    expect(classifySmtpError(new Error('x', { cause: socketError('ECONNREFUSED') }))).toMatchObject({
      type: DeliveryErrorType.Transient,
      code: 'ECONNREFUSED',
    });
  });

  it('does not take a numeric string for an SMTP reply code', () => {
    expect(classifySmtpError(smtpError('odd', { responseCode: '550' as unknown as number }))).toMatchObject({
      type: DeliveryErrorType.Transient,
    });
  });
});

describe('backoffWithJitter', () => {
  const top = () => 1 - Number.EPSILON;

  it('doubles the ceiling with each attempt, starting at the base', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffWithJitter(a, 100, 60_000, top))).toEqual([100, 200, 400, 800, 1600]);
  });

  it('never exceeds the maximum, even for huge attempt numbers', () => {
    expect(backoffWithJitter(12, 100, 1000, top)).toBe(1000);
    expect(backoffWithJitter(10_000, 100, 1000, top)).toBe(1000);
  });

  it('treats attempt 0 and negative attempts like the first', () => {
    expect(backoffWithJitter(0, 100, 1000, top)).toBe(100);
    expect(backoffWithJitter(-3, 100, 1000, top)).toBe(100);
  });

  it('scales the ceiling by the random draw (full jitter) and never returns less than 1 ms', () => {
    expect(backoffWithJitter(3, 100, 60_000, () => 0.5)).toBe(200);
    expect(backoffWithJitter(3, 100, 60_000, () => 0)).toBe(1);
  });

  it('spreads real random delays over the whole window', () => {
    const draws = Array.from({ length: 2000 }, () => backoffWithJitter(4, 100, 60_000));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...draws)).toBeLessThanOrEqual(800);
    expect(Math.min(...draws)).toBeLessThan(100);
    expect(Math.max(...draws)).toBeGreaterThan(700);
  });
});

describe('toApplicationFailure', () => {
  it('makes rejections non-retryable and carries type, code and the jittered delay', () => {
    const failure = toApplicationFailure(classifySesError(new MessageRejected({ message: 'no', $metadata })), 250);
    expect(failure).toMatchObject({
      type: DeliveryErrorType.Rejected,
      nonRetryable: true,
      message: 'MessageRejected: no',
    });
    expect(failure.nextRetryDelay).toBe(250);
  });

  it('leaves transient and unavailable failures retryable (the workflow policy decides)', () => {
    for (const err of [socketError('ECONNRESET'), socketError('ECONNREFUSED')])
      expect(toApplicationFailure(classifySesError(err), 10).nonRetryable).toBe(false);
  });
});
