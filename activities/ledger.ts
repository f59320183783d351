import { sendOutcomes } from '../metrics/metrics.js';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { mapUnmappedEvents } from '../db/provider-events.js';
import { deliveryAttempts, messages, type AttemptOutcome, type MessageStatus, type Provider } from '../db/schema.js';
import type { RecipientRejection } from '../delivery/outcome.js';

/** One provider call of a single send: the row's key is (message, run, provider, attempt). */
export interface AttemptKey {
  messageId: string;
  provider: Provider;
  runId: string;
  attempt: number;
  /** Why the call went to this provider when the failover rule's first choice was another. */
  routedBy?: string;
}

export interface AttemptRecord extends AttemptKey {
  outcome: AttemptOutcome;
  providerMessageId?: string;
  errorCode?: string;
  errorMessage?: string;
  rejectedRecipients?: RecipientRejection[];
}

/** Upsert keyed by (message, run, provider, attempt): a retried write leaves one row. */
export async function recordAttempt(db: Db, a: AttemptRecord): Promise<void> {
  const values = {
    outcome: a.outcome,
    providerMessageId: a.providerMessageId ?? null,
    errorCode: a.errorCode ?? null,
    errorMessage: a.errorMessage ?? null,
    rejectedRecipients: a.rejectedRecipients && a.rejectedRecipients.length > 0 ? a.rejectedRecipients : null,
    routedBy: a.routedBy ?? null,
  };
  await db
    .insert(deliveryAttempts)
    .values({ messageId: a.messageId, runId: a.runId, provider: a.provider, attempt: a.attempt, ...values })
    .onConflictDoUpdate({
      target: [deliveryAttempts.messageId, deliveryAttempts.runId, deliveryAttempts.provider, deliveryAttempts.attempt],
      set: { ...values, at: new Date() },
    });
}

/** What a single send ended in: written to its row (and its deciding call to the ledger). */
export interface OutcomeInput {
  messageId: string;
  status: 'sent' | 'failed' | 'unknown' | 'cancelled' | 'expired' | 'suppressed';
  provider?: Provider;
  providerMessageId?: string;
  error?: string;
  /** The provider call that decided it, when the delivery step could not write it itself. */
  attempt?: AttemptRecord;
}

// Statuses provider events moved a sent message to: a repeated `sent` write leaves them.
const afterSent: MessageStatus[] = ['delivered', 'bounced', 'soft_bounced', 'complained', 'delayed', 'rejected'];

/** Writes a single send's final outcome: plain writes, safe to repeat until one lands. Returns the row. */
export async function writeOutcome(db: Db, o: OutcomeInput) {
  if (o.attempt) await recordAttempt(db, o.attempt);
  const now = new Date();
  const status =
    o.status === 'sent'
      ? sql<MessageStatus>`case when ${messages.status} in (${sql.join(
          afterSent.map((s) => sql`${s}`),
          sql`, `,
        )}) then ${messages.status} else 'sent' end`
      : o.status;
  const [row] = await db
    .update(messages)
    .set({
      status,
      provider: o.provider ?? null,
      providerMessageId: o.providerMessageId ?? null,
      lastError: o.error ?? null,
      sentAt: o.status === 'sent' ? now : null,
      updatedAt: now,
    })
    .where(eq(messages.id, o.messageId))
    .returning(outcomeColumns);
  // Events that beat this write (SES can report within milliseconds) are applied now.
  const lateEvents =
    o.status === 'sent' && o.provider === 'ses' && o.providerMessageId
      ? await mapUnmappedEvents(db, [o.providerMessageId])
      : 0;
  sendOutcomes.inc({ kind: 'single', status: o.status, provider: o.provider ?? 'none' });
  return row && { ...row, lateEvents };
}

// What an outcome's event says about the message: never its body.
const outcomeColumns = {
  id: messages.id,
  tenantId: messages.tenantId,
  status: messages.status,
  from: messages.from,
  to: messages.to,
  cc: messages.cc,
  bcc: messages.bcc,
  subject: messages.subject,
  tags: messages.tags,
  provider: messages.provider,
  providerMessageId: messages.providerMessageId,
  lastError: messages.lastError,
};

export type OutcomeRow = NonNullable<Awaited<ReturnType<typeof writeOutcome>>>;

/** The ledger check made before any provider call: was this message already accepted by one? */
export async function findDelivery(db: Db, messageId: string) {
  const [row] = await db
    .select({ provider: deliveryAttempts.provider, providerMessageId: deliveryAttempts.providerMessageId })
    .from(deliveryAttempts)
    .where(and(eq(deliveryAttempts.messageId, messageId), eq(deliveryAttempts.outcome, 'sent')))
    .limit(1);
  return row ? { provider: row.provider, providerMessageId: row.providerMessageId ?? '' } : undefined;
}

/** Every provider call of a message, every run, oldest first: the ledger a delivery reads once. */
export function attemptsOf(db: Db, messageId: string) {
  return db
    .select()
    .from(deliveryAttempts)
    .where(eq(deliveryAttempts.messageId, messageId))
    .orderBy(asc(deliveryAttempts.at), asc(deliveryAttempts.attempt));
}

/**
 * queued/scheduled → sending, and failed/unknown/cancelled/expired → sending when an operator
 * resets the workflow to send it after all.
 * A sent message never moves back: a reset of a delivered send finds it in the ledger.
 */
export async function markSending(db: Db, messageId: string): Promise<void> {
  await db
    .update(messages)
    .set({ status: 'sending', lastError: null, updatedAt: new Date() })
    .where(
      and(
        eq(messages.id, messageId),
        inArray(messages.status, ['queued', 'scheduled', 'failed', 'unknown', 'cancelled', 'expired']),
      ),
    );
}

export async function loadMessage(db: Db, messageId: string) {
  const [message] = await db.select().from(messages).where(eq(messages.id, messageId));
  return message;
}
