// An SES v2 SendEmail request becomes Mailroom SendRequests: one per recipient, each validated by
// the same code as `POST /v1/emails` (Simple) or a raw MIME send (Raw). Errors name SES's fields.
import { z } from '@hono/zod-openapi';
import { bareAddress } from '../mail/addresses.js';
import { address, firstIssue, RequestError, type Limits } from './fields.js';
import { parseRawSend, rawCopyFor } from './raw-request.js';
import { parseSendRequest, sendEmailBody, type SendRequest } from './send-request.js';

/** The tag every copy of one SendEmail carries: `GET /v1/emails?tag=ses_request:<MessageId>`. */
export const SES_REQUEST_TAG = 'ses_request';

const text = z.strictObject({ Data: z.string(), Charset: z.string().optional() });
const nameValue = z.strictObject({ Name: z.string(), Value: z.string() });
const addresses = z.array(z.string()).optional();

/** The part of SES v2's SendEmail that Mailroom implements; any other field is refused by name. */
export const SesSendEmail = z
  .strictObject({
    FromEmailAddress: z.string().optional(),
    Destination: z.strictObject({ ToAddresses: addresses, CcAddresses: addresses, BccAddresses: addresses }).optional(),
    ReplyToAddresses: addresses,
    EmailTags: z.array(nameValue).optional(),
    Content: z
      .strictObject({
        Simple: z
          .strictObject({
            Subject: text,
            Body: z
              .strictObject({ Text: text.optional(), Html: text.optional() })
              .refine((b) => b.Text || b.Html, 'needs Html or Text'),
            Headers: z.array(nameValue).optional(),
            Attachments: z
              .array(
                z.strictObject({
                  FileName: z.string(),
                  RawContent: z.string().openapi({ description: 'Base64' }),
                  ContentType: z.string().optional(),
                  ContentDisposition: z.literal('ATTACHMENT').optional(),
                  ContentTransferEncoding: z.enum(['BASE64', 'QUOTED_PRINTABLE', 'SEVEN_BIT']).optional(),
                }),
              )
              .optional(),
          })
          .optional(),
        Raw: z.strictObject({ Data: z.string().openapi({ description: 'The MIME message, base64' }) }).optional(),
      })
      .refine((c) => (c.Simple ? 1 : 0) + (c.Raw ? 1 : 0) === 1, 'needs exactly one of Simple or Raw'),
  })
  .openapi('SesSendEmailRequest');

type SesSend = z.infer<typeof SesSendEmail>;

const supported =
  "Mailroom's SES endpoint takes FromEmailAddress, Destination, ReplyToAddresses, EmailTags and Content.Simple or Content.Raw";

/** The request's shape; a field SES has and Mailroom does not (Content.Template…) is named. */
function parseShape(body: unknown): SesSend {
  const parsed = SesSendEmail.safeParse(body);
  if (parsed.success) return parsed.data;
  const err = firstIssue(parsed.error);
  throw parsed.error.issues[0]!.code === 'unrecognized_keys'
    ? new RequestError(err.field, `${err.field} is not supported. ${supported}`)
    : err;
}

/** An error from the shared validation, renamed to the SES field it is about. */
function renamed(err: unknown, rename: (field: string) => string | undefined): unknown {
  if (!(err instanceof RequestError)) return err;
  const ses = rename(err.field);
  if (!ses) return err;
  const message = err.message.startsWith(err.field) ? `${ses}${err.message.slice(err.field.length)}` : err.message;
  return new RequestError(ses, message, err.tooLarge);
}

function listToRecord(list: { Name: string; Value: string }[] | undefined, field: string) {
  const record: Record<string, string> = {};
  for (const [i, { Name, Value }] of (list ?? []).entries()) {
    if (Object.hasOwn(record, Name))
      throw new RequestError(`${field}[${i}]`, `${field}[${i}] repeats the name ${Name}`);
    record[Name] = Value;
  }
  return record;
}

/**
 * Validates a SendEmail body and splits it into one SendRequest per distinct recipient (To, Cc and
 * Bcc alike), each tagged `ses_request=<messageId>`. Throws RequestError naming SES's field.
 */
export async function sesSendRequests(body: unknown, messageId: string, limits: Limits): Promise<SendRequest[]> {
  const send = parseShape(body);
  const d = send.Destination ?? {};
  const recipients = (['ToAddresses', 'CcAddresses', 'BccAddresses'] as const).flatMap((group) =>
    (d[group] ?? []).map((value, j) => ({ value, field: `Destination.${group}[${j}]` })),
  );
  const tags = listToRecord(send.EmailTags, 'EmailTags');
  if (Object.hasOwn(tags, SES_REQUEST_TAG))
    throw new RequestError('EmailTags', `EmailTags: ${SES_REQUEST_TAG} is set by Mailroom on every copy`);
  const tagNames = Object.keys(tags);
  const checkedTags = sendEmailBody.shape.tags.safeParse(tags);
  if (!checkedTags.success) {
    const issue = checkedTags.error.issues[0]!;
    const i = tagNames.indexOf(String(issue.path[0]));
    throw new RequestError(`EmailTags[${i}]`, `EmailTags[${i}] ${issue.message}`);
  }
  const allTags = { ...tags, [SES_REQUEST_TAG]: messageId };

  return send.Content.Raw
    ? rawCopies(send, send.Content.Raw.Data, recipients, allTags, messageId, limits)
    : simpleCopies(send, recipients, allTags, limits);
}

function simpleCopies(
  send: SesSend,
  recipients: { value: string; field: string }[],
  tags: Record<string, string>,
  limits: Limits,
): SendRequest[] {
  const simple = send.Content.Simple!;
  const headerNames = (simple.Headers ?? []).map((h) => h.Name);
  const attachmentFields: Record<string, string> = {
    filename: 'FileName',
    content: 'RawContent',
    content_type: 'ContentType',
  };
  let request: SendRequest;
  try {
    request = parseSendRequest(
      {
        from: send.FromEmailAddress,
        to: recipients.map((r) => r.value),
        ...(send.ReplyToAddresses?.length ? { reply_to: send.ReplyToAddresses } : {}),
        subject: simple.Subject.Data,
        html: simple.Body.Html?.Data,
        text: simple.Body.Text?.Data,
        headers: listToRecord(simple.Headers, 'Content.Simple.Headers'),
        tags,
        attachments: simple.Attachments?.map((a) => ({
          filename: a.FileName,
          content: a.RawContent,
          ...(a.ContentType ? { content_type: a.ContentType } : {}),
        })),
      },
      [],
      limits,
    );
  } catch (err) {
    throw renamed(err, (field) => {
      const [head, ...rest] = field.split(/(?=[[.])/);
      const tail = rest.join('');
      const index = Number(/^\[(\d+)\]/.exec(tail)?.[1]);
      switch (head) {
        case 'from':
          return 'FromEmailAddress';
        case 'to':
          return Number.isNaN(index) ? 'Destination' : recipients[index]!.field;
        case 'reply_to':
          return `ReplyToAddresses${tail}`;
        case 'subject':
          return 'Content.Simple.Subject.Data';
        case 'html':
          return 'Content.Simple.Body.Html.Data';
        case 'text':
          return 'Content.Simple.Body.Text.Data';
        case 'headers': {
          const name = tail.slice(1);
          return name ? `Content.Simple.Headers[${headerNames.indexOf(name)}]` : 'Content.Simple.Headers';
        }
        case 'tags':
          return 'EmailTags';
        case 'attachments': {
          const member = /^\[\d+\]\.(\w+)/.exec(tail)?.[1];
          return `Content.Simple.Attachments${Number.isNaN(index) ? '' : `[${index}]`}${member ? `.${attachmentFields[member] ?? member}` : ''}`;
        }
        default:
          return undefined;
      }
    });
  }
  return distinct(request.to).map((to) => ({ ...request, to: [to], cc: [], bcc: [] }));
}

async function rawCopies(
  send: SesSend,
  data: string,
  recipients: { value: string; field: string }[],
  tags: Record<string, string>,
  messageId: string,
  limits: Limits,
): Promise<SendRequest[]> {
  const field = 'Content.Raw.Data';
  if (send.ReplyToAddresses?.length)
    throw new RequestError(
      'ReplyToAddresses',
      'ReplyToAddresses: with Content.Raw, set a Reply-To header in the message',
    );
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data))
    throw new RequestError(field, `${field} is not valid base64`);
  const envelope = recipients.map((r) => {
    const parsed = address.safeParse(r.value);
    if (!parsed.success) throw new RequestError(r.field, `${r.field} ${parsed.error.issues[0]!.message}`);
    return bareAddress(parsed.data);
  });
  const message = await parseRawSend(
    Buffer.from(data, 'base64'),
    messageId,
    // SES sends a raw message to Destination when it is given, whatever its headers say.
    { field, tags, ...(envelope.length ? { envelopeTo: envelope } : {}) },
    limits,
  );
  if (send.FromEmailAddress !== undefined) {
    const from = address.safeParse(send.FromEmailAddress);
    if (!from.success) throw new RequestError('FromEmailAddress', `FromEmailAddress ${from.error.issues[0]!.message}`);
    if (bareAddress(from.data).toLowerCase() !== bareAddress(message.request.from).toLowerCase())
      throw new RequestError(
        'FromEmailAddress',
        `FromEmailAddress differs from the message's From (${bareAddress(message.request.from)}); Mailroom sends as the From header`,
      );
  }
  const r = message.request;
  return distinct([...r.to, ...r.cc, ...r.bcc]).map((to) => rawCopyFor(message, to));
}

/** Each address once (by its bare address, case-insensitively), in order. */
function distinct(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const key = bareAddress(a).toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
