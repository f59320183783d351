// A message submitted as MIME (SES `Content.Raw`, SMTP submission) is sent as submitted: Mailroom
// only edits its header section, by field, and never touches the body.

/** The most header bytes a submitted message may have before its body. */
export const MAX_HEADER_BYTES = 256 * 1024;

export interface SplitMime {
  /** Header fields as written, each with its folded continuation lines, without line ends. */
  fields: string[];
  /** The line end the message uses (`\r\n` or `\n`). */
  eol: string;
  /** Everything after the blank line that ends the header section. */
  body: Buffer;
}

/**
 * Splits a message at the blank line that ends its header section, in one pass. Returns why not
 * when it has no header section Mailroom can read.
 */
export function splitMime(raw: Uint8Array): SplitMime | { error: string } {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES + 4);
  let end = -1;
  let eol = '\r\n';
  for (let i = bytes.indexOf(10); i >= 0 && i < limit; i = bytes.indexOf(10, i + 1)) {
    if (bytes[i + 1] === 10) {
      end = i;
      eol = bytes[i - 1] === 13 ? '\r\n' : '\n';
      break;
    }
    if (bytes[i + 1] === 13 && bytes[i + 2] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0)
    return {
      error:
        bytes.length > MAX_HEADER_BYTES
          ? `has no end of headers within ${MAX_HEADER_BYTES} bytes`
          : 'has no blank line after its headers',
    };
  const headerText = bytes.subarray(0, end).toString('latin1').replace(/\r$/, '');
  const bodyStart = end + 1 + (bytes[end + 1] === 13 ? 2 : 1);
  const fields: string[] = [];
  for (const line of headerText.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `${eol}${line}`;
    else if (/^[!-9;-~]+:/.test(line)) fields.push(line);
    else return { error: `has a header line that is not "Name: value" (${JSON.stringify(line.slice(0, 40))})` };
  }
  return { fields, eol, body: bytes.subarray(bodyStart) };
}

/** The (lower-case) name of a header field. */
export const fieldName = (field: string) => field.slice(0, field.indexOf(':')).toLowerCase();

/**
 * The message with the named fields removed and `add` appended to its header section; the body's
 * bytes are the submitted ones. Header values are latin1 round trips, so 8-bit headers survive.
 */
export function editHeaders(mime: SplitMime, remove: string[], add: Record<string, string> = {}): Buffer {
  const drop = new Set(remove.map((n) => n.toLowerCase()));
  const fields = [
    ...mime.fields.filter((f) => !drop.has(fieldName(f))),
    ...Object.entries(add).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.concat([Buffer.from(`${fields.join(mime.eol)}${mime.eol}${mime.eol}`, 'latin1'), mime.body]);
}
