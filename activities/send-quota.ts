// One SES quota for every send of every worker. SES's maximum send rate is per account; when single
// sends and bulks each paced themselves, a newsletter at the full quota got password resets throttled.
import { eq, sql } from 'drizzle-orm';
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
  /**
   * SES throttled a send: the account's pace drops to half (for every worker), at most once per
   * second, never below a tenth of the quota; it climbs back by a tenth of the quota per second.
   * Resolves true when the pace was already at that floor: throttling beyond it is SES failing.
   */
  slowDown(): Promise<boolean>;
}

// How far ahead a bulk may book slots: the longest a single send waits behind bulk copies.
const BULK_HORIZON_MS = 250;
// After SES throttles: the share of the quota kept, its floor, and how fast it is given back.
const SLOW_DOWN = 0.5;
const MIN_FACTOR = 0.1;
const RECOVERY_PER_MS = 0.1 / 1000;

/**
 * The line is one row per SES account holding its next free slot, advanced in one statement by
 * each taker (a virtual schedule, as GCRA): every send of every worker is one interval after the
 * previous one, so no second, and no burst, exceeds the quota. Times are the database's clock.
 */
export function createSendQuota(db: Db, account: string, ratePerSecond: number): SendQuota {
  const interval = 1000 / ratePerSecond;
  const now = sql`(extract(epoch from statement_timestamp()) * 1000)::float8`;
  // The share of the quota in use now: the last slow-down's, recovered since.
  const factor = sql`least(1, ${sendPace.factor} + (${now} - ${sendPace.slowedAt}) * ${RECOVERY_PER_MS}::float8)`;
  const spacing = sql`(${interval}::float8 / ${factor})`;

  /** Books `n` slots; undefined when a bulk must wait for the line to shorten. */
  async function book(n: number, priority: boolean): Promise<number[] | undefined> {
    const [row] = await db
      .insert(sendPace)
      .values({ account, nextAt: sql`${now} + ${n * interval}::float8` })
      .onConflictDoUpdate({
        target: sendPace.account,
        set: { nextAt: sql`greatest(${sendPace.nextAt}, ${now}) + ${n}::float8 * ${spacing}` },
        ...(priority ? {} : { setWhere: sql`${sendPace.nextAt} <= ${now} + ${BULK_HORIZON_MS}::float8` }),
      })
      .returning({ nextAt: sendPace.nextAt, now: sql<number>`${now}`, spacing: sql<number>`${spacing}` });
    if (!row) return undefined;
    // The database's slot times on this host's clock. (The spacing returned is the new row's, the
    // same factor give or take the microseconds of the statement.)
    const step = Number(row.spacing);
    const first = row.nextAt - n * step - Number(row.now) + Date.now();
    return Array.from({ length: n }, (_, i) => first + i * step);
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
    async slowDown() {
      const [row] = await db
        .insert(sendPace)
        .values({ account, nextAt: now, factor: SLOW_DOWN, slowedAt: now })
        .onConflictDoUpdate({
          target: sendPace.account,
          set: { factor: sql`greatest(${MIN_FACTOR}::float8, ${factor} * ${SLOW_DOWN}::float8)`, slowedAt: now },
          // One slow-down per second: a burst of throttled answers is one signal, not many.
          setWhere: sql`${sendPace.slowedAt} <= ${now} - 1000`,
        })
        .returning({ factor: sendPace.factor });
      // No row: slowed down within the last second already; at the floor only if it is there.
      if (!row) {
        const [current] = await db
          .select({ factor: sql<number>`${factor}` })
          .from(sendPace)
          .where(eq(sendPace.account, account));
        return Number(current?.factor ?? 1) <= MIN_FACTOR;
      }
      return row.factor <= MIN_FACTOR;
    },
  };
}
