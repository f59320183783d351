import { Context } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { countRecipients, type RecipientCounts } from '../db/bulk-counts.js';
import type { Db } from '../db/create-db.js';
import { bulkRecipients, bulks } from '../db/schema.js';
import { emitBulkEvent } from './outcome-events.js';
import type { EmitEvent } from './webhooks.js';

export interface BulkRecordDeps {
  db: Db;
  /** Messages per second SES allows this account: the ceiling of every bulk's pace. */
  sesMaxSendRate: number;
  /** Webhook events of the lifecycle this module records (paused, completed, cancelled). */
  emitEvent: EmitEvent;
}

/** Bulk lifecycle writes. Each is idempotent: a retried activity leaves the same rows. */
export function createBulkRecordActivities({ db, sesMaxSendRate, emitEvent }: BulkRecordDeps) {
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

    /**
     * `paused` also emits `bulk.paused`: once per pause, however often this activity is retried.
     * Running again after a pause also clears the reason it stopped (a reputation breaker's trip).
     */
    async setBulkStatus({
      bulkId,
      status,
    }: {
      bulkId: string;
      status: 'running' | 'paused' | 'scheduled';
    }): Promise<void> {
      const [bulk] = await db
        .update(bulks)
        .set({ status, ...(status === 'running' ? { statusReason: null } : {}), updatedAt: new Date() })
        .where(eq(bulks.id, bulkId))
        .returning({ id: bulks.id, tenantId: bulks.tenantId });
      if (status !== 'paused' || !bulk) return;
      // This activity's place in its run names the pause: a retry is the same pause, a later pause another.
      const { workflowExecution, activityId } = Context.current().info;
      const pause = `${workflowExecution?.runId}/${activityId}`;
      await emitBulkEvent(emitEvent, bulk, 'paused', await countRecipients(db, bulkId), pause);
    },

    /**
     * Final status; a cancelled or expired bulk's unsent recipients become `cancelled`. Returns
     * exact counts, and emits `bulk.completed` / `bulk.cancelled` / `bulk.expired` with them.
     */
    async finishBulk({
      bulkId,
      status,
    }: {
      bulkId: string;
      status: 'completed' | 'cancelled' | 'expired';
    }): Promise<RecipientCounts> {
      const now = new Date();
      const bulk = await db.transaction(async (tx) => {
        if (status !== 'completed') {
          await tx
            .update(bulkRecipients)
            .set({ status: 'cancelled', updatedAt: now })
            .where(
              and(eq(bulkRecipients.bulkId, bulkId), inArray(bulkRecipients.status, ['pending', 'claimed', 'sending'])),
            );
        }
        const [row] = await tx
          .update(bulks)
          .set({
            status,
            statusReason: status === 'expired' ? 'not started by not_after' : null,
            finishedAt: sql`coalesce(${bulks.finishedAt}, now())`,
            updatedAt: now,
          })
          .where(eq(bulks.id, bulkId))
          .returning({ id: bulks.id, tenantId: bulks.tenantId });
        return row;
      });
      const counts = await countRecipients(db, bulkId);
      // Retried with this activity until it lands; the bulk is final, so its id names the event.
      if (bulk) await emitBulkEvent(emitEvent, bulk, status, counts);
      return counts;
    },
  };
}
