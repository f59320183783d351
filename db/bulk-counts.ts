import { eq, sql } from 'drizzle-orm';
import type { Db } from './create-db.js';
import { bulkRecipients, type RecipientStatus } from './schema.js';

export interface RecipientCounts {
  total: number;
  sent: number;
  failed: number;
  cancelled: number;
  /** Not yet settled: pending, or claimed by a batch in flight. */
  pending: number;
  /** Held: two provider calls went unanswered; each may or may not have the message, none is resent. */
  unknown: number;
  /** Sent, then reported by the provider as a hard bounce. */
  bounced: number;
  /** Sent, then reported by the recipient as spam. */
  complained: number;
  /** On the suppression list when their turn came: never handed to a provider. */
  suppressed: number;
  /** Sent recipients (bounced and complained included) one of whose provider calls never answered: each may hold two copies. */
  possible_duplicates: number;
}

/** One grouped query, so the counts come from one snapshot and always add up to total. */
export async function countRecipients(db: Db, bulkId: string): Promise<RecipientCounts> {
  const rows = await db
    .select({
      status: bulkRecipients.status,
      n: sql<number>`count(*)::int`,
      uncertain: sql<number>`count(*) filter (where ${bulkRecipients.unknownOutcomes} > 0)::int`,
    })
    .from(bulkRecipients)
    .where(eq(bulkRecipients.bulkId, bulkId))
    .groupBy(bulkRecipients.status);
  const by = (s: RecipientStatus) => rows.find((r) => r.status === s)?.n ?? 0;
  const counts = {
    sent: by('sent'),
    failed: by('failed'),
    cancelled: by('cancelled'),
    pending: by('pending') + by('claimed') + by('sending'),
    unknown: by('unknown'),
    bounced: by('bounced'),
    complained: by('complained'),
    suppressed: by('suppressed'),
  };
  const possible_duplicates = rows
    .filter((r) => r.status === 'sent' || r.status === 'bounced' || r.status === 'complained')
    .reduce((n, r) => n + r.uncertain, 0);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return { total, ...counts, possible_duplicates };
}
