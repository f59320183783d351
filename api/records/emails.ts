// The read side of single sends, shared by GET /v1/emails… and the console: one query each.
import { and, asc, eq, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/create-db.js';
import { readEvents } from '../../db/provider-events.js';
import { attachments, deliveryAttempts, messages, type MessageStatus } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import { uuidPattern } from '../idempotency.js';
import { newestFirst, page } from './newest-first.js';

export type MessageRow = typeof messages.$inferSelect;

export interface EmailFilters {
  status?: MessageStatus;
  /** A recipient address in To, Cc or Bcc. */
  to?: string;
  /** `name:value`, already validated. */
  tag?: string;
  created_after?: string;
  created_before?: string;
  /** The id of the last row of the previous page. */
  cursor?: string;
  limit: number;
}

export const emailSummary = (m: MessageRow) => ({
  id: m.id,
  status: m.status,
  from: m.from,
  to: m.to,
  subject: m.subject,
  tags: m.tags,
  provider: m.provider,
  created_at: m.createdAt.toISOString(),
  updated_at: m.updatedAt.toISOString(),
  sent_at: m.sentAt?.toISOString() ?? null,
  scheduled_at: m.scheduledAt?.toISOString() ?? null,
  not_after: m.notAfter?.toISOString() ?? null,
});

/** A stored address list holds `a@b` or `Name <a@b>`: match the address as a whole element or in brackets. */
function recipientIs(address: string) {
  const escaped = address.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`);
  const lists = sql`lower(${messages.to}::text || ${messages.cc}::text || ${messages.bcc}::text)`;
  return or(sql`${lists} like ${`%"${escaped}"%`}`, sql`${lists} like ${`%<${escaped}>%`}`);
}

/** The tenant's send, or a 404 naming `id` (another tenant's send is as absent as a missing one). */
export async function findEmail(db: Db, id: string, tenantId: string): Promise<MessageRow> {
  const notFound = new ApiError('not_found', `no email ${id}`, 'id');
  if (!uuidPattern.test(id)) throw notFound;
  const [m] = await db
    .select()
    .from(messages)
    .where(and(eq(messages.id, id), eq(messages.tenantId, tenantId)));
  if (!m) throw notFound;
  return m;
}

/** A page of the tenant's sends, newest first; the cursor is the last row's position, not an offset. */
export async function listEmails(db: Db, tenantId: string, q: EmailFilters) {
  const after = q.cursor ? await findEmail(db, q.cursor, tenantId).catch(() => undefined) : undefined;
  const paging = newestFirst({ table: messages, createdAt: messages.createdAt, id: messages.id }, q, after);
  const [tagName, tagValue] = q.tag?.split(':') ?? [];
  const rows = await db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, tenantId),
        q.status ? eq(messages.status, q.status) : undefined,
        q.to ? recipientIs(q.to) : undefined,
        tagName ? sql`${messages.tags} @> ${JSON.stringify({ [tagName]: tagValue })}::jsonb` : undefined,
        ...paging.where,
      ),
    )
    .orderBy(...paging.orderBy)
    .limit(q.limit);
  return page(rows, q.limit, emailSummary);
}

/** Everything known of one send: its fields, attachments, every attempt and every provider event. */
export async function emailRecord(db: Db, m: MessageRow) {
  const [files, attempts, events] = await Promise.all([
    db.select().from(attachments).where(eq(attachments.messageId, m.id)).orderBy(asc(attachments.position)),
    db
      .select()
      .from(deliveryAttempts)
      .where(eq(deliveryAttempts.messageId, m.id))
      .orderBy(asc(deliveryAttempts.at), asc(deliveryAttempts.attempt)),
    readEvents(db, m.id),
  ]);
  return {
    ...emailSummary(m),
    workflow_id: m.workflowId,
    cc: m.cc,
    bcc: m.bcc,
    provider_message_id: m.providerMessageId,
    last_error: m.lastError,
    attachments: files.map((f) => ({
      filename: f.filename,
      content_type: f.contentType,
      size: f.size,
      sha256: f.sha256,
    })),
    attempts: attempts.map((a) => ({
      provider: a.provider,
      attempt: a.attempt,
      outcome: a.outcome,
      provider_message_id: a.providerMessageId,
      error_code: a.errorCode,
      error_message: a.errorMessage,
      rejected_recipients: a.rejectedRecipients ?? [],
      routed_by: a.routedBy,
      at: a.at.toISOString(),
    })),
    suppressed_recipients: m.suppressedRecipients,
    events,
  };
}
