import { parse as parseCsv } from 'csv-parse/sync';
import { z } from '@hono/zod-openapi';
import { parseAddress } from '../mail/addresses.js';
import { compileTemplates, TemplateError } from '../mail/templates.js';
import {
  address,
  addressList,
  attachments,
  checkContentLimits,
  checkSendWindow,
  decodeAttachments,
  firstIssue,
  headers,
  noLineBreaks,
  RequestError,
  sendWindow,
  subject,
  type AttachmentUpload,
  type Limits,
  type Rejection,
  type SendWindowRequest,
} from './fields.js';

export interface BulkLimits extends Limits {
  maxBulkRecipients: number;
}

export const recipientSchema = z.strictObject({
  email: z.string(),
  name: z.string().max(200).refine(noLineBreaks, 'must not contain line breaks').optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});

/** The JSON body of `POST /v1/bulk`. Subject, html and text are Handlebars templates. */
export const bulkBody = z
  .strictObject({
    from: address,
    reply_to: addressList.optional(),
    subject,
    html: z.string().min(1).optional(),
    text: z.string().min(1).optional(),
    headers: headers.optional(),
    attachments: attachments.optional(),
    // Each recipient is checked on its own (recipientSchema), so `lenient` can skip the bad ones.
    recipients: z
      .array(z.unknown().openapi({ allOf: [{ $ref: '#/components/schemas/BulkRecipientInput' }] }))
      .min(1, 'must list at least one recipient'),
    /** Messages per second for this bulk; capped by the SES quota. Default: the quota. */
    rate_per_second: z.number().int().min(1).max(10_000).optional(),
    /** strict: any bad recipient refuses the whole request; lenient: bad ones are skipped and reported. */
    mode: z.enum(['strict', 'lenient']).default('strict'),
    ...sendWindow,
  })
  .refine((b) => b.html !== undefined || b.text !== undefined, {
    path: ['html'],
    message: 'one of html or text is required',
  });

export interface BulkRecipient {
  email: string;
  name?: string;
  data: Record<string, unknown>;
}

export interface BulkRequest extends SendWindowRequest {
  from: string;
  replyTo: string[];
  subject: string;
  html?: string;
  text?: string;
  headers: Record<string, string>;
  attachments: AttachmentUpload[];
  ratePerSecond?: number;
  mode: 'strict' | 'lenient';
  recipients: BulkRecipient[];
  rejected: Rejection[];
}

/** `email,name,<data columns>` with a header row; every other column lands in `data`. */
export function recipientsFromCsv(text: string): unknown[] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new RequestError('recipients', `recipients CSV does not parse: ${(err as Error).message}`);
  }
  if (rows.length > 0 && !('email' in rows[0]!))
    throw new RequestError('recipients', 'recipients CSV needs an "email" column');
  return rows.map(({ email, name, ...data }) => ({ email, ...(name ? { name } : {}), data }));
}

/** Validates the bulk and every recipient (address, duplicates, template variables). */
export function parseBulkRequest(body: unknown, files: AttachmentUpload[], limits: BulkLimits): BulkRequest {
  const parsed = bulkBody.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  const b = parsed.data;
  if (b.recipients.length > limits.maxBulkRecipients)
    throw new RequestError(
      'recipients',
      `at most ${limits.maxBulkRecipients} recipients per bulk; got ${b.recipients.length}`,
    );
  const content = { html: b.html, text: b.text, attachments: [...decodeAttachments(b.attachments), ...files] };
  checkContentLimits(content, limits);

  let render;
  try {
    render = compileTemplates({ subject: b.subject, html: b.html, text: b.text });
  } catch (err) {
    if (err instanceof TemplateError) throw new RequestError(err.field, err.message);
    throw err;
  }

  const recipients: BulkRecipient[] = [];
  const rejected: Rejection[] = [];
  const seen = new Map<string, number>();
  b.recipients.forEach((raw, index) => {
    const reason = (() => {
      const r = recipientSchema.safeParse(raw);
      if (!r.success) return firstIssue(r.error).message;
      const addr = parseAddress(r.data.email);
      if ('error' in addr) return `email ${addr.error}`;
      if (addr.name) return 'email must be a bare address; put the display name in name';
      // Addresses differ only in case in practice never; one person gets one copy.
      const key = addr.address.toLowerCase();
      if (seen.has(key)) return `duplicate of recipients[${seen.get(key)}]`;
      const recipient = { email: addr.address, ...(r.data.name ? { name: r.data.name } : {}), data: r.data.data ?? {} };
      try {
        render(recipient);
      } catch (err) {
        if (err instanceof TemplateError) return err.message;
        throw err;
      }
      seen.set(key, index);
      recipients.push(recipient);
      return undefined;
    })();
    if (reason) rejected.push({ index, reason });
  });

  if (b.mode === 'strict' && rejected.length > 0) {
    const first = rejected[0]!;
    throw new RequestError(
      `recipients[${first.index}]`,
      `${rejected.length} recipient(s) rejected; first: recipients[${first.index}] ${first.reason}`,
      false,
      rejected.slice(0, 100),
    );
  }
  if (recipients.length === 0)
    throw new RequestError('recipients', 'no valid recipient', false, rejected.slice(0, 100));
  return {
    from: b.from,
    replyTo: b.reply_to ?? [],
    subject: b.subject,
    html: b.html,
    text: b.text,
    headers: b.headers ?? {},
    attachments: content.attachments,
    ratePerSecond: b.rate_per_second,
    mode: b.mode,
    recipients,
    rejected,
    ...checkSendWindow(b, limits),
  };
}
