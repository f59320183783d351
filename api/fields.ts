// Request pieces shared by `POST /v1/emails` and `POST /v1/bulk`, and how their errors name fields.
import { z } from '@hono/zod-openapi';
import { formatAddress, parseAddress } from '../mail/addresses.js';
import type { JsonBounds } from './duplicate-keys.js';

export const noLineBreaks = (v: string) => !/[\r\n\0]/.test(v);

export const address = z
  .string()
  .transform((v, ctx) => {
    const parsed = parseAddress(v);
    if ('error' in parsed) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v.slice(0, 100))} ${parsed.error}` });
      return z.NEVER;
    }
    return formatAddress(parsed);
  })
  .openapi({ description: '`a@example.com` or `Name <a@example.com>`', examples: ['Ada <ada@example.com>'] });

/** One address or a non-empty list of them; an error names the bad element (`to[1]`). */
export const addressList = z
  .unknown()
  .transform((v, ctx) => {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must be an address or a non-empty list of addresses' });
      return z.NEVER;
    }
    const out: string[] = [];
    list.forEach((item, i) => {
      const r = address.safeParse(item);
      if (r.success) out.push(r.data);
      else
        ctx.addIssue({ code: 'custom', path: typeof v === 'string' ? [] : [i], message: r.error.issues[0]!.message });
    });
    return out;
  })
  .openapi({
    oneOf: [
      { type: 'string', description: 'One address: `a@example.com` or `Name <a@example.com>`' },
      { type: 'array', items: { type: 'string' }, minItems: 1 },
    ],
  });

export const subject = z.string().min(1).max(998).refine(noLineBreaks, 'must not contain line breaks');

// Headers Mailroom writes itself; letting callers set them would let them forge recipients or break MIME.
const reservedHeaders = new Set(
  'from to cc bcc reply-to subject date message-id sender mime-version content-type content-transfer-encoding content-disposition return-path'.split(
    ' ',
  ),
);
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;
/** Most custom headers on one message. */
export const MAX_HEADERS = 50;
/** RFC 5322's line limit. Callers cannot fold (CR/LF is refused), so `Name: value` is one line. */
const MAX_HEADER_LINE = 998;

export const headers = z
  .record(
    z.string(),
    z
      .string()
      .max(MAX_HEADER_LINE, `must be at most ${MAX_HEADER_LINE} characters`)
      .refine(noLineBreaks, 'must not contain line breaks'),
  )
  .superRefine((h, ctx) => {
    const names = Object.keys(h);
    if (names.length > MAX_HEADERS)
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_HEADERS} headers; got ${names.length}` });
    for (const name of names.slice(0, MAX_HEADERS + 1)) {
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
      if (!headerName.test(name)) issue('is not a valid header name');
      else if (reservedHeaders.has(name.toLowerCase())) issue('is set by Mailroom and cannot be overridden');
      // SES acts on these in raw mail (sending identity ARNs, configuration set): a caller could
      // send as another identity or redirect event publishing.
      else if (/^x-ses-/i.test(name)) issue('is an SES control header (X-SES-*) and cannot be set');
      else if (name.length + 2 + h[name]!.length > MAX_HEADER_LINE)
        issue(`${name}: value must fit one ${MAX_HEADER_LINE}-character line with its name`);
    }
  })
  .openapi({
    description:
      `Custom headers, at most ${MAX_HEADERS}; each \`Name: value\` fits one ${MAX_HEADER_LINE}-character line ` +
      '(no line breaks). Headers Mailroom writes (From, To, Subject, Content-Type…) and every `X-SES-*` are refused.',
  });

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A file name, never a path: it ends up in a MIME header and in operators' downloads. */
export const isPlainFilename = (name: string) =>
  name.length > 0 && name.length <= 255 && !/[\r\n\0/\\]/.test(name) && name !== '.' && name !== '..';

export const attachments = z.array(
  z.strictObject({
    filename: z.string().refine(isPlainFilename, 'must be a plain file name (no path, no line breaks, 1-255 chars)'),
    /** Base64 (standard alphabet, padded). */
    content: z
      .string()
      .min(1)
      .refine((c) => c.length % 4 === 0 && base64.test(c), 'is not valid base64'),
    content_type: z
      .string()
      .max(255)
      .regex(/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/, 'must look like type/subtype')
      .optional(),
  }),
);

export interface AttachmentUpload {
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

export function decodeAttachments(list: z.output<typeof attachments> | undefined): AttachmentUpload[] {
  return (list ?? []).map((a) => ({
    filename: a.filename,
    contentType: a.content_type ?? 'application/octet-stream',
    bytes: Buffer.from(a.content, 'base64'),
  }));
}

export interface Limits {
  maxRecipients: number;
  maxMessageBytes: number;
  maxAttachments: number;
  maxScheduleAheadMs: number;
}

const instant = (description: string) =>
  z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a zone (Z or +hh:mm)' })
    .optional()
    .openapi({ description });

/** The fields both send kinds take to choose when they go out. */
export const sendWindow = {
  scheduled_at: instant(
    'Send no earlier than this (at most MAX_SCHEDULE_AHEAD_DAYS ahead); status `scheduled` until then',
  ),
  not_after: instant('If the send cannot start by then (workers down, a bulk paused), it ends `expired`, unsent'),
};

export interface SendWindowRequest {
  scheduledAt?: Date;
  notAfter?: Date;
}

/** Checks the window against now; a time already past sends at once. */
export function checkSendWindow(
  b: { scheduled_at?: string; not_after?: string },
  limits: Limits,
  now = Date.now(),
): SendWindowRequest {
  const scheduledAt = b.scheduled_at ? new Date(b.scheduled_at) : undefined;
  const notAfter = b.not_after ? new Date(b.not_after) : undefined;
  if (scheduledAt && scheduledAt.getTime() > now + limits.maxScheduleAheadMs)
    throw new RequestError(
      'scheduled_at',
      `scheduled_at must be at most ${Math.round(limits.maxScheduleAheadMs / 86_400_000)} days ahead`,
    );
  if (notAfter && notAfter.getTime() <= Math.max(now, scheduledAt?.getTime() ?? 0))
    throw new RequestError('not_after', 'not_after must be later than now and than scheduled_at');
  return {
    ...(scheduledAt && scheduledAt.getTime() > now ? { scheduledAt } : {}),
    ...(notAfter ? { notAfter } : {}),
  };
}

export interface Rejection {
  index: number;
  reason: string;
}

/** Bad input, naming the field; `tooLarge` makes it a 413; `rejected` lists bad bulk recipients. */
export class RequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly tooLarge = false,
    readonly rejected?: Rejection[],
  ) {
    super(message);
  }
}

/**
 * Longest string of a JSON send outside its bodies and attachments: 50 recipients with long
 * display names in one `to` string fit; a 300 KB address does not reach JSON.parse.
 */
export const MAX_JSON_STRING = 64 * 1024;

/**
 * The scan's bounds for a JSON send (single or bulk): `bodyChars` for html and text, attachments
 * as base64 of at most maxMessageBytes, MAX_JSON_STRING elsewhere; lists of at most `maxItems`.
 */
export function jsonBounds(limits: Limits, o: { bodyChars: number; maxItems: number }): JsonBounds {
  const maxContent = Math.ceil((limits.maxMessageBytes * 4) / 3) + 4;
  return {
    maxItems: Math.max(o.maxItems, limits.maxRecipients, limits.maxAttachments),
    maxString: (path) =>
      path === 'html' || path === 'text'
        ? o.bodyChars
        : /^attachments\[\d+\]\.content$/.test(path)
          ? maxContent
          : MAX_JSON_STRING,
  };
}

/** Attachment count and total size, shared by both send kinds. */
export function checkContentLimits(
  c: { html?: string | null; text?: string | null; attachments: AttachmentUpload[] },
  limits: Limits,
) {
  if (c.attachments.length > limits.maxAttachments)
    throw new RequestError(
      'attachments',
      `at most ${limits.maxAttachments} attachments per message; got ${c.attachments.length}`,
    );
  const size =
    c.attachments.reduce((n, a) => n + a.bytes.byteLength, 0) +
    Buffer.byteLength(c.html ?? '') +
    Buffer.byteLength(c.text ?? '');
  if (size > limits.maxMessageBytes)
    throw new RequestError('attachments', `message is ${size} bytes; the limit is ${limits.maxMessageBytes}`, true);
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
  // zod reports a missing field as an invalid_type that "received undefined".
  const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
  const message = missing ? 'is required' : issue.message;
  return new RequestError(field, `${field} ${message}`);
}
