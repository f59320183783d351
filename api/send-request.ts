import { z } from 'zod';
import { formatAddress, parseAddress } from '../mail/addresses.js';

export interface Limits {
  maxRecipients: number;
  maxMessageBytes: number;
  maxAttachments: number;
}

const noLineBreaks = (v: string) => !/[\r\n\0]/.test(v);

const address = z.string().transform((v, ctx) => {
  const parsed = parseAddress(v);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v.slice(0, 100))} ${parsed.error}` });
    return z.NEVER;
  }
  return formatAddress(parsed);
});
const addressList = z.union([address.transform((a) => [a]), z.array(address).min(1)]);

// Headers Mailroom writes itself; letting callers set them would let them forge recipients or break MIME.
const reservedHeaders = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'sender',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'return-path',
]);
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;
const tagToken = /^[A-Za-z0-9_-]{1,256}$/;

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

const attachmentJson = z.strictObject({
  filename: z.string().min(1).max(255),
  /** Base64 (standard alphabet, padded). */
  content: z.string().min(1),
  content_type: z
    .string()
    .regex(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/, 'must look like type/subtype')
    .optional(),
});

/** The JSON body of `POST /v1/emails`. Unknown fields are rejected, not ignored. */
export const sendEmailBody = z
  .strictObject({
    from: address,
    to: addressList,
    cc: addressList.optional(),
    bcc: addressList.optional(),
    reply_to: addressList.optional(),
    subject: z.string().min(1).max(998).refine(noLineBreaks, 'must not contain line breaks'),
    html: z.string().min(1).optional(),
    text: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string().max(2000).refine(noLineBreaks, 'must not contain line breaks')).optional(),
    tags: z.record(z.string(), z.string().regex(tagToken, 'must be 1-256 of A-Z a-z 0-9 _ -')).optional(),
    attachments: z.array(attachmentJson).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.html === undefined && b.text === undefined)
      ctx.addIssue({ code: 'custom', path: ['html'], message: 'one of html or text is required' });
    for (const name of Object.keys(b.headers ?? {})) {
      if (!headerName.test(name))
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'is not a valid header name' });
      else if (reservedHeaders.has(name.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: ['headers', name],
          message: 'is set by Mailroom and cannot be overridden',
        });
    }
    for (const name of Object.keys(b.tags ?? {})) {
      if (!tagToken.test(name))
        ctx.addIssue({ code: 'custom', path: ['tags', name], message: 'tag name must be 1-256 of A-Z a-z 0-9 _ -' });
    }
    b.attachments?.forEach((a, i) => {
      if (/[\r\n\0/\\]/.test(a.filename) || a.filename === '.' || a.filename === '..')
        ctx.addIssue({ code: 'custom', path: ['attachments', i, 'filename'], message: 'must be a plain file name' });
      if (a.content.length % 4 !== 0 || !base64.test(a.content))
        ctx.addIssue({ code: 'custom', path: ['attachments', i, 'content'], message: 'is not valid base64' });
    });
  });

export type SendEmailBody = z.output<typeof sendEmailBody>;

export interface AttachmentUpload {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

/** A validated send, attachments decoded: what the API stores and the workflow delivers. */
export interface SendRequest {
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
}

export class RequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** `['attachments', 0, 'content']` → `attachments[0].content`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

export function firstIssue(error: z.ZodError): RequestError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = fieldPath([...issue.path, issue.keys[0]!]);
    return new RequestError(field, `unknown field ${JSON.stringify(field)}`);
  }
  const field = fieldPath(issue.path) || 'body';
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
  return new RequestError(field, `${field} ${message}`);
}

/** Validates a body (JSON, or multipart turned into the same shape) and applies the size limits. */
export function parseSendRequest(body: unknown, files: AttachmentUpload[], limits: Limits): SendRequest {
  const parsed = sendEmailBody.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  const b = parsed.data;
  const attachments = [
    ...(b.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.content_type ?? 'application/octet-stream',
      bytes: Buffer.from(a.content, 'base64'),
    })),
    ...files,
  ];
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
    attachments,
  };
  const recipients = request.to.length + request.cc.length + request.bcc.length;
  if (recipients > limits.maxRecipients)
    throw new RequestError(
      'to',
      `at most ${limits.maxRecipients} recipients (to + cc + bcc) per message; got ${recipients}`,
    );
  if (attachments.length > limits.maxAttachments)
    throw new RequestError(
      'attachments',
      `at most ${limits.maxAttachments} attachments per message; got ${attachments.length}`,
    );
  const size =
    attachments.reduce((n, a) => n + a.bytes.byteLength, 0) +
    Buffer.byteLength(request.html ?? '') +
    Buffer.byteLength(request.text ?? '');
  if (size > limits.maxMessageBytes)
    throw new RequestError('attachments', `message is ${size} bytes; the limit is ${limits.maxMessageBytes}`, true);
  return request;
}
