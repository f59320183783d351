// The one file both sides of Temporal import: workflow names, ids, inputs, queries, search attributes.
// Only `@temporalio/workflow` and types may be imported here (it is bundled into the workflow sandbox).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes.js';
import type { RecipientRejection } from '../delivery/outcome.js';

export interface AttachmentRef {
  /** S3 object key; the bytes never enter workflow history. */
  key: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** Retry budgets, decided by config at request time (workflows cannot read config). */
export interface DeliveryPolicy {
  /** The provider tried first; the other is the fallback. Unset (sends started before it existed): SES. */
  primary?: 'ses' | 'smtp';
  /** SES attempts on transient errors (before failing over to SMTP when SES is the primary). */
  sesMaxAttempts: number;
  /** SMTP attempts on transient errors (before failing over to SES when SMTP is the primary). */
  smtpMaxAttempts: number;
  /** The longest one provider call may take (SES and SMTP timeouts): activity timeouts sit above it. */
  providerTimeoutMs?: number;
}

/** When a send may go out (epoch ms): not before `scheduledAt`, and not at all after `notAfter`. */
export interface SendWindow {
  scheduledAt?: number;
  notAfter?: number;
}

export interface SendEmailInput extends SendWindow {
  messageId: string;
  attachments: AttachmentRef[];
  policy: DeliveryPolicy;
}

export type SendPhase =
  'queued' | 'scheduled' | 'sending' | 'sent' | 'failed' | 'unknown' | 'cancelled' | 'expired' | 'suppressed';

export interface SendEmailResult {
  messageId: string;
  /**
   * `unknown`: a provider may have the message but never answered; held for an operator, not resent.
   * `cancelled` / `expired`: a scheduled send stopped before it started; no provider was called.
   * `suppressed`: every recipient was on the suppression list; no provider was called.
   */
  status: 'sent' | 'failed' | 'unknown' | 'cancelled' | 'expired' | 'suppressed';
  provider?: 'ses' | 'smtp';
  providerMessageId?: string;
  /** Recipients the provider refused while accepting the message for the others. */
  rejectedRecipients?: RecipientRejection[];
  error?: string;
}

export const sendEmailWorkflowType = 'sendEmail';
export const emailWorkflowId = (messageId: string) => `email-${messageId}`;

/** Where the send is now: `queued`, `sending`, `sent` or `failed`, plus the provider that delivered. */
export const sendStatusQuery = defineQuery<{ phase: SendPhase; provider?: 'ses' | 'smtp' }>('sendStatus');

/** Moves a scheduled send's time (ISO 8601); refused once it has started. Answers the new time. */
export const rescheduleUpdate = defineUpdate<{ scheduledAt: string }, [string]>('reschedule');
/** Cancels a scheduled send; refused once it has started. Answers when the send is recorded `cancelled`. */
export const cancelSendUpdate = defineUpdate<{ status: 'cancelled' }>('cancelSend');

/** Error types thrown by delivery activities, matched by the workflow to choose the next step. */
export const DeliveryErrorType = {
  /** The provider refused this message or recipient for good: no retry, no failover. */
  Rejected: 'MessageRejected',
  /** The provider cannot send now (account paused, endpoint unreachable): fail over at once. */
  Unavailable: 'ProviderUnavailable',
  /** Throttling, 5xx, timeouts: retried with backoff, then failover. */
  Transient: 'ProviderTransient',
} as const;

/** Our own fault that retrying cannot fix (missing attachment object, uncomposable message). */
export const PermanentInfrastructureErrorType = 'PermanentInfrastructureError';

// Search attributes make sends findable in the Web UI, e.g. `MailStatus = "failed"`.
// Registered by the dev launcher, the test setup and the compose stack (scripts/search-attributes).
export const mailKindKey: SearchAttributeKey<'KEYWORD'> = { name: 'MailKind', type: 'KEYWORD' };
export const mailStatusKey: SearchAttributeKey<'KEYWORD'> = { name: 'MailStatus', type: 'KEYWORD' };
/** A send's To and Cc addresses (the first 50), never its Bcc: search attributes are stored in plaintext. */
export const mailRecipientsKey: SearchAttributeKey<'KEYWORD_LIST'> = {
  name: 'MailRecipients',
  type: 'KEYWORD_LIST',
};
export const bulkIdKey: SearchAttributeKey<'KEYWORD'> = { name: 'BulkId', type: 'KEYWORD' };

// ---- Bulk sends ----

export const bulkSendWorkflowType = 'bulkSend';
export const bulkWorkflowId = (bulkId: string) => `bulk-${bulkId}`;

/** What one run hands the next across continue-as-new. */
export interface BulkCarry {
  /** First recipient seq not yet dispatched in a completed batch. */
  cursor: number;
  paused: boolean;
  cancelled: boolean;
  /** Effective messages per second, resolved once against the SES quota. */
  ratePerSecond: number;
  /** When the next send may start (epoch ms): keeps the pace exact across batches. */
  nextSendAt: number;
  run: number;
}

export interface BulkSendInput extends SendWindow {
  bulkId: string;
  total: number;
  attachments: AttachmentRef[];
  /** Requested pace; undefined means the SES quota. */
  ratePerSecond?: number;
  batchSize: number;
  /** Batches per run before continue-as-new. */
  batchesPerRun: number;
  /** The rate-limited task queue the batch activities run on. */
  sendQueue: string;
  policy: DeliveryPolicy;
  carry?: BulkCarry;
}

export interface BulkCounts {
  total: number;
  sent: number;
  failed: number;
  cancelled: number;
  pending: number;
  /** Held: two provider calls went unanswered; none is resent a third time. */
  unknown?: number;
  /** Sent recipients one of whose provider calls never answered: each may hold two copies. */
  possible_duplicates?: number;
  /** Sent, then reported by the provider as a hard bounce / a complaint. */
  bounced?: number;
  complained?: number;
  /** On the suppression list when their turn came: never handed to a provider. */
  suppressed?: number;
}

export type BulkPhase = 'running' | 'paused' | 'cancelling' | 'cancelled' | 'completed';

export interface BulkProgress {
  phase: BulkPhase;
  cursor: number;
  total: number;
  ratePerSecond: number;
  run: number;
}

export interface BulkResult extends BulkCounts {
  bulkId: string;
  /** `expired`: it could not start by its `notAfter`; none of it was sent. */
  status: 'completed' | 'cancelled' | 'expired';
}

/** Stop dispatching; the in-flight batch is interrupted and its unsent recipients stay pending. */
export const pauseSignal = defineSignal('pause');
/** Continue from the cursor where the bulk was paused. */
export const resumeSignal = defineSignal('resume');
/** Stop for good: in-flight sends settle, every unsent recipient is marked `cancelled`. */
export const cancelSignal = defineSignal('cancel');
/** Where the bulk is: phase, cursor, pace, run number. */
export const progressQuery = defineQuery<BulkProgress>('progress');
/** The API's pause: as the signal, answering with the new progress. */
export const pauseUpdate = defineUpdate<BulkProgress>('pauseBulk');
/** The API's resume: as the signal, answering with the new progress. */
export const resumeUpdate = defineUpdate<BulkProgress>('resumeBulk');
/** The API's cancel: as the signal, answering with the new progress. */
export const cancelUpdate = defineUpdate<BulkProgress>('cancelBulk');

export const bulkTotalKey: SearchAttributeKey<'INT'> = { name: 'BulkTotal', type: 'INT' };
export const searchAttributeKeys = [mailKindKey, mailStatusKey, mailRecipientsKey, bulkIdKey, bulkTotalKey];
