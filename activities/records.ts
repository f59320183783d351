import { eq } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { messages, type Provider } from '../db/schema.js';
import { markSending, recordAttempt, type AttemptRecord } from './ledger.js';

export interface OutcomeInput {
  messageId: string;
  status: 'sent' | 'failed' | 'unknown';
  provider?: Provider;
  providerMessageId?: string;
  error?: string;
  /** The provider call that decided it: written here too, in case the delivery step could not. */
  attempt?: AttemptRecord;
}

/** Status writes to the messages read model. Each is a plain UPDATE, safe to run twice. */
export function createRecordActivities({ db }: { db: Db }) {
  return {
    /** Workflows started before `prepareSend` existed: queued → sending (see ledger's markSending). */
    async markSending({ messageId }: { messageId: string }): Promise<void> {
      await markSending(db, messageId);
    },

    /** Records the final outcome the workflow decided; retried by Temporal until it lands. */
    async recordOutcome(o: OutcomeInput): Promise<void> {
      if (o.attempt) await recordAttempt(db, o.attempt);
      const now = new Date();
      await db
        .update(messages)
        .set({
          status: o.status,
          provider: o.provider ?? null,
          providerMessageId: o.providerMessageId ?? null,
          lastError: o.error ?? null,
          sentAt: o.status === 'sent' ? now : null,
          updatedAt: now,
        })
        .where(eq(messages.id, o.messageId));
    },
  };
}
