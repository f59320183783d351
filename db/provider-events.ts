// SES events (event publishing through SNS): parsed into a bounded row, stored once per SNS
// MessageId, mapped to the send they are about through the provider message id, and applied —
// the send's status, and the suppression list for hard bounces and complaints.
import { providerEventsReceived } from '../metrics/metrics.js';
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from './create-db.js';
import {
  bulkRecipients,
  bulks,
  messages,
  providerEvents,
  type MessageStatus,
  type ProviderEventType,
  type RecipientStatus,
} from './schema.js';
import { addSuppressions } from './suppressions.js';

export type Tx = Pick<Db, 'select' | 'insert' | 'update' | 'execute'>;

// Bounds on what one event keeps: its recipients and diagnostics, never headers or bodies.
const MAX_RECIPIENTS = 50;
const MAX_TEXT = 500;
const text = z
  .string()
  .transform((s) => s.slice(0, MAX_TEXT))
  .optional();
const recipient = z.looseObject({
  emailAddress: z.string().max(320),
  status: text,
  action: text,
  diagnosticCode: text,
});
const recipients = z.array(recipient).default([]);

const sesEvent = z.looseObject({
  eventType: z.string().optional(),
  notificationType: z.string().optional(),
  mail: z.looseObject({ messageId: z.string().min(1).max(200), timestamp: z.string().optional() }),
  bounce: z
    .looseObject({ bounceType: z.string(), bounceSubType: text, bouncedRecipients: recipients, timestamp: text })
    .optional(),
  complaint: z
    .looseObject({ complainedRecipients: recipients, complaintFeedbackType: text, timestamp: text })
    .optional(),
  delivery: z
    .looseObject({
      recipients: z.array(z.string().max(320)).default([]),
      timestamp: text,
      smtpResponse: text,
      processingTimeMillis: z.number().optional(),
    })
    .optional(),
  deliveryDelay: z
    .looseObject({ delayType: text, delayedRecipients: recipients, timestamp: text, expirationTime: text })
    .optional(),
  reject: z.looseObject({ reason: text }).optional(),
});

const typeOf: Record<string, ProviderEventType> = {
  Send: 'send',
  Delivery: 'delivery',
  Bounce: 'bounce',
  Complaint: 'complaint',
  DeliveryDelay: 'delivery_delay',
  Reject: 'reject',
};

/** One event as stored: the provider message id it is about, its type, time and bounded details. */
export interface ParsedEvent {
  providerMessageId: string;
  type: ProviderEventType;
  subtype: string | null;
  occurredAt: Date;
  details: { recipients: { email: string; status?: string; action?: string; diagnostic?: string }[] } & Record<
    string,
    unknown
  >;
}

const when = (...candidates: (string | undefined)[]) => {
  for (const c of candidates) {
    const d = c ? new Date(c) : undefined;
    if (d && !Number.isNaN(d.getTime())) return d;
  }
  return new Date();
};

const bounded = (list: z.infer<typeof recipient>[]) =>
  list.slice(0, MAX_RECIPIENTS).map((r) => ({
    email: r.emailAddress.toLowerCase(),
    ...(r.status ? { status: r.status } : {}),
    ...(r.action ? { action: r.action } : {}),
    ...(r.diagnosticCode ? { diagnostic: r.diagnosticCode } : {}),
  }));

/**
 * An SES event-publishing record (or a classic SES notification) as we keep it; `ignored` for
 * event types we do not track (opens, clicks…), `invalid` with the field at fault.
 */
export function parseSesEvent(
  message: unknown,
): ParsedEvent | { ignored: string } | { invalid: { field: string; message: string } } {
  const r = sesEvent.safeParse(message);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    return { invalid: { field: ['Message', ...issue.path].join('.'), message: issue.message } };
  }
  const e = r.data;
  const name = e.eventType ?? e.notificationType ?? '';
  const type = typeOf[name];
  if (!type) return { ignored: name || '(no eventType)' };
  const base = { providerMessageId: e.mail.messageId };
  const missing = (field: string) => ({
    invalid: { field: `Message.${field}`, message: `${name} event without ${field}` },
  });
  switch (type) {
    case 'send':
      return { ...base, type, subtype: null, occurredAt: when(e.mail.timestamp), details: { recipients: [] } };
    case 'delivery': {
      if (!e.delivery) return missing('delivery');
      const d = e.delivery;
      return {
        ...base,
        type,
        subtype: null,
        occurredAt: when(d.timestamp, e.mail.timestamp),
        details: {
          recipients: d.recipients.slice(0, MAX_RECIPIENTS).map((a) => ({ email: a.toLowerCase() })),
          ...(d.smtpResponse ? { smtp_response: d.smtpResponse } : {}),
          ...(d.processingTimeMillis !== undefined ? { processing_ms: d.processingTimeMillis } : {}),
        },
      };
    }
    case 'bounce': {
      if (!e.bounce) return missing('bounce');
      const b = e.bounce;
      return {
        ...base,
        type,
        subtype: [b.bounceType.slice(0, 50), b.bounceSubType].filter(Boolean).join('/'),
        occurredAt: when(b.timestamp, e.mail.timestamp),
        details: { recipients: bounded(b.bouncedRecipients) },
      };
    }
    case 'complaint': {
      if (!e.complaint) return missing('complaint');
      const c = e.complaint;
      return {
        ...base,
        type,
        subtype: c.complaintFeedbackType ?? null,
        occurredAt: when(c.timestamp, e.mail.timestamp),
        details: { recipients: bounded(c.complainedRecipients) },
      };
    }
    case 'delivery_delay': {
      if (!e.deliveryDelay) return missing('deliveryDelay');
      const d = e.deliveryDelay;
      return {
        ...base,
        type,
        subtype: d.delayType ?? null,
        occurredAt: when(d.timestamp, e.mail.timestamp),
        details: {
          recipients: bounded(d.delayedRecipients),
          ...(d.expirationTime ? { expires_at: d.expirationTime } : {}),
        },
      };
    }
    case 'reject':
      return {
        ...base,
        type,
        subtype: e.reject?.reason ?? null,
        occurredAt: when(e.mail.timestamp),
        details: { recipients: [] },
      };
  }
}

type EventRow = typeof providerEvents.$inferSelect;

const isHardBounce = (e: Pick<EventRow, 'type' | 'subtype'>) =>
  e.type === 'bounce' && (e.subtype ?? '').startsWith('Permanent');

/** What an event makes of a single send, if anything. */
function messageStatusOf(e: EventRow): MessageStatus | undefined {
  switch (e.type) {
    case 'delivery':
      return 'delivered';
    case 'bounce':
      return isHardBounce(e) ? 'bounced' : 'soft_bounced';
    case 'complaint':
      return 'complained';
    case 'delivery_delay':
      return 'delayed';
    case 'reject':
      return 'rejected';
    case 'send':
      return undefined;
  }
}

// How far along a sent message is: an event only ever moves it forward, so a late `delivered`
// never hides a bounce or a complaint, and events in any order end in the same status.
const messageRank: Partial<Record<MessageStatus, number>> = {
  sent: 0,
  delayed: 1,
  soft_bounced: 1,
  delivered: 2,
  rejected: 3,
  bounced: 3,
  complained: 4,
};
const recipientRank: Partial<Record<RecipientStatus, number>> = { sent: 0, bounced: 3, complained: 4 };
const below = <S extends string>(ranks: Partial<Record<S, number>>, status: S) =>
  (Object.keys(ranks) as S[]).filter((s) => ranks[s]! < ranks[status]!);

/** The send an event maps to, and its tenant. */
type Target = { messageId: string; tenantId: string } | { bulkId: string; seq: number; tenantId: string };

async function findTarget(tx: Tx, providerMessageId: string): Promise<Target | undefined> {
  const [m] = await tx
    .select({ messageId: messages.id, tenantId: messages.tenantId })
    .from(messages)
    .where(eq(messages.providerMessageId, providerMessageId))
    .limit(1);
  if (m) return m;
  const [r] = await tx
    .select({ bulkId: bulkRecipients.bulkId, seq: bulkRecipients.seq, tenantId: bulks.tenantId })
    .from(bulkRecipients)
    .innerJoin(bulks, eq(bulks.id, bulkRecipients.bulkId))
    .where(eq(bulkRecipients.providerMessageId, providerMessageId))
    .limit(1);
  return r;
}

/**
 * Maps a stored event to its send and applies it: the status moves forward, a hard bounce or a
 * complaint suppresses its recipients for the tenant. Returns the bulk it is about, if any; an
 * event whose send is not known yet stays unmapped (the outcome write maps it, mapUnmappedEvents).
 */
async function applyEvent(tx: Tx, e: EventRow): Promise<{ bulkId?: string } | undefined> {
  const target = await findTarget(tx, e.providerMessageId);
  if (!target) return undefined;
  const now = new Date();
  if ('messageId' in target) {
    await tx
      .update(providerEvents)
      .set({ messageId: target.messageId })
      .where(eq(providerEvents.snsMessageId, e.snsMessageId));
    const status = messageStatusOf(e);
    if (status)
      await tx
        .update(messages)
        .set({ status, updatedAt: now })
        .where(and(eq(messages.id, target.messageId), inArray(messages.status, below(messageRank, status))));
  } else {
    await tx
      .update(providerEvents)
      .set({ bulkId: target.bulkId, seq: target.seq })
      .where(eq(providerEvents.snsMessageId, e.snsMessageId));
    const status: RecipientStatus | undefined = isHardBounce(e)
      ? 'bounced'
      : e.type === 'complaint'
        ? 'complained'
        : undefined;
    if (status)
      await tx
        .update(bulkRecipients)
        .set({ status, updatedAt: now })
        .where(
          and(
            eq(bulkRecipients.bulkId, target.bulkId),
            eq(bulkRecipients.seq, target.seq),
            inArray(bulkRecipients.status, below(recipientRank, status)),
          ),
        );
  }
  if (isHardBounce(e) || e.type === 'complaint') {
    const reason = e.type === 'complaint' ? 'complaint' : 'bounce';
    await addSuppressions(
      tx,
      ((e.details.recipients as { email: string }[] | undefined) ?? []).map((r) => ({
        tenantId: target.tenantId,
        email: r.email,
        reason,
        source: `ses:${e.snsMessageId}`,
      })),
    );
  }
  return 'bulkId' in target ? { bulkId: target.bulkId } : {};
}

/**
 * Stores one event (once per SNS MessageId) and applies it. `duplicate`: already stored, nothing
 * done. `bulkId`: the bulk whose recipient it is about, for the reputation breaker.
 */
export async function recordEvent(
  tx: Tx,
  snsMessageId: string,
  event: ParsedEvent,
): Promise<{ duplicate: boolean; unmapped?: boolean; bulkId?: string }> {
  const [row] = await tx
    .insert(providerEvents)
    .values({ snsMessageId, ...event })
    .onConflictDoNothing()
    .returning();
  if (!row) return { duplicate: true };
  providerEventsReceived.inc({ type: row.type });
  const applied = await applyEvent(tx, row);
  if (!applied) return { duplicate: false, unmapped: true };
  return { duplicate: false, ...(applied.bulkId ? { bulkId: applied.bulkId } : {}) };
}

/**
 * Events that arrived before their send's outcome was written (it names the provider message id)
 * are applied now. Called by the outcome writes with the ids they just recorded (one indexed query
 * when there are none), and by the webhook again after storing an event it could not map: whichever
 * runs last sees both the event and the outcome, so none stays unmapped. Applying twice is harmless.
 * Returns how many it found.
 */
export async function mapUnmappedEvents(db: Db, providerMessageIds: string[]): Promise<number> {
  if (providerMessageIds.length === 0) return 0;
  const waiting = await db
    .select()
    .from(providerEvents)
    .where(
      and(
        inArray(providerEvents.providerMessageId, providerMessageIds),
        isNull(providerEvents.messageId),
        isNull(providerEvents.bulkId),
      ),
    )
    .orderBy(asc(providerEvents.occurredAt));
  for (const e of waiting) await db.transaction((tx) => applyEvent(tx, e));
  return waiting.length;
}

/** A send's events, oldest first, as GET /v1/emails/:id shows them. */
export async function readEvents(db: Db, messageId: string) {
  const rows = await db
    .select()
    .from(providerEvents)
    .where(eq(providerEvents.messageId, messageId))
    .orderBy(asc(providerEvents.occurredAt), asc(providerEvents.receivedAt));
  return rows.map((e) => ({ type: e.type, subtype: e.subtype, at: e.occurredAt.toISOString(), details: e.details }));
}

/** The provider events a customer's webhook hears about, by the status they give a send. */
const noticeOf = (e: Pick<EventRow, 'type' | 'subtype'>) =>
  e.type === 'delivery'
    ? ('email.delivered' as const)
    : isHardBounce(e)
      ? ('email.bounced' as const)
      : e.type === 'complaint'
        ? ('email.complained' as const)
        : undefined;

/**
 * The webhook events a single send's mapped provider events make (delivered, bounced, complained),
 * each named by its SNS MessageId, so emitting them again (an SNS retry, the outcome write mapping
 * an early event) delivers each once. Bulk recipients' events are not in it: they show in the
 * bulk's counts and its recipients page.
 */
export async function eventNotices(db: Db, providerMessageId: string) {
  const rows = await db
    .select({ event: providerEvents, tenantId: messages.tenantId })
    .from(providerEvents)
    .innerJoin(messages, eq(messages.id, providerEvents.messageId))
    .where(eq(providerEvents.providerMessageId, providerMessageId))
    .orderBy(asc(providerEvents.occurredAt));
  return rows.flatMap(({ event: e, tenantId }) => {
    const type = noticeOf(e);
    if (!type) return [];
    const recipients = ((e.details.recipients as { email: string }[] | undefined) ?? []).map((r) => r.email);
    return [
      {
        tenant: tenantId,
        type,
        key: e.snsMessageId,
        data: {
          email_id: e.messageId!,
          status: messageStatusOf(e)!,
          provider_message_id: providerMessageId,
          ...(recipients.length ? { recipient: recipients[0], recipients } : {}),
          ...(e.subtype ? { subtype: e.subtype } : {}),
          occurred_at: e.occurredAt.toISOString(),
        },
      },
    ];
  });
}
