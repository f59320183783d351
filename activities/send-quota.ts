// One SES quota for every send of every worker. SES's maximum send rate is per account; when single
// sends and bulks each paced themselves, a newsletter at the full quota got password resets throttled.
import { sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { sendPace } from '../db/schema.js';
import { delay } from './pacer.js';

export interface SendQuota {
  /** A single send's SES slot: it waits for no bulk, only for the sends already in line (or an abort). */
  single(signal?: AbortSignal): Promise<void>;
  /**
   * `n` SES slots for bulk copies, as local epoch ms, one interval apart. A bulk joins the line
   * only when it is less than `horizonMs` long, so single sends arriving meanwhile go first: a bulk
   * yields to single-send traffic and takes what it leaves. Resolves `[]` once `signal` aborts.
   */
  bulk(n: number, signal?: AbortSignal): Promise<number[]>;
}

// How far ahead a bulk may book slots: the longest a single send waits behind bulk copies.
const BULK_HORIZON_MS = 250;

/**
 * The line is one row per SES account holding its next free slot, advanced in one statement by
 * each taker (a virtual schedule, as GCRA): every send of every worker is one interval after the
 * previous one, so no second, and no burst, exceeds the quota. Times are the database's clock.
 */
export function createSendQuota(db: Db, account: string, ratePerSecond: number): SendQuota {
  const interval = 1000 / ratePerSecond;
  const now = sql`(extract(epoch from statement_timestamp()) * 1000)::float8`;

  /** Books `n` slots; undefined when a bulk must wait for the line to shorten. */
  async function book(n: number, priority: boolean): Promise<number[] | undefined> {
    const span = n * interval;
    const [row] = await db
      .insert(sendPace)
      .values({ account, nextAt: sql`${now} + ${span}::float8` })
      .onConflictDoUpdate({
        target: sendPace.account,
        set: { nextAt: sql`greatest(${sendPace.nextAt}, ${now}) + ${span}::float8` },
        ...(priority ? {} : { setWhere: sql`${sendPace.nextAt} <= ${now} + ${BULK_HORIZON_MS}::float8` }),
      })
      .returning({ nextAt: sendPace.nextAt, now: sql<number>`${now}` });
    if (!row) return undefined;
    // The database's slot times on this host's clock.
    const first = row.nextAt - span - Number(row.now) + Date.now();
    return Array.from({ length: n }, (_, i) => first + i * interval);
  }

  return {
    async single(signal) {
      const [at] = (await book(1, true))!;
      await delay(at! - Date.now(), signal);
    },
    async bulk(n, signal) {
      for (;;) {
        if (signal?.aborted) return [];
        const slots = await book(n, false);
        if (slots) return slots;
        await delay(BULK_HORIZON_MS / 2, signal);
      }
    },
  };
}
