// The reputation breaker: SES suspends accounts whose bounce rate passes ~5% or complaint rate
// ~0.1%, so a bulk that is driving its rates there stops itself before the account pays for it.
import { and, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { BreakerSettings } from '../config/config.js';
import type { Tx } from './provider-events.js';
import { bulkRecipients, bulks } from './schema.js';

const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;

/**
 * Judges a running bulk's last `window` deliveries (recipients a provider accepted, newest by seq,
 * after the breaker's previous trip). Over a threshold, records the trip — `breaker_seq` and the
 * `status_reason` — and returns the reason; the caller pauses the bulk. A window is judged only
 * once full, and each trip starts the next window afresh, so a resumed bulk is not paused again
 * by the deliveries that tripped it.
 */
export async function tripBreaker(tx: Tx, bulkId: string, s: BreakerSettings): Promise<string | undefined> {
  const [bulk] = await tx
    .select({ status: bulks.status, breakerSeq: bulks.breakerSeq })
    .from(bulks)
    .where(eq(bulks.id, bulkId));
  if (bulk?.status !== 'running') return undefined;
  const window = await tx
    .select({ seq: bulkRecipients.seq, status: bulkRecipients.status })
    .from(bulkRecipients)
    .where(
      and(
        eq(bulkRecipients.bulkId, bulkId),
        inArray(bulkRecipients.status, ['sent', 'bounced', 'complained']),
        gt(bulkRecipients.seq, bulk.breakerSeq ?? -1),
      ),
    )
    .orderBy(desc(bulkRecipients.seq))
    .limit(s.window);
  if (window.length < s.window) return undefined;
  const n = window.length;
  const bounced = window.filter((r) => r.status === 'bounced').length;
  const complained = window.filter((r) => r.status === 'complained').length;
  let reason: string | undefined;
  if (complained / n > s.complaintRate)
    reason = `complaint rate ${pct(complained / n)} (${complained} of the last ${n} deliveries) is above ${pct(s.complaintRate)}`;
  else if (bounced / n > s.bounceRate)
    reason = `bounce rate ${pct(bounced / n)} (${bounced} of the last ${n} deliveries) is above ${pct(s.bounceRate)}`;
  if (!reason) return undefined;
  reason = `paused by the reputation breaker: ${reason}; resume explicitly once the list is cleaned`;
  const last = window[0]!.seq;
  const tripped = await tx
    .update(bulks)
    .set({ breakerSeq: last, statusReason: reason, updatedAt: new Date() })
    .where(and(eq(bulks.id, bulkId), eq(bulks.status, 'running'), sql`coalesce(${bulks.breakerSeq}, -1) < ${last}`))
    .returning({ id: bulks.id });
  return tripped.length > 0 ? reason : undefined;
}
