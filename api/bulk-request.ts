import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from '@hono/zod-openapi';
import { parseAddress } from '../mail/addresses.js';
import { dataOutOfBounds, MAX_DATA_BYTES, MAX_DATA_DEPTH, MAX_DATA_ITEMS } from '../mail/recipient-data.js';
import { MAX_BLOCK_NESTING, MAX_TEMPLATE_TAGS } from '../mail/template-subset.js';
import { compileTemplates, MAX_RENDERED_LENGTH, MAX_TEMPLATE_BYTES, TemplateError } from '../mail/templates.js';
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
  maxBulkBodyBytes: number;
}

export const recipientSchema = z.strictObject({
  email: z.string(),
  name: z.string().max(200).refine(noLineBreaks, 'must not contain line breaks').optional(),
  data: z
    .record(z.string(), z.unknown())
    .optional()
    .openapi({
      description:
        `Template variables ({{data.x}}): at most ${MAX_DATA_BYTES} bytes of JSON, ${MAX_DATA_DEPTH} levels deep, ` +
        `${MAX_DATA_ITEMS} items in a list or keys in an object`,
    }),
});

const template = (what: string) =>
  z
    .string()
    .min(1)
    .optional()
    .openapi({
      description:
        `${what} template: at most ${MAX_TEMPLATE_BYTES} bytes and ${MAX_TEMPLATE_TAGS} {{tags}}; {{variables}}, ` +
        `{{#if}}, {{#unless}}, {{else}}, {{#each}} (nested at most ${MAX_BLOCK_NESTING} deep), no other helpers, ` +
        `partials or decorators. Renders to at most ${MAX_RENDERED_LENGTH} characters per recipient.`,
    });

// Validation of a large bulk gives the event loop back this often, so other requests are not held.
const YIELD_EVERY_MS = 10;

/** The JSON body of `POST /v1/bulk`. Subject, html and text are Handlebars templates. */
export const bulkBody = z
  .strictObject({
    from: address,
    reply_to: addressList.optional(),
    subject,
    html: template('HTML'),
    text: template('Text'),
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

/** Validates the bulk and every recipient (address, data bounds, duplicates, template variables). */
export async function parseBulkRequest(
  body: unknown,
  files: AttachmentUpload[],
  limits: BulkLimits,
): Promise<BulkRequest> {
  const parsed = bulkBody.safeParse(body);
  if (!parsed.success) throw firstIssue(parsed.error);
  const b = parsed.data;
  if (b.recipients.length > limits.maxBulkRecipients)
    throw new RequestError(
      'recipients',
      `at most ${limits.maxBulkRecipients} recipients per bulk; got ${b.recipients.length}`,
    );
  // Templates first: an oversized template is named as such, not as an oversized message.
  let render;
  try {
    render = compileTemplates({ subject: b.subject, html: b.html, text: b.text });
  } catch (err) {
    if (err instanceof TemplateError) throw new RequestError(err.field, err.message);
    throw err;
  }

  const content = { html: b.html, text: b.text, attachments: [...decodeAttachments(b.attachments), ...files] };
  checkContentLimits(content, limits);

  const recipients: BulkRecipient[] = [];
  const rejected: Rejection[] = [];
  const seen = new Map<string, number>();
  let turn = performance.now();
  for (const [index, raw] of b.recipients.entries()) {
    if (performance.now() - turn > YIELD_EVERY_MS) {
      await nextTurn();
      turn = performance.now();
    }
    const reason = (() => {
      const r = recipientSchema.safeParse(raw);
      if (!r.success) return firstIssue(r.error).message;
      const dataProblem = r.data.data && dataOutOfBounds(r.data.data);
      if (dataProblem) return `data ${dataProblem}`;
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
  }

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
