// The pooled SMTP transport (the default) against the real SMTP sink: connections are reused,
// replaced when the relay ends them, and a pooled send is classified as a fresh one would be.
import { once } from 'node:events';
import type { Transporter } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { sendViaSmtp } from '../../delivery/smtp.js';
import { SmtpSink } from '../../local/smtp-sink.js';
import { testMessage as message, smtpTransport, startSink } from '../support/smtp.js';

const sendEach = async (smtp: Transporter, count: number) => {
  const outcomes = [];
  for (let i = 0; i < count; i++) outcomes.push(await sendViaSmtp(smtp, message([`r${i}@x.test`])));
  return outcomes;
};

describe('a pooled SMTP transport', () => {
  it('sends several messages over one connection', async () => {
    const relay = await startSink();
    const outcomes = await sendEach(smtpTransport(relay.url), 5);
    expect(outcomes.map((o) => o.kind)).toEqual(Array(5).fill('accepted'));
    expect(relay.mails).toHaveLength(5);
    expect(relay.connectionsOpened).toBe(1);
  });

  it('opens at most maxConnections for concurrent sends, and queues the rest', async () => {
    const relay = await startSink();
    const smtp = smtpTransport(relay.url, { maxConnections: 2 });
    const outcomes = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => sendViaSmtp(smtp, message([`r${i}@x.test`]))));
    expect(outcomes.map((o) => o.kind)).toEqual(Array(6).fill('accepted'));
    expect(relay.connectionsOpened).toBe(2);
  });

  it('replaces a connection after maxMessages messages, without a failed send', async () => {
    const relay = await startSink();
    const outcomes = await sendEach(smtpTransport(relay.url, { maxMessages: 2 }), 5);
    expect(outcomes.map((o) => o.kind)).toEqual(Array(5).fill('accepted'));
    expect(relay.connectionsOpened).toBe(3);
  });

  it('opens one connection per message with ?pool=false', async () => {
    const relay = await startSink();
    await sendEach(smtpTransport(`${relay.url}?pool=false`), 3);
    expect(relay.connectionsOpened).toBe(3);
  });

  it('replaces a connection the relay closed between messages (421 idle timeout), without a failed send', async () => {
    const relay = await startSink();
    const smtp = smtpTransport(relay.url);
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
    // 'clear': the pool has let go of every connection it had.
    const cleared = once(smtp, 'clear');
    relay.hangUp();
    await cleared;
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
    expect(relay.mails).toHaveLength(2);
    expect(relay.connectionsOpened).toBe(2);
  });

  it('is unknown when the relay drops a reused connection after the data, and the next message gets a new connection', async () => {
    const relay = await startSink();
    const smtp = smtpTransport(relay.url);
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
    relay.dropAt('DATA', { times: 1 });
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'unknown', code: 'ECONNECTION' });
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
    // The dropped message is at the relay: the pool did not send it again on its own.
    expect(relay.mails).toHaveLength(3);
    expect(relay.connectionsOpened).toBe(2);
  });

  it('is transient when the relay drops a reused connection at MAIL FROM: nothing was sent, nothing is resent', async () => {
    const relay = await startSink();
    const smtp = smtpTransport(relay.url);
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
    relay.dropAt('MAIL', { times: 1 });
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'transient', code: 'ECONNECTION' });
    expect(relay.mails).toHaveLength(1);
    expect(await sendViaSmtp(smtp, message())).toMatchObject({ kind: 'accepted' });
  });

  it('is unavailable for every queued send when the relay refuses connections', async () => {
    const gone = await SmtpSink.start();
    await gone.close();
    const smtp = smtpTransport(gone.url, { maxConnections: 2 });
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => sendViaSmtp(smtp, message())));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });
  });

  it('gives a send up, unavailable and unsent, when no pooled connection frees up within timeoutMs', async () => {
    const relay = await startSink();
    // One connection, held by a message whose every reply is slow but within timeoutMs.
    for (const stage of ['MAIL', 'RCPT', 'DATA'] as const) relay.delayAt(stage, 600, { times: 1 });
    const smtp = smtpTransport(relay.url, { timeoutMs: 1_000, maxConnections: 1 });
    const [slow, queued] = await Promise.all([
      sendViaSmtp(smtp, message(['slow@x.test'])),
      sendViaSmtp(smtp, message(['queued@x.test'])),
    ]);
    expect(slow).toMatchObject({ kind: 'accepted' });
    expect(queued).toMatchObject({ kind: 'unavailable', code: 'ETIMEDOUT' });
    expect(queued.kind !== 'accepted' && queued.message).toMatch(/nothing was sent/);
    expect(relay.mails.map((m) => m.to)).toEqual([['slow@x.test']]);
  });
});
