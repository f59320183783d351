import { and, eq, inArray, sql } from 'drizzle-orm';
import { countRecipients, type RecipientCounts } from '../db/bulk-counts.js';
import type { Db } from '../db/create-db.js';
import { bulkRecipients, bulks } from '../db/schema.js';

export interface BulkRecordDeps {
  db: Db;
  /** Messages per second SES allows this account: the ceiling of every bulk's pace. */
  sesMaxSendRate: number;
}

/** Bulk lifecycle writes. Each is idempotent: a retried activity leaves the same rows. */
export function createBulkRecordActivities({ db, sesMaxSendRate }: BulkRecordDeps) {
  return {
    /** Marks the bulk running and returns its effective pace (requested, capped by the quota). */
    async startBulk({ bulkId, ratePerSecond }: { bulkId: string; ratePerSecond?: number }): Promise<number> {
      const rate = Math.min(ratePerSecond ?? sesMaxSendRate, sesMaxSendRate);
      await db
        .update(bulks)
        .set({
          status: 'running',
          ratePerSecond: Math.round(rate),
          startedAt: sql`coalesce(${bulks.startedAt}, now())`,
          updatedAt: new Date(),
        })
        .where(eq(bulks.id, bulkId));
      return rate;
    },

    /** Running again after a pause also clears the reason it stopped (a reputation breaker's trip). */
    async setBulkStatus({ bulkId, status }: { bulkId: string; status: 'running' | 'paused' }): Promise<void> {
      await db
        .update(bulks)
        .set({ status, ...(status === 'running' ? { statusReason: null } : {}), updatedAt: new Date() })
        .where(eq(bulks.id, bulkId));
    },

    /** Final status; a cancelled bulk's unsent recipients become `cancelled`. Returns exact counts. */
    async finishBulk({
      bulkId,
      status,
    }: {
      bulkId: string;
      status: 'completed' | 'cancelled';
    }): Promise<RecipientCounts> {
      const now = new Date();
      await db.transaction(async (tx) => {
        if (status === 'cancelled') {
          await tx
            .update(bulkRecipients)
            .set({ status: 'cancelled', updatedAt: now })
            .where(
              and(eq(bulkRecipients.bulkId, bulkId), inArray(bulkRecipients.status, ['pending', 'claimed', 'sending'])),
            );
        }
        await tx
          .update(bulks)
          .set({ status, statusReason: null, finishedAt: sql`coalesce(${bulks.finishedAt}, now())`, updatedAt: now })
          .where(eq(bulks.id, bulkId));
      });
      return countRecipients(db, bulkId);
    },
  };
}
