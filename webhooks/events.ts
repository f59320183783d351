// What Mailroom tells a customer's webhook endpoint, and how an event is named: shared by the API
// (which types may be subscribed), the emitter and the tests.
import { createHash, randomBytes } from 'node:crypto';

export const webhookEventTypes = [
  'email.sent',
  'email.delivered',
  'email.bounced',
  'email.complained',
  'email.failed',
  'email.suppressed',
  'email.cancelled',
  'email.expired',
  'bulk.completed',
  'bulk.paused',
  'bulk.cancelled',
  'bulk.expired',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** Ids, statuses, addresses and counts: never a body, a header value or an attachment. */
export type EmailEventData = {
  email_id: string;
  status: string;
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  tags?: Record<string, string>;
  provider?: string | null;
  provider_message_id?: string | null;
  error?: string | null;
  /** The recipient a per-recipient event (bounce, complaint, suppression) is about. */
  recipient?: string;
  [detail: string]: unknown;
};

export type BulkEventData = {
  bulk_id: string;
  status: string;
  total?: number;
  sent?: number;
  failed?: number;
  cancelled?: number;
  pending?: number;
  unknown?: number;
  [detail: string]: unknown;
};

export type WebhookEventData<T extends WebhookEventType = WebhookEventType> = T extends `email.${string}`
  ? EmailEventData
  : BulkEventData;

/** The subject an event is about: what tells two events of one type apart unless a key says more. */
export const subjectOf = (data: EmailEventData | BulkEventData): string =>
  String('email_id' in data ? data.email_id : data.bulk_id);

/**
 * The event's id, the `webhook-id` every delivery of it carries: derived, so an emit repeated by a
 * retried activity names the same event and is delivered once.
 */
export function webhookEventId(tenant: string, type: WebhookEventType, key: string): string {
  return `evt_${createHash('sha256').update(`${tenant}\n${type}\n${key}`).digest('hex').slice(0, 32)}`;
}

/** The Standard Webhooks body: `{type, timestamp, data}`, serialized once and signed as is. */
export function webhookPayload(type: WebhookEventType, data: object, at: Date): string {
  return JSON.stringify({ type, timestamp: at.toISOString(), data });
}

/** A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export const newSigningSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
