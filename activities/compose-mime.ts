import { Context, log } from '@temporalio/activity';
import type { Db } from '../db/create-db.js';
import { bareAddress } from '../mail/addresses.js';
import { composeMime, loadAttachments, messageIdHeader } from '../delivery/compose.js';
import { mimeKey, type ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef } from '../workflows/contracts.js';
import { loadMessage, markSending } from './ledger.js';
import { isMissingObject, permanentInfrastructureError } from './infra-faults.js';

/** The composed message's S3 key and its SMTP envelope. */
export interface ComposedMime {
  key: string;
  envelope: { from: string; to: string[] };
}

interface ComposeInput {
  messageId: string;
  attachments: AttachmentRef[];
}

type MessageRow = NonNullable<Awaited<ReturnType<typeof loadMessage>>>;

/** Who the providers deliver to: every To, Cc and Bcc address, bare. */
export const envelopeOf = (m: MessageRow): ComposedMime['envelope'] => ({
  from: bareAddress(m.from),
  to: [...m.to, ...m.cc, ...m.bcc].map(bareAddress),
});

/** The row of a single send; gone is a fault retrying cannot fix. */
export async function messageRow(db: Db, messageId: string, attempt: number): Promise<MessageRow> {
  const message = await loadMessage(db, messageId);
  if (!message) throw permanentInfrastructureError(`message ${messageId} is not in the database`, attempt);
  return message;
}

/**
 * A single send's MIME bytes from its row and its stored attachments. A missing attachment object
 * or a message the composer refuses is a PermanentInfrastructureError; S3 being unreachable throws
 * as it is, to be retried.
 */
export async function composeMessage(
  objects: ObjectStore,
  message: MessageRow,
  attachments: AttachmentRef[],
  attempt: number,
): Promise<Buffer> {
  try {
    // Submitted as MIME: sent as stored at accept (Bcc already out of its headers).
    if (message.rawMimeKey) return await objects.get(message.rawMimeKey);
    const files = await loadAttachments(objects, attachments);
    return await composeMime(message, files, messageIdHeader(message.id, bareAddress(message.from)));
  } catch (err) {
    if (isMissingObject(err))
      throw permanentInfrastructureError(
        `could not compose: ${message.rawMimeKey ? 'the submitted message' : 'an attachment'} is missing from the object store`,
        attempt,
      );
    if (err instanceof Error && !('$metadata' in err))
      // the composer itself, not S3
      throw permanentInfrastructureError(`could not compose: ${err.message}`, attempt);
    throw err;
  }
}

/**
 * Builds the MIME once and stores it in S3, so provider retries and the SMTP failover send the very
 * same bytes (same Message-ID: receivers and our ledger see one message, not several).
 */
export function createComposeActivities({ db, objects }: { db: Db; objects: ObjectStore }) {
  async function compose({ messageId, attachments }: ComposeInput): Promise<ComposedMime> {
    const { attempt } = Context.current().info;
    const message = await messageRow(db, messageId, attempt);
    const envelope = envelopeOf(message);
    const key = mimeKey(messageId);
    if (await objects.exists(key)) return { key, envelope };
    const raw = await composeMessage(objects, message, attachments, attempt);
    await objects.put(key, raw, 'message/rfc822');
    log.info('composed MIME', { messageId, bytes: raw.byteLength, attachments: attachments.length });
    return { key, envelope };
  }

  return {
    composeMime: compose,

    /**
     * queued → sending, then the MIME composed and stored: one activity, so a send costs one
     * history round trip less. Safe to run twice (the MIME is stored once).
     */
    async prepareSend(input: ComposeInput): Promise<ComposedMime> {
      await markSending(db, input.messageId);
      return compose(input);
    },
  };
}
