// The one file both sides of Temporal import: workflow names, ids, inputs, queries, search attributes.
// Only `@temporalio/workflow` and types may be imported here (it is bundled into the workflow sandbox).
import { defineQuery } from '@temporalio/workflow';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes.js';

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
  /** SES attempts on transient errors before failing over to SMTP. */
  sesMaxAttempts: number;
  /** SMTP attempts before the send fails. */
  smtpMaxAttempts: number;
}

export interface SendEmailInput {
  messageId: string;
  attachments: AttachmentRef[];
  policy: DeliveryPolicy;
}

export type SendPhase = 'queued' | 'sending' | 'sent' | 'failed';

export interface SendEmailResult {
  messageId: string;
  status: 'sent' | 'failed';
  provider?: 'ses' | 'smtp';
  providerMessageId?: string;
  error?: string;
}

export const sendEmailWorkflowType = 'sendEmail';
export const emailWorkflowId = (messageId: string) => `email-${messageId}`;

/** Where the send is now: `queued`, `sending`, `sent` or `failed`, plus the provider that delivered. */
export const sendStatusQuery = defineQuery<{ phase: SendPhase; provider?: 'ses' | 'smtp' }>('sendStatus');

/** Error types thrown by delivery activities, matched by the workflow to choose the next step. */
export const DeliveryErrorType = {
  /** The provider refused this message or recipient for good: no retry, no failover. */
  Rejected: 'MessageRejected',
  /** The provider cannot send now (account paused, endpoint unreachable): fail over at once. */
  Unavailable: 'ProviderUnavailable',
  /** Throttling, 5xx, timeouts: retried with backoff, then failover. */
  Transient: 'ProviderTransient',
} as const;

// Search attributes make sends findable in the Web UI, e.g. `MailStatus = "failed"`.
// Registered by the dev launcher, the test setup and the compose stack (scripts/search-attributes).
export const mailKindKey: SearchAttributeKey<'KEYWORD'> = { name: 'MailKind', type: 'KEYWORD' };
export const mailStatusKey: SearchAttributeKey<'KEYWORD'> = { name: 'MailStatus', type: 'KEYWORD' };
export const mailRecipientsKey: SearchAttributeKey<'KEYWORD_LIST'> = {
  name: 'MailRecipients',
  type: 'KEYWORD_LIST',
};
export const bulkIdKey: SearchAttributeKey<'KEYWORD'> = { name: 'BulkId', type: 'KEYWORD' };
export const searchAttributeKeys = [mailKindKey, mailStatusKey, mailRecipientsKey, bulkIdKey];
