// Which webhook event a recorded outcome is, and what it says: written where outcomes are recorded.
import type { RecipientCounts } from '../db/bulk-counts.js';
import type { OutcomeRow } from './ledger.js';
import type { EmitEvent } from './webhooks.js';

const emitted = ['sent', 'failed', 'cancelled', 'expired', 'suppressed'] as const;
const isEmitted = (status: string): status is (typeof emitted)[number] =>
  (emitted as readonly string[]).includes(status);

/**
 * `email.sent`, `email.failed`, `email.cancelled`, `email.expired` or `email.suppressed` for a single send's final
 * outcome. `unknown` emits nothing: the send is held for an operator, and a reset run's outcome
 * will be the event.
 */
export async function emitSendOutcome(emitEvent: EmitEvent, row: OutcomeRow | undefined): Promise<void> {
  if (!row || !isEmitted(row.status)) return;
  await emitEvent(row.apiKeyId, `email.${row.status}`, {
    email_id: row.id,
    status: row.status,
    from: row.from,
    to: row.to,
    cc: row.cc,
    bcc: row.bcc,
    subject: row.subject,
    tags: row.tags,
    provider: row.provider,
    provider_message_id: row.providerMessageId,
    ...(row.status === 'failed' || row.status === 'expired' ? { error: row.lastError } : {}),
  });
}

/** `bulk.completed`, `bulk.cancelled`, `bulk.expired` or `bulk.paused`, with the bulk's counts at that moment. */
export async function emitBulkEvent(
  emitEvent: EmitEvent,
  bulk: { id: string; apiKeyId: string },
  status: 'completed' | 'cancelled' | 'expired' | 'paused',
  counts: RecipientCounts,
  key?: string,
): Promise<void> {
  await emitEvent(bulk.apiKeyId, `bulk.${status}`, { bulk_id: bulk.id, status, ...counts }, key ? { key } : {});
}
