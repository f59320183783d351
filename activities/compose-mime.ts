import { ApplicationFailure, log } from '@temporalio/activity';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Db } from '../db/create-db.js';
import { mimeKey, type ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef } from '../workflows/contracts.js';
import { bareAddress } from '../mail/addresses.js';
import { loadMessage } from './ledger.js';

/** The composed message's S3 key and its SMTP envelope. */
export interface ComposedMime {
  key: string;
  envelope: { from: string; to: string[] };
}

/**
 * Builds the MIME once and stores it in S3, so SES retries and the SMTP failover send the very
 * same bytes (same Message-ID: receivers and our ledger see one message, not several).
 */
export function createComposeActivities({ db, objects }: { db: Db; objects: ObjectStore }) {
  return {
    async composeMime({
      messageId,
      attachments,
    }: {
      messageId: string;
      attachments: AttachmentRef[];
    }): Promise<ComposedMime> {
      const message = await loadMessage(db, messageId);
      if (!message)
        throw ApplicationFailure.nonRetryable(`message ${messageId} is not in the database`, 'MessageMissing');
      const envelope = {
        from: bareAddress(message.from),
        to: [...message.to, ...message.cc, ...message.bcc].map(bareAddress),
      };
      const key = mimeKey(messageId);
      if (await objects.exists(key)) return { key, envelope };

      const files = await Promise.all(
        attachments.map(async (a) => ({
          filename: a.filename,
          contentType: a.contentType,
          content: await objects.get(a.key),
        })),
      );
      const domain = envelope.from.split('@')[1] ?? 'mailroom.local';
      const raw = await new MailComposer({
        from: message.from,
        to: message.to,
        cc: message.cc,
        bcc: message.bcc, // used for nothing but the envelope: the composer leaves Bcc out of headers
        replyTo: message.replyTo.length > 0 ? message.replyTo : undefined,
        subject: message.subject,
        html: message.html ?? undefined,
        text: message.text ?? undefined,
        headers: message.headers,
        attachments: files,
        messageId: `<${messageId}@${domain}>`,
      })
        .compile()
        .build();
      await objects.put(key, raw, 'message/rfc822');
      log.info('composed MIME', { messageId, bytes: raw.byteLength, attachments: files.length });
      return { key, envelope };
    },
  };
}
