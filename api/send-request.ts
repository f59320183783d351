import { z } from '@hono/zod-openapi';
import {
  address,
  addressList,
  attachments,
  checkContentLimits,
  checkSendWindow,
  decodeAttachments,
  firstIssue,
  headers,
  RequestError,
  sendWindow,
  subject,
  type AttachmentUpload,
  type Limits,
  type SendWindowRequest,
} from './fields.js';

const tagToken = /^[A-Za-z0-9_-]{1,256}$/;

/** The JSON body of `POST /v1/emails`. Unknown fields are rejected, not ignored. */
export const sendEmailBody = z
  .strictObject({
    from: address,
    to: addressList,
    cc: addressList.optional(),
    bcc: addressList.optional(),
    reply_to: addressList.optional(),
    subject,
    html: z.string().min(1).optional(),
    text: z.string().min(1).optional(),
    headers: headers.optional(),
    tags: z
      .record(
        z.string().regex(tagToken, 'tag name must be 1-256 of A-Z a-z 0-9 _ -'),
        z.string().regex(tagToken, 'must be 1-256 of A-Z a-z 0-9 _ -'),
      )
      .optional(),
    attachments: attachments.optional(),
    ...sendWindow,
  })
  .refine((b) => b.html !== undefined || b.text !== undefined, {
    path: ['html'],
    message: 'one of html or text is required',
  });

/** A validated send, attachments decoded: what the API stores and the workflow delivers. */
export interface SendRequest extends SendWindowRequest {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  html?: string;
  text?: string;
  headers: Record<string, string>;
  tags: Record<string, string>;
  attachments: AttachmentUpload[];
  /**
   * The message as submitted in MIME (see raw-request.ts): sent as it is. The fields above then
   * only describe it (records, search, envelope); html, text and attachments are empty.
   */
  raw?: Uint8Array;
}

/** Validates a body (JSON, or multipart turned into the same shape) and applies the size limits. */
export function parseSendRequest(body: unknown, files: AttachmentUpload[], limits: Limits): SendRequest {
  const parsed = sendEmailBody.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  const b = parsed.data;
  const request: SendRequest = {
    from: b.from,
    to: b.to,
    cc: b.cc ?? [],
    bcc: b.bcc ?? [],
    replyTo: b.reply_to ?? [],
    subject: b.subject,
    html: b.html,
    text: b.text,
    headers: b.headers ?? {},
    tags: b.tags ?? {},
    attachments: [...decodeAttachments(b.attachments), ...files],
    ...checkSendWindow(b, limits),
  };
  const recipients = request.to.length + request.cc.length + request.bcc.length;
  if (recipients > limits.maxRecipients)
    throw new RequestError(
      'to',
      `at most ${limits.maxRecipients} recipients (to + cc + bcc) per message; got ${recipients}`,
    );
  checkContentLimits(request, limits);
  return request;
}
