import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * `unknown`: a provider may have accepted the message but never answered; it is held, not resent.
 * `scheduled`: waiting for its `scheduled_at`; `cancelled` before it; `expired`: it could not start
 * by its `not_after`. None of those three reached a provider. After `sent`, provider events move it
 * on (see db/provider-events.ts); `suppressed`: every recipient was on the suppression list, no
 * provider was called.
 */
export const messageStatuses = [
  'queued',
  'scheduled',
  'sending',
  'sent',
  'failed',
  'unknown',
  'cancelled',
  'expired',
  'delivered',
  'bounced',
  'soft_bounced',
  'complained',
  'delayed',
  'rejected',
  'suppressed',
] as const;
export type MessageStatus = (typeof messageStatuses)[number];
export const providers = ['ses', 'smtp'] as const;
export type Provider = (typeof providers)[number];

const addressList = (name: string) =>
  jsonb(name)
    .$type<string[]>()
    .notNull()
    .default(sql`'[]'::jsonb`);
const stringMap = (name: string) =>
  jsonb(name)
    .$type<Record<string, string>>()
    .notNull()
    .default(sql`'{}'::jsonb`);

/**
 * The tenant a record belongs to. The column keeps its first name, `api_key_id`, from when each
 * API key was its own tenant; it holds the tenant id (`default` for the keys in API_KEYS), so a
 * key can be rotated without orphaning what it sent (migration 0011 moved the old key ids).
 */
const tenantColumn = () => text('api_key_id').notNull();

/** Who asked, with which idempotency key, and the workflow that carries it out. */
const acceptedRequestColumns = () => ({
  tenantId: tenantColumn(),
  idempotencyKey: text('idempotency_key'),
  requestHash: text('request_hash').notNull(),
  workflowId: text('workflow_id').notNull(),
  from: text('from_address').notNull(),
});

/** The message content both send kinds store (for bulks, subject/html/text are templates). */
const contentColumns = () => ({
  replyTo: addressList('reply_to'),
  subject: text('subject').notNull(),
  html: text('html'),
  text: text('text'),
  headers: stringMap('headers'),
});

/** When a send may go out: not before `scheduledAt`, and not at all after `notAfter`. */
const scheduleColumns = () => ({
  scheduledAt: timestamp('scheduled_at', { withTimezone: true }),
  notAfter: timestamp('not_after', { withTimezone: true }),
});

/** Columns every attachments table has: the S3 key and what the API measured on upload. */
const attachmentColumns = () => ({
  position: integer('position').notNull(),
  objectKey: text('object_key').notNull(),
  filename: text('filename').notNull(),
  contentType: text('content_type').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  sha256: text('sha256').notNull(),
});

/** One row per accepted send request: the read model the API serves and operators query. */
export const messages = pgTable(
  'messages',
  {
    id: text('id').primaryKey(),
    ...acceptedRequestColumns(),
    to: jsonb('to_addresses').$type<string[]>().notNull(),
    cc: addressList('cc_addresses'),
    bcc: addressList('bcc_addresses'),
    ...contentColumns(),
    tags: stringMap('tags'),
    status: text('status').$type<MessageStatus>().notNull().default('queued'),
    provider: text('provider').$type<Provider>(),
    providerMessageId: text('provider_message_id'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    ...scheduleColumns(),
    /** Recipients left out of the envelope because they were on the suppression list at send time. */
    suppressedRecipients: addressList('suppressed_recipients'),
    /**
     * Set for a message submitted as MIME (SES Content.Raw, SMTP submission): the S3 key of the
     * bytes that are sent as they are, instead of composing from the fields.
     */
    rawMimeKey: text('raw_mime_key'),
  },
  (t) => [
    // The idempotency key is scoped per tenant; NULL keys never collide.
    uniqueIndex('messages_api_key_idempotency_key').on(t.tenantId, t.idempotencyKey),
    index('messages_status_created_at').on(t.status, t.createdAt),
    // Listing: a tenant's sends, newest first.
    index('messages_api_key_created_at').on(t.tenantId, t.createdAt, t.id),
    // Provider events find their message by the id the provider gave it.
    index('messages_provider_message_id').on(t.providerMessageId),
  ],
);

/** Attachment metadata; the bytes live in S3 under objectKey. */
export const attachments = pgTable(
  'attachments',
  {
    messageId: text('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    ...attachmentColumns(),
  },
  (t) => [uniqueIndex('attachments_message_position').on(t.messageId, t.position)],
);

/**
 * `pending` is written before the provider call and replaced by its outcome after it: a `pending`
 * row left behind by a crash means the call may have reached the provider (`unknown`).
 */
export const attemptOutcomes = [
  'pending',
  'sent',
  'retryable_error',
  'unavailable',
  'rejected',
  'unknown',
  'error',
] as const;
export type AttemptOutcome = (typeof attemptOutcomes)[number];

/**
 * Every provider call, one row each. A `sent` row is also the ledger a retried activity checks
 * before calling a provider again, so a lost activity completion does not send twice.
 */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    messageId: text('message_id')
      .notNull()
      .references(() => messages.id, { onDelete: 'cascade' }),
    provider: text('provider').$type<Provider>().notNull(),
    /** The workflow run: an operator's reset starts a new run, whose attempts are new rows. */
    runId: text('run_id').notNull().default(''),
    /** Temporal's activity attempt number, which (with the run) makes the row's insert idempotent. */
    attempt: integer('attempt').notNull(),
    outcome: text('outcome').$type<AttemptOutcome>().notNull(),
    providerMessageId: text('provider_message_id'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** Recipients the provider refused while accepting the message for the others (SMTP RCPT 5xx). */
    rejectedRecipients: jsonb('rejected_recipients').$type<{ address: string; code: string; message: string }[]>(),
    /** Why this call went to this provider when the ladder's first choice was another (an open circuit). */
    routedBy: text('routed_by'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('delivery_attempts_message_run_provider_attempt').on(t.messageId, t.runId, t.provider, t.attempt),
  ],
);

export const bulkStatuses = [
  'queued',
  'scheduled',
  'running',
  'paused',
  'cancelled',
  'completed',
  'failed',
  'expired',
] as const;
export type BulkStatus = (typeof bulkStatuses)[number];
/**
 * `claimed`: leased to a batch attempt, no provider called yet; `sending`: handed to a provider;
 * `unknown`: a second provider call went unanswered too: held, not sent a third time.
 * `bounced`/`complained` come after `sent` from provider events; `suppressed`: on the suppression
 * list when its turn came, never handed to a provider.
 */
export const recipientStatuses = [
  'pending',
  'claimed',
  'sending',
  'sent',
  'failed',
  'cancelled',
  'unknown',
  'bounced',
  'complained',
  'suppressed',
] as const;
export type RecipientStatus = (typeof recipientStatuses)[number];

/** One row per bulk send: the templates, the pace and the lifecycle. Counts come from its recipients. */
export const bulks = pgTable(
  'bulks',
  {
    id: text('id').primaryKey(),
    ...acceptedRequestColumns(),
    ...contentColumns(),
    total: integer('total').notNull(),
    /** Requested pace; null means the SES quota. */
    ratePerSecond: integer('rate_per_second'),
    status: text('status').$type<BulkStatus>().notNull().default('queued'),
    /** Why a running bulk is not progressing (e.g. both providers failing), for operators. */
    statusReason: text('status_reason'),
    /**
     * The reputation breaker's last trip: the highest recipient seq of the window that tripped it.
     * The next window only counts recipients after it, so a resumed bulk is judged afresh.
     */
    breakerSeq: integer('breaker_seq'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    ...scheduleColumns(),
  },
  (t) => [
    uniqueIndex('bulks_api_key_idempotency_key').on(t.tenantId, t.idempotencyKey),
    index('bulks_status_created_at').on(t.status, t.createdAt),
    index('bulks_api_key_created_at').on(t.tenantId, t.createdAt, t.id),
  ],
);

export const bulkAttachments = pgTable(
  'bulk_attachments',
  {
    bulkId: text('bulk_id')
      .notNull()
      .references(() => bulks.id, { onDelete: 'cascade' }),
    ...attachmentColumns(),
  },
  (t) => [uniqueIndex('bulk_attachments_bulk_position').on(t.bulkId, t.position)],
);

/**
 * The per-recipient ledger: claimed by a batch attempt, `sending` before the provider call, marked after. A retried
 * or restarted batch skips rows that are `sent`, `failed` or `cancelled`.
 */
export const bulkRecipients = pgTable(
  'bulk_recipients',
  {
    bulkId: text('bulk_id')
      .notNull()
      .references(() => bulks.id, { onDelete: 'cascade' }),
    /** Position in the request (0-based); batches are ranges of it. */
    seq: integer('seq').notNull(),
    email: text('email').notNull(),
    name: text('name'),
    data: jsonb('data')
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    status: text('status').$type<RecipientStatus>().notNull().default('pending'),
    /** Provider calls made for this recipient (SES and SMTP); smtpAttempts of them via SMTP. */
    attempts: integer('attempts').notNull().default(0),
    smtpAttempts: integer('smtp_attempts').notNull().default(0),
    /** The batch attempt that owns the claim: marks of any other attempt do not apply. */
    lease: text('lease'),
    /**
     * Calls whose outcome never came back (timeout, reset, or a worker that died mid-call). The
     * recipient is sent again once; when it ends `sent` with this above 0 it may hold two copies.
     */
    unknownOutcomes: integer('unknown_outcomes').notNull().default(0),
    provider: text('provider').$type<Provider>(),
    providerMessageId: text('provider_message_id'),
    error: text('error'),
    updatedAt: timestamp('updated_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.bulkId, t.seq] }),
    uniqueIndex('bulk_recipients_bulk_email').on(t.bulkId, t.email),
    index('bulk_recipients_bulk_status_seq').on(t.bulkId, t.status, t.seq),
    index('bulk_recipients_provider_message_id').on(t.providerMessageId),
  ],
);

/**
 * One SES account's send pace, shared by every worker: when its next send slot is free (epoch ms,
 * by the database's clock, so workers on different hosts agree). See activities/send-quota.ts.
 */
export const sendPace = pgTable('send_pace', {
  /** The SES account: region and endpoint. */
  account: text('account').primaryKey(),
  nextAt: doublePrecision('next_at').notNull(),
  /** The share of the quota in use (1: all of it); SES throttling halves it, time restores it. */
  factor: doublePrecision('factor').notNull().default(1),
  /** When throttling last lowered the factor (epoch ms, database clock). */
  slowedAt: doublePrecision('slowed_at').notNull().default(0),
});

export const circuitStates = ['closed', 'open'] as const;
export type CircuitState = (typeof circuitStates)[number];

/**
 * One provider endpoint's circuit breaker, shared by every worker (see activities/provider-health.ts).
 * Open: sends go to the other provider and this one gets one probe per interval. Times are the
 * database's clock.
 */
export const providerHealth = pgTable(
  'provider_health',
  {
    provider: text('provider').$type<Provider>().notNull(),
    /** The endpoint: SES region and endpoint, or the SMTP relay's host and port (never credentials). */
    account: text('account').notNull(),
    state: text('state').$type<CircuitState>().notNull().default('closed'),
    /** Provider failures since `windowStartedAt` with no success between them. */
    failures: integer('failures').notNull().default(0),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull().defaultNow(),
    /** While open: when the next probe may go to this provider. */
    probeAt: timestamp('probe_at', { withTimezone: true }),
    /** The failure that opened the circuit (or the last one while open), or what closed it. */
    reason: text('reason'),
    /** The last transition (opened or closed). */
    changedAt: timestamp('changed_at', { withTimezone: true }),
    /** How many times the circuit has opened. */
    opens: integer('opens').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.provider, t.account] })],
);

/**
 * A customer's HTTPS receiver of events (issue 9). The signing secret (`whsec_…`, Standard
 * Webhooks) is shown once, at creation, and kept to sign every delivery. Failure counters decide
 * when an endpoint that keeps failing is disabled (activities/webhook-delivery.ts).
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    tenantId: tenantColumn(),
    url: text('url').notNull(),
    eventTypes: jsonb('event_types').$type<string[]>().notNull(),
    secret: text('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /** Failed delivery attempts since the last successful one, and when the first of them was. */
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    failingSince: timestamp('failing_since', { withTimezone: true }),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    lastFailureAt: timestamp('last_failure_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_api_key_created_at').on(t.tenantId, t.createdAt)],
);

/** One event, once, whatever the number of endpoints: the exact bytes every delivery signs. */
export const webhookEvents = pgTable('webhook_events', {
  /** Derived from (tenant, type, key): a repeated emit finds the same row. */
  id: text('id').primaryKey(),
  tenantId: tenantColumn(),
  type: text('type').notNull(),
  /** The serialized `{type, timestamp, data}` body, as signed and sent. */
  payload: text('payload').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const webhookDeliveryStatuses = ['pending', 'delivered', 'failed', 'skipped'] as const;
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number];

/**
 * One event to one endpoint, carried by the workflow `webhook-<event>-<endpoint>`. `skipped`: the
 * endpoint was disabled before the event reached it. Deleted with its endpoint.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    status: text('status').$type<WebhookDeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.endpointId] }),
    index('webhook_deliveries_endpoint_created_at').on(t.endpointId, t.createdAt),
  ],
);

export const providerEventTypes = ['send', 'delivery', 'bounce', 'complaint', 'delivery_delay', 'reject'] as const;
export type ProviderEventType = (typeof providerEventTypes)[number];

/**
 * Every SES event received through SNS, kept as it came (out of order and after a final status
 * alike). `message_id` or `bulk_id`/`seq` is what it was mapped to through `provider_message_id`;
 * both are null while no send is known under that id yet (its outcome not written yet), and the
 * outcome write maps it then.
 */
export const providerEvents = pgTable(
  'provider_events',
  {
    /** SNS MessageId: a redelivered notification is stored once. */
    snsMessageId: text('sns_message_id').primaryKey(),
    providerMessageId: text('provider_message_id').notNull(),
    messageId: text('message_id').references(() => messages.id, { onDelete: 'cascade' }),
    bulkId: text('bulk_id').references(() => bulks.id, { onDelete: 'cascade' }),
    seq: integer('seq'),
    type: text('type').$type<ProviderEventType>().notNull(),
    /** Bounce type and subtype (`Permanent/General`), complaint feedback type, delay type, reject reason. */
    subtype: text('subtype'),
    /** When the provider says it happened. */
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    /** Recipients and diagnostics, bounded (db/provider-events.ts); never headers or bodies. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index('provider_events_provider_message_id').on(t.providerMessageId),
    index('provider_events_message_id').on(t.messageId, t.occurredAt),
    index('provider_events_bulk_seq').on(t.bulkId, t.seq),
  ],
);

export const suppressionReasons = ['bounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof suppressionReasons)[number];

/** Addresses a tenant never mails again: checked immediately before every provider call. */
export const suppressions = pgTable(
  'suppressions',
  {
    tenantId: tenantColumn(),
    /** Lowercased bare address. */
    email: text('email').notNull(),
    reason: text('reason').$type<SuppressionReason>().notNull(),
    /** What added it: `api`, or the provider event (`ses:<sns message id>`). */
    source: text('source').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.email] }),
    index('suppressions_api_key_created_at').on(t.tenantId, t.createdAt, t.email),
  ],
);

export const apiKeyScopes = ['send', 'read', 'manage', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/**
 * Keys made through `POST /v1/api-keys` (those of API_KEYS are configuration, not rows). The key
 * is `mr_<id>_<secret>`; only the SHA-256 of its 256-bit random secret is kept, so this table
 * cannot be used to sign in. Revoked keys stay, for the record of who sent what.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    /** 8 characters of [a-z0-9], also the key's visible prefix `mr_<id>`. */
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    name: text('name').notNull(),
    /** Hex SHA-256 of the secret part. */
    secretHash: text('secret_hash').notNull(),
    scopes: jsonb('scopes').$type<ApiKeyScope[]>().notNull(),
    /** The From domains the key may send as; empty: any. */
    fromDomains: jsonb('from_domains').$type<string[]>().notNull(),
    /** Requests a minute; null: unlimited. */
    rateLimitPerMinute: integer('rate_limit_per_minute'),
    /** The key that made this one (an API_KEYS key id or another managed key's id). */
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_keys_tenant_created_at').on(t.tenantId, t.createdAt)],
);

/**
 * Per-key request counts in fixed one-minute windows, one row per key, shared by every API
 * replica: a request is one atomic upsert (api/rate-limit.ts).
 */
export const rateLimitWindows = pgTable('rate_limit_windows', {
  keyId: text('key_id').primaryKey(),
  windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
  count: integer('count').notNull(),
});
