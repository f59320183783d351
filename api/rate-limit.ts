// Per-key request limits that hold across API replicas: the count lives in Postgres, one row per
// key, moved by one atomic upsert per request in fixed one-minute windows of the database's clock.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { rateLimitWindows } from '../db/schema.js';

export interface RateCount {
  limit: number;
  /** Requests left in this window (0 once over). */
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  allowed: boolean;
}

/**
 * Counts one request of `keyId` and says whether it is within `limit` a minute. A database error
 * propagates (the API answers 503): a request is never refused as over the limit without a count.
 */
export async function countRequest(db: Db, keyId: string, limit: number): Promise<RateCount> {
  const w = rateLimitWindows;
  const [row] = await db
    .insert(w)
    .values({ keyId, windowStart: sql`date_trunc('minute', now())`, count: 1 })
    .onConflictDoUpdate({
      target: w.keyId,
      // A request whose statement started just before the minute turned, landing after one that
      // opened the new window, counts in the new window instead of reopening the old one.
      set: {
        count: sql`case when excluded.window_start > ${w.windowStart} then 1 else ${w.count} + 1 end`,
        windowStart: sql`greatest(excluded.window_start, ${w.windowStart})`,
      },
    })
    .returning({
      count: w.count,
      resetSeconds: sql<number>`greatest(1, ceil(extract(epoch from ${w.windowStart} + interval '1 minute' - now())))::int`,
    });
  const count = row!.count;
  return {
    limit,
    remaining: Math.max(0, limit - count),
    resetSeconds: Number(row!.resetSeconds),
    allowed: count <= limit,
  };
}
