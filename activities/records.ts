import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { messages } from '../db/schema.js';
import { markSending, writeOutcome, type OutcomeInput } from './ledger.js';
import { emitSendOutcome } from './outcome-events.js';
import type { EmitEvent } from './webhooks.js';

/** Status writes to the messages read model. Each is a plain UPDATE, safe to run twice. */
export function createRecordActivities({ db, emitEvent }: { db: Db; emitEvent: EmitEvent }) {
  return {
    /** Workflows started before `prepareSend` existed: queued → sending (see ledger's markSending). */
    async markSending({ messageId }: { messageId: string }): Promise<void> {
      await markSending(db, messageId);
    },

    /**
     * Records the final outcome the workflow decided, then emits its webhook event; retried by
     * Temporal until both land (the event is deduplicated, the write is idempotent).
     */
    async recordOutcome(o: OutcomeInput): Promise<void> {
      await emitSendOutcome(db, emitEvent, await writeOutcome(db, o));
    },

    /**
     * A scheduled send as its workflow holds it: `queued` → `scheduled` once the workflow waits
     * (so the repair schedule, which starts `queued` rows, leaves it alone), and its new time
     * when it is rescheduled.
     */
    async recordSchedule({ messageId, scheduledAt }: { messageId: string; scheduledAt?: string }): Promise<void> {
      await db
        .update(messages)
        .set({
          ...(scheduledAt ? { scheduledAt: new Date(scheduledAt) } : {}),
          status: sql`case when ${messages.status} = 'queued' then 'scheduled' else ${messages.status} end`,
          updatedAt: new Date(),
        })
        .where(eq(messages.id, messageId));
    },
  };
}
