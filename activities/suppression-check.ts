import { eq } from 'drizzle-orm';
import type { Db } from '../db/create-db.js';
import { messages } from '../db/schema.js';
import { suppressedAmong } from '../db/suppressions.js';
import type { OutgoingMessage } from '../delivery/ses.js';

/**
 * A single send's message without the envelope recipients its tenant has suppressed, who are
 * listed on its row (not in workflow history); undefined when none is left to send to. The bulk
 * path makes the same check (db/suppressions.ts suppressedSql) in the statement that hands each
 * recipient to a provider.
 */
export async function dropSuppressed(
  db: Db,
  messageId: string,
  message: OutgoingMessage,
): Promise<OutgoingMessage | undefined> {
  const suppressed = await suppressedAmong(db, { messageId }, message.envelope.to);
  if (suppressed.size === 0) return message;
  const isSuppressed = (a: string) => suppressed.has(a.toLowerCase());
  await db
    .update(messages)
    .set({ suppressedRecipients: message.envelope.to.filter(isSuppressed), updatedAt: new Date() })
    .where(eq(messages.id, messageId));
  const to = message.envelope.to.filter((a) => !isSuppressed(a));
  return to.length > 0 ? { ...message, envelope: { ...message.envelope, to } } : undefined;
}
