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

/**
 * Builds the MIME once and stores it in S3, so provider retries and the SMTP failover send the very
 * same bytes (same Message-ID: receivers and our ledger see one message, not several).
 */
export function createComposeActivities({ db, objects }: { db: Db; objects: ObjectStore }) {
  async function compose({ messageId, attachments }: ComposeInput): Promise<ComposedMime> {
    const { attempt } = Context.current().info;
    const message = await loadMessage(db, messageId);
    if (!message) throw permanentInfrastructureError(`message ${messageId} is not in the database`, attempt);
    const envelope = {
      from: bareAddress(message.from),
      to: [...message.to, ...message.cc, ...message.bcc].map(bareAddress),
    };
    const key = mimeKey(messageId);
    if (await objects.exists(key)) return { key, envelope };

    let raw: Buffer;
    try {
      const files = await loadAttachments(objects, attachments);
      raw = await composeMime(message, files, messageIdHeader(messageId, envelope.from));
    } catch (err) {
      const reason = isMissingObject(err) ? 'an attachment is missing from the object store' : undefined;
      if (reason) throw permanentInfrastructureError(`could not compose: ${reason}`, attempt);
      if (err instanceof Error && !('$metadata' in err))
        // the composer itself, not S3
        throw permanentInfrastructureError(`could not compose: ${err.message}`, attempt);
      throw err;
    }
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
