import { Context, log } from '@temporalio/activity';
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { Transporter } from 'nodemailer';
import type { Db } from '../db/create-db.js';
import type { Provider } from '../db/schema.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ComposedMime } from './compose-mime.js';
import { findDelivery, recordAttempt } from './ledger.js';
import {
  backoffWithJitter,
  classifySesError,
  classifySmtpError,
  toApplicationFailure,
  type ClassifiedError,
} from './provider-errors.js';

export interface RetryTiming {
  baseMs: number;
  maxMs: number;
}

export interface DeliveryDeps {
  db: Db;
  objects: ObjectStore;
  /** Must be built with `maxAttempts: 1`: the SDK's own retries would re-send mail unseen. */
  ses: SESv2Client;
  smtp: Transporter;
  sesRetry: RetryTiming;
  smtpRetry: RetryTiming;
  sesConfigurationSet?: string;
}

export interface Delivered {
  provider: Provider;
  providerMessageId: string;
}

export interface DeliverInput {
  messageId: string;
  mime: ComposedMime;
}

export function createDeliveryActivities(deps: DeliveryDeps) {
  const { db, objects } = deps;

  /** Ledger check, provider call, attempt row: the shape both providers share. */
  async function deliverOnce(
    provider: Provider,
    { messageId, mime }: DeliverInput,
    send: (raw: Buffer) => Promise<string>,
    classify: (err: unknown) => ClassifiedError,
    timing: RetryTiming,
  ): Promise<Delivered> {
    // A retry after a lost completion must not send again: the ledger remembers the accept.
    const already = await findDelivery(db, messageId);
    if (already) {
      log.info('already delivered; not sending again', { messageId, provider: already.provider });
      return already;
    }
    const { attempt, workflowExecution } = Context.current().info;
    const runId = workflowExecution?.runId ?? '';
    const raw = await objects.get(mime.key);
    let providerMessageId: string;
    try {
      providerMessageId = await send(raw);
    } catch (err) {
      const c = classify(err);
      await recordAttempt(db, {
        messageId,
        provider,
        runId,
        attempt,
        outcome: c.outcome,
        errorCode: c.code,
        errorMessage: c.message,
      });
      throw toApplicationFailure(c, backoffWithJitter(attempt, timing.baseMs, timing.maxMs));
    }
    await recordAttempt(db, { messageId, provider, runId, attempt, outcome: 'sent', providerMessageId });
    return { provider, providerMessageId };
  }

  return {
    /** Sends the stored MIME through SES v2 (Raw content; Destination is the envelope). */
    sendViaSes(input: DeliverInput): Promise<Delivered> {
      return deliverOnce(
        'ses',
        input,
        async (raw) => {
          const out = await deps.ses.send(
            new SendEmailCommand({
              FromEmailAddress: input.mime.envelope.from,
              Destination: { ToAddresses: input.mime.envelope.to },
              Content: { Raw: { Data: raw } },
              ConfigurationSetName: deps.sesConfigurationSet,
            }),
          );
          return out.MessageId ?? '';
        },
        classifySesError,
        deps.sesRetry,
      );
    },

    /** Sends the same MIME bytes over SMTP when SES could not deliver. */
    sendViaSmtp(input: DeliverInput): Promise<Delivered> {
      return deliverOnce(
        'smtp',
        input,
        async (raw) => {
          const info = await deps.smtp.sendMail({ envelope: input.mime.envelope, raw });
          return info.messageId ?? info.response ?? '';
        },
        classifySmtpError,
        deps.smtpRetry,
      );
    },
  };
}
