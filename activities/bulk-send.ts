import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { and, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Db } from '../db/create-db.js';
import { bulkRecipients, bulks, type Provider } from '../db/schema.js';
import { bareAddress, formatAddress } from '../mail/addresses.js';
import { compileTemplates, TemplateError } from '../mail/templates.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef, DeliveryPolicy } from '../workflows/contracts.js';
import type { RetryTiming } from './delivery.js';
import { backoffWithJitter, classifySesError, classifySmtpError } from './provider-errors.js';

export interface BulkSendDeps {
  db: Db;
  objects: ObjectStore;
  ses: SESv2Client;
  smtp: Transporter;
  sesRetry: RetryTiming;
  sesConfigurationSet?: string;
}

export interface BatchInput {
  bulkId: string;
  /** Recipient seq range [fromSeq, toSeq). */
  fromSeq: number;
  toSeq: number;
  ratePerSecond: number;
  /** The first send may not start before this (epoch ms). */
  startAt: number;
  attachments: AttachmentRef[];
  policy: DeliveryPolicy;
}

type Outcome = 'sent' | 'failed' | 'deferred';

// Sends in flight at once inside a batch: the pace decides when each starts, this bounds the
// overlap when the provider is slow.
const MAX_IN_FLIGHT = 32;

export function createBulkSendActivities(deps: BulkSendDeps) {
  const { db } = deps;

  return {
    /**
     * Sends one range of a bulk's recipients, each its own copy, paced at ratePerSecond. Recipients
     * already settled are skipped, so a retry or a restart resumes without duplicates.
     */
    async sendBulkBatch(input: BatchInput): Promise<{ nextSendAt: number }> {
      const ctx = Context.current();
      const [bulk] = await db.select().from(bulks).where(eq(bulks.id, input.bulkId));
      if (!bulk) throw ApplicationFailure.nonRetryable(`bulk ${input.bulkId} is not in the database`, 'BulkMissing');
      // Claim the whole range at once: the ledger says `sending` before any provider sees a
      // message. Rows a crash leaves `sending` are sent again by the retry (the documented window).
      const rows = (
        await db
          .update(bulkRecipients)
          .set({ status: 'sending', attempts: sql`${bulkRecipients.attempts} + 1`, updatedAt: new Date() })
          .where(
            and(
              eq(bulkRecipients.bulkId, input.bulkId),
              gte(bulkRecipients.seq, input.fromSeq),
              lt(bulkRecipients.seq, input.toSeq),
              inArray(bulkRecipients.status, ['pending', 'sending']),
            ),
          )
          .returning()
      ).sort((a, b) => a.seq - b.seq);

      const render = compileTemplates(bulk);
      const files = await Promise.all(
        input.attachments.map(async (a) => ({
          filename: a.filename,
          contentType: a.contentType,
          content: await deps.objects.get(a.key),
        })),
      );
      const fromAddress = bareAddress(bulk.from);
      const domain = fromAddress.split('@')[1] ?? 'mailroom.local';
      const attempt = ctx.info.attempt;
      // Past SES's retry budget, transient SES errors go to SMTP too (per-message failover).
      const smtpOnTransient = attempt >= input.policy.sesMaxAttempts;
      const maxRecipientAttempts = input.policy.sesMaxAttempts + input.policy.smtpMaxAttempts;

      const finish = async (
        seq: number,
        status: 'sent' | 'failed' | 'pending',
        extra: { provider?: Provider; providerMessageId?: string; error?: string },
      ) => {
        await db
          .update(bulkRecipients)
          .set({
            status,
            provider: extra.provider ?? null,
            providerMessageId: extra.providerMessageId ?? null,
            error: extra.error ?? null,
            updatedAt: new Date(),
          })
          .where(and(eq(bulkRecipients.bulkId, input.bulkId), eq(bulkRecipients.seq, seq)));
      };

      async function deliver(row: (typeof rows)[number]): Promise<[Outcome, string?]> {
        let raw: Buffer;
        const to = formatAddress({ address: row.email, ...(row.name ? { name: row.name } : {}) });
        try {
          const mail = render({ email: row.email, name: row.name, data: row.data });
          raw = await new MailComposer({
            from: bulk!.from,
            to, // this recipient alone
            replyTo: bulk!.replyTo.length > 0 ? bulk!.replyTo : undefined,
            subject: mail.subject,
            html: mail.html,
            text: mail.text,
            headers: bulk!.headers,
            attachments: files,
            messageId: `<${input.bulkId}.${row.seq}@${domain}>`,
          })
            .compile()
            .build();
        } catch (err) {
          const message = err instanceof TemplateError ? err.message : `could not compose: ${(err as Error).message}`;
          await finish(row.seq, 'failed', { error: message });
          return ['failed'];
        }
        const envelope = { from: fromAddress, to: [row.email] };
        const viaSmtp = async (reason: string): Promise<[Outcome, string?]> => {
          try {
            const info = await deps.smtp.sendMail({ envelope, raw });
            await finish(row.seq, 'sent', { provider: 'smtp', providerMessageId: info.messageId ?? info.response });
            return ['sent'];
          } catch (err) {
            const c = classifySmtpError(err);
            const error = `${reason}; SMTP ${c.code}: ${c.message}`;
            if (c.outcome === 'rejected') {
              await finish(row.seq, 'failed', { error });
              return ['failed'];
            }
            return giveUpOrDefer(error);
          }
        };
        const giveUpOrDefer = async (error: string): Promise<[Outcome, string?]> => {
          if (row.attempts >= maxRecipientAttempts) {
            await finish(row.seq, 'failed', { error: `gave up after ${row.attempts} attempts: ${error}` });
            return ['failed'];
          }
          await finish(row.seq, 'pending', { error });
          return ['deferred', error];
        };
        try {
          const out = await deps.ses.send(
            new SendEmailCommand({
              FromEmailAddress: fromAddress,
              Destination: { ToAddresses: [row.email] },
              Content: { Raw: { Data: raw } },
              ConfigurationSetName: deps.sesConfigurationSet,
            }),
          );
          await finish(row.seq, 'sent', { provider: 'ses', providerMessageId: out.MessageId ?? '' });
          return ['sent'];
        } catch (err) {
          const c = classifySesError(err);
          const error = `SES ${c.code}: ${c.message}`;
          if (c.outcome === 'rejected') {
            await finish(row.seq, 'failed', { error });
            return ['failed'];
          }
          if (c.outcome === 'unavailable' || smtpOnTransient) return viaSmtp(error);
          return giveUpOrDefer(error);
        }
      }

      const interval = 1000 / input.ratePerSecond;
      let slot = Math.max(Date.now(), input.startAt);
      const inFlight = new Set<Promise<void>>();
      let deferred = 0;
      let lastError: string | undefined;
      const signal = ctx.cancellationSignal;
      let dispatched = 0;
      for (const row of rows) {
        const wait = slot - Date.now();
        if (wait > 0) await abortableDelay(wait, signal);
        if (signal.aborted) break;
        dispatched++;
        while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        const p: Promise<void> = deliver(row).then(([outcome, error]) => {
          if (outcome === 'deferred') {
            deferred++;
            lastError = error;
          }
        });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        slot += interval;
        ctx.heartbeat();
      }
      // Sends already handed to a provider finish and are recorded, even when cancelled.
      await Promise.all(inFlight);
      if (signal.aborted) {
        // Rows claimed but never reached go back as they were: nothing was attempted for them.
        const unreached = rows.slice(dispatched).map((r) => r.seq);
        if (unreached.length > 0) {
          await db
            .update(bulkRecipients)
            .set({ status: 'pending', attempts: sql`${bulkRecipients.attempts} - 1` })
            .where(
              and(
                eq(bulkRecipients.bulkId, input.bulkId),
                inArray(bulkRecipients.seq, unreached),
                eq(bulkRecipients.status, 'sending'),
              ),
            );
        }
        throw new CancelledFailure('batch interrupted by pause or cancel');
      }

      await db
        .update(bulks)
        .set({
          statusReason: deferred > 0 ? `waiting to retry ${deferred} recipient(s): ${lastError}` : null,
          updatedAt: new Date(),
        })
        .where(eq(bulks.id, input.bulkId));
      if (deferred > 0) {
        log.warn('batch deferred recipients', { bulkId: input.bulkId, deferred, attempt });
        throw ApplicationFailure.create({
          type: 'BatchDeferred',
          message: `${deferred} recipient(s) deferred: ${lastError}`,
          nextRetryDelay: backoffWithJitter(attempt, deps.sesRetry.baseMs, deps.sesRetry.maxMs),
        });
      }
      return { nextSendAt: slot };
    },
  };
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
