import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AttachmentRef } from '../workflows/contracts.js';

export interface MessageFields {
  from: string;
  to: string[];
  cc?: string[];
  /** Only ever used for the envelope: the composer leaves Bcc out of the headers. */
  bcc?: string[];
  replyTo?: string[];
  subject: string;
  html?: string | null;
  text?: string | null;
  headers?: Record<string, string>;
}

export interface AttachmentFile {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** Reads a send's attachments back from the object store, in order. */
export function loadAttachments(objects: ObjectStore, refs: AttachmentRef[]): Promise<AttachmentFile[]> {
  return Promise.all(
    refs.map(async (a) => ({ filename: a.filename, contentType: a.contentType, content: await objects.get(a.key) })),
  );
}

/** `<local@domain>` in the sender's domain: receivers thread on it, and our retries keep it. */
export function messageIdHeader(local: string, fromAddress: string): string {
  return `<${local}@${fromAddress.split('@')[1] ?? 'mailroom.local'}>`;
}

/**
 * The MIME bytes of one message: the only place Mailroom builds mail, for single sends and every
 * bulk copy alike. The Message-ID is the caller's, so every copy of one send carries the same one.
 */
export function composeMime(fields: MessageFields, files: AttachmentFile[], messageId: string): Promise<Buffer> {
  return new MailComposer({
    from: fields.from,
    to: fields.to,
    cc: fields.cc,
    bcc: fields.bcc,
    replyTo: fields.replyTo && fields.replyTo.length > 0 ? fields.replyTo : undefined,
    subject: fields.subject,
    html: fields.html ?? undefined,
    text: fields.text ?? undefined,
    headers: fields.headers,
    attachments: files,
    messageId,
  })
    .compile()
    .build();
}
