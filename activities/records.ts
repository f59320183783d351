import type { Db } from '../db/create-db.js';
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
      await emitSendOutcome(emitEvent, await writeOutcome(db, o));
    },
  };
}
