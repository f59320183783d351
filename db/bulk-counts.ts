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
  /** Sent recipients one of whose provider calls never answered: each may hold two copies. */
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
  };
  const possible_duplicates = rows.find((r) => r.status === 'sent')?.uncertain ?? 0;
  const total = counts.sent + counts.failed + counts.cancelled + counts.pending + counts.unknown;
  return { total, ...counts, possible_duplicates };
}
