// Which webhook event a recorded outcome is, and what it says: written where outcomes are recorded.
import type { RecipientCounts } from '../db/bulk-counts.js';
import type { OutcomeRow } from './ledger.js';
import type { EmitEvent } from './webhooks.js';

/**
 * `email.sent` or `email.failed` for a single send's final outcome. `unknown` emits nothing: the
 * send is held for an operator, and a reset run's outcome will be the event.
 */
export async function emitSendOutcome(emitEvent: EmitEvent, row: OutcomeRow | undefined): Promise<void> {
  if (!row || (row.status !== 'sent' && row.status !== 'failed')) return;
  await emitEvent(row.apiKeyId, row.status === 'sent' ? 'email.sent' : 'email.failed', {
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
    ...(row.status === 'failed' ? { error: row.lastError } : {}),
  });
}

/** `bulk.completed`, `bulk.cancelled` or `bulk.paused`, with the bulk's counts at that moment. */
export async function emitBulkEvent(
  emitEvent: EmitEvent,
  bulk: { id: string; apiKeyId: string },
  status: 'completed' | 'cancelled' | 'paused',
  counts: RecipientCounts,
  key?: string,
): Promise<void> {
  await emitEvent(bulk.apiKeyId, `bulk.${status}`, { bulk_id: bulk.id, status, ...counts }, key ? { key } : {});
}
