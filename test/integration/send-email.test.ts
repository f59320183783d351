import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { emailWorkflowId } from '../../workflows/contracts.js';
import { startHarness, validEmail, type Harness } from '../support/harness.js';
import { listObjectKeys } from '../support/s3-objects.js';

const run = promisify(execFile);
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SES_MAX_ATTEMPTS: '4', SMTP_MAX_ATTEMPTS: '2' } });
});
afterAll(() => h?.close());

const toOf = (body: { to: unknown }) => body.to as string;
const sesCopiesTo = (address: string) => h.ses.messages.filter((m) => m.destination.includes(address));
const smtpCopiesTo = (address: string) => h.smtp.mails.filter((m) => m.to.includes(address));

describe('single send', () => {
  it('delivers a message with an attachment whose bytes come back from S3 into the MIME', async () => {
    const bytes = randomBytes(64 * 1024);
    const body = validEmail({
      subject: 'Grüße — ünïcode subject',
      cc: 'Cc Person <cc@example.com>',
      bcc: ['hidden@example.com'],
      attachments: [
        { filename: 'report ü.bin', content: bytes.toString('base64'), content_type: 'application/octet-stream' },
      ],
    });
    const res = await h.send(body);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String), status: 'queued' });

    const result = await h.result(res.body.id);
    expect(result).toMatchObject({ status: 'sent', provider: 'ses' });

    const [copy] = sesCopiesTo(toOf(body));
    expect(copy?.destination.sort()).toEqual([toOf(body), 'cc@example.com', 'hidden@example.com'].sort());
    const parsed = await simpleParser(copy!.raw);
    expect(parsed.subject).toBe('Grüße — ünïcode subject');
    expect(parsed.text?.trim()).toBe('plain body');
    expect(parsed.html).toContain('<p>html body</p>');
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(copy!.raw.toString('latin1')).not.toContain('hidden@example.com');
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]!.filename).toBe('report ü.bin');
    expect(Buffer.compare(parsed.attachments[0]!.content, bytes)).toBe(0);

    // The object in S3 is the one the API stored, and the API reports its digest.
    const status = await h.status(res.body.id);
    expect(status).toMatchObject({ status: 'sent', provider: 'ses', provider_message_id: copy!.messageId });
    const [key, ...more] = await listObjectKeys(h.config, `messages/${res.body.id}/attachments/`);
    expect(more).toEqual([]);
    const stored = await h.objects.get(key!);
    expect(Buffer.compare(stored, bytes)).toBe(0);
    expect(status.attachments[0].size).toBe(bytes.length);

    // History carries keys, never the bytes.
    const history = JSON.stringify(await h.client.workflow.getHandle(emailWorkflowId(res.body.id)).fetchHistory());
    expect(history).not.toContain(bytes.toString('base64').slice(0, 64));
  });

  it('retries a throttled SES twice, then delivers exactly once and records the attempts', async () => {
    h.ses.failNext('throttle', 'throttle');
    const body = validEmail();
    const res = await h.send(body);
    const result = await h.result(res.body.id);
    expect(result).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(sesCopiesTo(toOf(body))).toHaveLength(1);
    expect(smtpCopiesTo(toOf(body))).toHaveLength(0);
    const status = await h.status(res.body.id);
    expect(status.attempts.map((a: any) => [a.provider, a.attempt, a.outcome, a.error_code])).toEqual([
      ['ses', 1, 'retryable_error', 'TooManyRequestsException'],
      ['ses', 2, 'retryable_error', 'TooManyRequestsException'],
      ['ses', 3, 'sent', null],
    ]);
  });

  it('fails over to SMTP when SES is down, with the same MIME, and records SMTP as the provider', async () => {
    await h.ses.down();
    try {
      const body = validEmail({ bcc: 'secret@example.com' });
      const res = await h.send(body);
      const result = await h.result(res.body.id);
      expect(result).toMatchObject({ status: 'sent', provider: 'smtp' });
      const [mail] = smtpCopiesTo(toOf(body));
      expect(mail?.to.sort()).toEqual([toOf(body), 'secret@example.com'].sort());
      expect(mail?.from).toBe('sender@example.com');
      const parsed = await simpleParser(mail!.raw);
      expect(parsed.messageId).toBe(`<${res.body.id}@example.com>`);
      expect(parsed.headers.has('bcc')).toBe(false);
      const status = await h.status(res.body.id);
      expect(status.provider).toBe('smtp');
      expect(status.attempts.map((a: any) => [a.provider, a.outcome])).toEqual([
        ['ses', 'unavailable'],
        ['smtp', 'sent'],
      ]);
    } finally {
      await h.ses.up();
    }
  });

  it('records the recipients an SMTP relay refused while it took the message for the others', async () => {
    await h.ses.down();
    h.smtp.reply('RCPT', 550, { to: 'gone@example.com', message: '5.1.1 no such user' });
    try {
      const body = validEmail({ cc: 'gone@example.com' });
      const res = await h.send(body);
      expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'smtp' });
      expect(smtpCopiesTo(toOf(body))[0]?.to).toEqual([toOf(body)]);
      const smtpAttempt = (await h.status(res.body.id)).attempts.find((a: any) => a.provider === 'smtp');
      expect(smtpAttempt).toMatchObject({ outcome: 'sent' });
      expect(smtpAttempt.rejected_recipients).toEqual([
        expect.objectContaining({ address: 'gone@example.com', code: '550' }),
      ]);
    } finally {
      h.smtp.reset();
      await h.ses.up();
    }
  });

  it('retries, rather than fails, a send whose SMTP relay refused our credentials (a relay misconfiguration)', async () => {
    await h.ses.down();
    h.smtp.reply('MAIL', 535, { message: '5.7.8 Authentication credentials invalid', times: 1 });
    try {
      const body = validEmail();
      const res = await h.send(body);
      expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'smtp' });
      const outcomes = (await h.status(res.body.id)).attempts.map((a: any) => `${a.provider}:${a.outcome}`);
      expect(outcomes).toEqual(['ses:unavailable', 'smtp:unavailable', 'smtp:sent']);
    } finally {
      h.smtp.reset();
      await h.ses.up();
    }
  });

  it('fails over to SMTP when SES keeps returning 500 past its retry budget', async () => {
    h.ses.failNext('error500', 'error500', 'error500', 'error500');
    const body = validEmail();
    const res = await h.send(body);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'smtp' });
    expect(sesCopiesTo(toOf(body))).toHaveLength(0);
    expect(smtpCopiesTo(toOf(body))).toHaveLength(1);
    const status = await h.status(res.body.id);
    expect(status.attempts.filter((a: any) => a.provider === 'ses')).toHaveLength(4);
  });

  it('fails over at once when the SES account is paused', async () => {
    h.ses.failNext('paused');
    const body = validEmail();
    const res = await h.send(body);
    expect(await h.result(res.body.id)).toMatchObject({ status: 'sent', provider: 'smtp' });
    const status = await h.status(res.body.id);
    expect(status.attempts.map((a: any) => [a.provider, a.outcome, a.error_code])).toEqual([
      ['ses', 'unavailable', 'SendingPausedException'],
      ['smtp', 'sent', null],
    ]);
  });

  it('marks a permanently rejected message failed, without retry or SMTP failover', async () => {
    h.ses.failNext('reject');
    const before = h.ses.requests;
    const body = validEmail();
    const res = await h.send(body);
    const result = await h.result(res.body.id);
    expect(result.status).toBe('failed');
    expect(result.error).toContain('MessageRejected');
    expect(h.ses.requests - before).toBe(1);
    expect(smtpCopiesTo(toOf(body))).toHaveLength(0);
    const status = await h.status(res.body.id);
    expect(status).toMatchObject({ status: 'failed', provider: null });
    expect(status.last_error).toContain('MessageRejected');
  });

  it('records failed when SES is down and SMTP refuses the message for good', async () => {
    await h.ses.down();
    h.smtp.failNext(550);
    try {
      const res = await h.send(validEmail());
      const result = await h.result(res.body.id);
      expect(result.status).toBe('failed');
      expect((await h.status(res.body.id)).attempts.map((a: any) => [a.provider, a.outcome])).toEqual([
        ['ses', 'unavailable'],
        ['smtp', 'rejected'],
      ]);
    } finally {
      await h.ses.up();
    }
  });

  it('sends once for a repeated Idempotency-Key and answers 409 when the body differs', async () => {
    const body = validEmail();
    const first = await h.send(body, { idempotencyKey: 'signup-42' });
    const second = await h.send(body, { idempotencyKey: 'signup-42' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    await h.result(first.body.id);
    const third = await h.send(body, { idempotencyKey: 'signup-42' });
    expect(third.body).toEqual({ id: first.body.id, status: 'sent' });
    expect(sesCopiesTo(toOf(body))).toHaveLength(1);

    const conflict = await h.send({ ...body, subject: 'something else' }, { idempotencyKey: 'signup-42' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'idempotency_conflict', field: 'Idempotency-Key' });
  });

  it("scopes idempotency keys and reads to the key's tenant", async () => {
    const other = (await h.newKey()).key;
    const body = validEmail();
    const mine = await h.send(body, { idempotencyKey: 'shared-key' });
    const theirs = await h.send(body, { idempotencyKey: 'shared-key', key: other });
    expect(theirs.body.id).not.toBe(mine.body.id);
    // Both settle here, so that neither takes a fault the next tests script for their own send.
    await Promise.all([h.result(mine.body.id), h.result(theirs.body.id)]);
    const res = await h.app.request(`/v1/emails/${mine.body.id}`, { headers: { authorization: `Bearer ${other}` } });
    expect(res.status).toBe(404);
  });

  it('makes sends findable in Temporal by status and recipient', async () => {
    const body = validEmail();
    const res = await h.send(body);
    await h.result(res.body.id);
    const handle = h.client.workflow.getHandle(emailWorkflowId(res.body.id));
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get({ name: 'MailStatus', type: 'KEYWORD' })).toBe('sent');
    expect(description.typedSearchAttributes.get({ name: 'MailRecipients', type: 'KEYWORD_LIST' })).toEqual([
      toOf(body),
    ]);
    expect(await description.staticSummary()).toContain('Hello from the tests');
  });
});

describe('operator retry', () => {
  it('delivers a failed send when an operator resets its workflow with the temporal CLI', async () => {
    h.ses.failNext('paused');
    h.smtp.failNext(550);
    const body = validEmail();
    const res = await h.send(body);
    await h.result(res.body.id);
    // The whole record, so that a failure shows which call went where.
    expect(await h.status(res.body.id)).toMatchObject({
      status: 'failed',
      attempts: [
        { provider: 'ses', outcome: 'unavailable' },
        { provider: 'smtp', outcome: 'rejected' },
      ],
    });

    await run(inject('temporalCliPath'), [
      ...['workflow', 'reset', '--address', inject('temporalAddress')],
      ...[
        '--workflow-id',
        emailWorkflowId(res.body.id),
        '--type',
        'FirstWorkflowTask',
        '--reason',
        'retry after outage',
      ],
    ]);
    const handle = h.client.workflow.getHandle(emailWorkflowId(res.body.id));
    await expect.poll(async () => (await handle.describe()).status.name, { timeout: 10_000 }).toBe('COMPLETED');
    expect(await handle.result()).toMatchObject({ status: 'sent', provider: 'ses' });
    expect(sesCopiesTo(toOf(body))).toHaveLength(1);
    const status = await h.status(res.body.id);
    expect(status).toMatchObject({ status: 'sent', provider: 'ses', last_error: null });
    // The failed run's attempts stay on record next to the retry's.
    expect(status.attempts.map((a: any) => [a.provider, a.outcome])).toEqual([
      ['ses', 'unavailable'],
      ['smtp', 'rejected'],
      ['ses', 'sent'],
    ]);
  });

  it('sends nothing again when a delivered send is reset', async () => {
    const body = validEmail();
    const res = await h.send(body);
    expect((await h.result(res.body.id)).status).toBe('sent');
    await run(inject('temporalCliPath'), [
      ...['workflow', 'reset', '--address', inject('temporalAddress')],
      ...['--workflow-id', emailWorkflowId(res.body.id), '--type', 'FirstWorkflowTask', '--reason', 'oops'],
    ]);
    const handle = h.client.workflow.getHandle(emailWorkflowId(res.body.id));
    await expect.poll(async () => (await handle.describe()).status.name, { timeout: 10_000 }).toBe('COMPLETED');
    expect(await handle.result()).toMatchObject({ status: 'sent' });
    expect(sesCopiesTo(toOf(body))).toHaveLength(1);
  });
});
