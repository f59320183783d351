import type { Db } from '../db/create-db.js';
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
  };
}
