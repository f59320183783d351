import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { messages } from '../db/schema.js';
import { markSending, writeOutcome, type OutcomeInput } from './ledger.js';

/** Status writes to the messages read model. Each is a plain UPDATE, safe to run twice. */
export function createRecordActivities({ db }: { db: Db }) {
  return {
    /** Workflows started before `prepareSend` existed: queued → sending (see ledger's markSending). */
    async markSending({ messageId }: { messageId: string }): Promise<void> {
      await markSending(db, messageId);
    },

    /** Records the final outcome the workflow decided; retried by Temporal until it lands. */
    async recordOutcome(o: OutcomeInput): Promise<void> {
      await writeOutcome(db, o);
    },

    /**
     * A scheduled send's time, as its workflow holds it: `queued` → `scheduled` when the workflow
     * starts waiting (so the repair schedule, which starts `queued` rows, leaves it alone), and
     * the new time when it is rescheduled.
     */
    async recordSchedule({ messageId, scheduledAt }: { messageId: string; scheduledAt: string }): Promise<void> {
      await db
        .update(messages)
        .set({
          scheduledAt: new Date(scheduledAt),
          status: sql`case when ${messages.status} = 'queued' then 'scheduled' else ${messages.status} end`,
          updatedAt: new Date(),
        })
        .where(eq(messages.id, messageId));
    },
  };
}
