// A message submitted as MIME becomes the same SendRequest as a JSON send: the same address rules,
// limits and reserved headers, then the same accept path. Only its bytes are kept as submitted.
import { simpleParser, type AddressObject, type EmailAddress } from 'mailparser';
import { encodeWord } from 'nodemailer/lib/mime-funcs';
import { bareAddress, formatAddress, parseAddress } from '../mail/addresses.js';
import { messageIdHeader } from '../delivery/compose.js';
import { editHeaders, fieldName, splitMime, type SplitMime } from '../mail/raw-mime.js';
import { address, RequestError, type Limits } from './fields.js';
import type { SendRequest } from './send-request.js';

export interface RawSendOptions {
  /** The field errors name (`Content.Raw.Data`, `message`). */
  field: string;
  /** SMTP's envelope: who receives it, whatever the headers say; Bcc is whoever is not in To or Cc. */
  envelopeTo?: string[];
  tags?: Record<string, string>;
}

/** A raw send's parsed header section and its bytes, before it is split into copies or sent whole. */
export interface RawMessage {
  request: SendRequest;
  mime: SplitMime;
}

const flatten = (a: AddressObject | AddressObject[] | undefined): EmailAddress[] =>
  (Array.isArray(a) ? a : a ? [a] : [])
    .flatMap((o) => o.value)
    .flatMap((v) => (v.group ? v.group : [v]))
    .filter((v) => v.address);

function addresses(list: EmailAddress[], field: string, header: string): string[] {
  return list.map((a, i) => {
    const parsed = address.safeParse(a.name ? formatAddress({ name: a.name, address: a.address! }) : a.address!);
    if (!parsed.success)
      throw new RequestError(field, `${field} ${header} address ${i + 1} ${parsed.error.issues[0]!.message}`);
    return parsed.data;
  });
}

/** A header value for an address we write (a copy's To): a display name not in ASCII is MIME-encoded. */
export function headerAddress(addr: string): string {
  const bare = bareAddress(addr);
  const parsed = parseAddress(addr);
  const name = 'error' in parsed ? undefined : parsed.name;
  if (!name) return bare;
  return /^[\x20-\x7e]*$/.test(name)
    ? formatAddress({ name, address: bare })
    : `${encodeWord(name, 'Q', 52)} <${bare}>`;
}

/**
 * Reads the header section of a submitted message (the body is not parsed) and checks it as the
 * API checks fields. Bcc and Return-Path never leave as headers; a Message-ID and Date are added
 * when missing, so provider retries and the SMTP failover send one message.
 */
export async function parseRawSend(
  raw: Uint8Array,
  id: string,
  opts: RawSendOptions,
  limits: Limits,
): Promise<RawMessage> {
  const { field } = opts;
  if (raw.byteLength > limits.maxMessageBytes)
    throw new RequestError(field, `message is ${raw.byteLength} bytes; the limit is ${limits.maxMessageBytes}`, true);
  const mime = splitMime(raw);
  if ('error' in mime) throw new RequestError(field, `${field} ${mime.error}`);
  const controlHeader = mime.fields.find((f) => fieldName(f).startsWith('x-ses-'));
  if (controlHeader)
    throw new RequestError(field, `${field} header ${fieldName(controlHeader)} is an SES control header (X-SES-*)`);

  const head = await simpleParser(Buffer.from(`${mime.fields.join('\r\n')}\r\n\r\n`, 'latin1'), {
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
  });
  const from = addresses(flatten(head.from), field, 'From');
  if (from.length !== 1)
    throw new RequestError(field, `${field} needs exactly one From address; it has ${from.length}`);
  let to = addresses(flatten(head.to), field, 'To');
  let cc = addresses(flatten(head.cc), field, 'Cc');
  let bcc = addresses(flatten(head.bcc), field, 'Bcc');
  if (opts.envelopeTo) {
    const envelope = new Set(opts.envelopeTo.map((a) => a.toLowerCase()));
    const inEnvelope = (a: string) => envelope.has(bareAddress(a).toLowerCase());
    to = to.filter(inEnvelope);
    cc = cc.filter(inEnvelope);
    const shown = new Set([...to, ...cc].map((a) => bareAddress(a).toLowerCase()));
    bcc = opts.envelopeTo.filter((a) => !shown.has(a.toLowerCase()));
  }
  const recipients = to.length + cc.length + bcc.length;
  if (recipients === 0) throw new RequestError(field, `${field} has no recipient (To, Cc or Bcc)`);
  if (recipients > limits.maxRecipients)
    throw new RequestError(field, `at most ${limits.maxRecipients} recipients per message; got ${recipients}`);

  const has = (name: string) => mime.fields.some((f) => fieldName(f) === name);
  const added = {
    ...(has('message-id') ? {} : { 'Message-ID': messageIdHeader(id, bareAddress(from[0]!)) }),
    ...(has('date') ? {} : { Date: new Date().toUTCString() }),
  };
  const bytes = editHeaders(mime, ['bcc', 'return-path'], added);
  const sent = splitMime(bytes) as SplitMime;
  return {
    mime: sent,
    request: {
      from: from[0]!,
      to,
      cc,
      bcc,
      replyTo: addresses(flatten(head.replyTo), field, 'Reply-To'),
      subject: (head.subject ?? '').slice(0, 998),
      headers: {},
      tags: opts.tags ?? {},
      attachments: [],
      raw: bytes,
    },
  };
}

/** One recipient's copy of a raw message: To is them alone, Cc gone, the body as submitted. */
export function rawCopyFor(message: RawMessage, recipient: string): SendRequest {
  return {
    ...message.request,
    to: [recipient],
    cc: [],
    bcc: [],
    raw: editHeaders(message.mime, ['to', 'cc'], { To: headerAddress(recipient) }),
  };
}
