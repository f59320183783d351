// Which webhook event a recorded outcome is, and what it says: written where outcomes are recorded.
import type { RecipientCounts } from '../db/bulk-counts.js';
import { eventNotices } from '../db/provider-events.js';
import type { Db } from '../db/create-db.js';
import type { OutcomeRow } from './ledger.js';
import type { EmitEvent } from './webhooks.js';

const emitted = ['sent', 'failed', 'cancelled', 'expired', 'suppressed'] as const;
// Provider events that beat the outcome write have moved the row past `sent` already.
const sentThenMore = ['delivered', 'bounced', 'soft_bounced', 'complained', 'delayed', 'rejected'];
const eventOf = (status: string): (typeof emitted)[number] | undefined =>
  sentThenMore.includes(status)
    ? 'sent'
    : (emitted as readonly string[]).includes(status)
      ? (status as never)
      : undefined;

/**
 * `email.sent`, `email.failed`, `email.cancelled`, `email.expired` or `email.suppressed` for a
 * single send's final outcome, then the provider events already known for it (see
 * emitProviderEvents). `unknown` emits nothing: the send is held for an operator, and a reset
 * run's outcome will be the event.
 */
export async function emitSendOutcome(db: Db, emitEvent: EmitEvent, row: OutcomeRow | undefined): Promise<void> {
  const event = row && eventOf(row.status);
  if (!row || !event) return;
  await emitEvent(row.tenantId, `email.${event}`, {
    email_id: row.id,
    status: event,
    from: row.from,
    to: row.to,
    cc: row.cc,
    bcc: row.bcc,
    subject: row.subject,
    tags: row.tags,
    provider: row.provider,
    provider_message_id: row.providerMessageId,
    ...(event === 'failed' || event === 'expired' ? { error: row.lastError } : {}),
  });
  // Events that beat this write are told now; later ones as they arrive (the SES webhook).
  if ((row.status !== event || row.lateEvents > 0) && row.providerMessageId)
    await emitProviderEvents(db, emitEvent, row.providerMessageId);
}

/** `email.delivered` / `email.bounced` / `email.complained` for a send's provider events, each once. */
export async function emitProviderEvents(db: Db, emitEvent: EmitEvent, providerMessageId: string): Promise<void> {
  for (const n of await eventNotices(db, providerMessageId)) await emitEvent(n.tenant, n.type, n.data, { key: n.key });
}

/** `bulk.completed`, `bulk.cancelled`, `bulk.expired` or `bulk.paused`, with the bulk's counts at that moment. */
export async function emitBulkEvent(
  emitEvent: EmitEvent,
  bulk: { id: string; tenantId: string },
  status: 'completed' | 'cancelled' | 'expired' | 'paused',
  counts: RecipientCounts,
  key?: string,
): Promise<void> {
  await emitEvent(bulk.tenantId, `bulk.${status}`, { bulk_id: bulk.id, status, ...counts }, key ? { key } : {});
}
