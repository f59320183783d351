import {
  AccountSuspendedException,
  BadRequestException,
  MessageRejected,
  SESv2ServiceException,
  SendingPausedException,
  TooManyRequestsException,
} from '@aws-sdk/client-sesv2';
import { describe, expect, it } from 'vitest';
import { backoffWithJitter } from '../../activities/backoff.js';
import { chooseProvider, countCall } from '../../delivery/ladder.js';
import { classifySesError } from '../../delivery/ses.js';

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

describe('classifySesError', () => {
  it.each([
    ['the SDK class', new TooManyRequestsException({ message: 'Maximum sending rate exceeded.', $metadata })],
    [
      'a plain Error named like the SDK names it',
      Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'TooManyRequestsException' }),
    ],
  ])('treats throttling (%s) as transient, marked as throttling', (_, err) => {
    expect(classifySesError(err)).toEqual({
      kind: 'transient',
      code: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
      throttled: true,
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
      kind: 'transient',
      code: 'InternalFailure',
    });
  });

  it.each([
    new MessageRejected({ message: 'Email address is not verified.', $metadata }),
    new BadRequestException({ message: 'Invalid MIME.', $metadata }),
  ])('treats $name as a permanent rejection', (err) => {
    expect(classifySesError(err)).toMatchObject({
      kind: 'rejected',
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
      kind: 'unavailable',
      code: err.name,
    });
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])(
    'treats socket error %s as SES being unreachable, with the socket code',
    (code) => {
      expect(classifySesError(socketError(code))).toMatchObject({
        kind: 'unavailable',
        code,
      });
    },
  );

  it('finds the socket code in the cause chain of a wrapping error', () => {
    const wrapped = new Error('request failed', { cause: new Error('socket', { cause: socketError('ECONNREFUSED') }) });
    expect(classifySesError(wrapped)).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });
  });

  it('finds the socket code on an AggregateError from a dual-stack connect', () => {
    // Node's happy-eyeballs connect rejects with an AggregateError carrying the first code.
    const err = Object.assign(new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], ''), {
      code: 'ECONNREFUSED',
    });
    expect(classifySesError(err)).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'EPIPE'])(
    'treats socket error %s with no HTTP answer as unknown: the request may have reached SES',
    (code) => {
      expect(classifySesError(socketError(code))).toMatchObject({ kind: 'unknown', code });
    },
  );

  it('treats the SDK request timeout (no answer after the request went out) as unknown', () => {
    const err = Object.assign(new Error('a request has exceeded the configured 2000 ms requestTimeout.'), {
      name: 'TimeoutError',
      code: 'ETIMEDOUT',
    });
    expect(classifySesError(err)).toMatchObject({ kind: 'unknown', code: 'ETIMEDOUT' });
  });

  it('treats a connect timeout as SES unavailable: nothing was sent', () => {
    const err = Object.assign(
      new Error('the request socket did not establish a connection with the server within the configured timeout'),
      { name: 'TimeoutError' },
    );
    expect(classifySesError(err)).toMatchObject({ kind: 'unavailable', code: 'ConnectTimeout' });
  });

  it('classifies a thrown non-Error value as transient instead of throwing', () => {
    expect(classifySesError('boom')).toEqual({
      kind: 'transient',
      code: 'Error',
      message: 'boom',
    });
    expect(classifySesError(undefined)).toMatchObject({ kind: 'transient' });
  });

  it('caps the recorded message at 1000 characters', () => {
    const err = new TooManyRequestsException({ message: 'x'.repeat(5000), $metadata });
    expect(classifySesError(err).message).toHaveLength(1000);
  });
});

describe('the failover rule', () => {
  const policy = { sesMaxAttempts: 2, smtpMaxAttempts: 1 };
  const transient = { kind: 'transient', code: 'x', message: 'x' } as const;

  /** The providers a message that only ever gets transient answers goes to, in order. */
  const ladder = (p: typeof policy & { primary?: 'ses' | 'smtp' }) => {
    let t = { ses: 0, smtp: 0 };
    const chosen = [];
    for (let next = chooseProvider(t, p); next; next = chooseProvider(t, p)) {
      chosen.push(next);
      t = countCall(t, next, transient, p);
    }
    return chosen;
  };

  it('uses SES until its attempts are spent, then SMTP, then nothing', () => {
    expect(ladder(policy)).toEqual(['ses', 'ses', 'smtp']);
  });

  it('moves to SMTP for good once SES says it is unavailable', () => {
    const t = countCall({ ses: 0, smtp: 0 }, 'ses', { kind: 'unavailable', code: 'x', message: 'x' }, policy);
    expect(chooseProvider(t, policy)).toBe('smtp');
  });

  it('runs the other way round with SMTP as the primary', () => {
    const smtpFirst = { ...policy, primary: 'smtp' as const };
    expect(ladder(smtpFirst)).toEqual(['smtp', 'ses', 'ses']);
    const unavailable = countCall(
      { ses: 0, smtp: 0 },
      'smtp',
      { kind: 'unavailable', code: 'x', message: 'x' },
      smtpFirst,
    );
    expect(chooseProvider(unavailable, smtpFirst)).toBe('ses');
    // SES unavailable as the fallback is not skipped: it is all that is left.
    const sesDown = countCall(unavailable, 'ses', { kind: 'unavailable', code: 'x', message: 'x' }, smtpFirst);
    expect(chooseProvider(sesDown, smtpFirst)).toBe('ses');
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
