import { domainToASCII } from 'node:url';

export interface ParsedAddress {
  address: string;
  name?: string;
}

/**
 * The longest address field accepted, display name included, checked before any parsing: an
 * addr-spec is at most 64 + 1 + 255 characters (RFC 5321), and no parser ever sees more.
 */
export const MAX_ADDRESS_LENGTH = 320;
/** The longest display name, after unquoting. */
export const MAX_DISPLAY_NAME_LENGTH = 256;

// Both are linear: `.` separates the repetitions, so no input can be split two ways. The local
// part is at most 64 characters before either runs.
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Splits `Name <addr>` by hand, in one pass: a regex with a lazy name and optional whitespace
 * before `<` backtracks quadratically on a name made of spaces (64 KB took seconds).
 */
function splitNameAddr(s: string): { name?: string; raw: string } {
  if (!s.endsWith('>')) return { raw: s };
  const open = s.lastIndexOf('<', s.length - 2);
  if (open < 0 || s.indexOf('>', open) !== s.length - 1) return { raw: s };
  return { name: s.slice(0, open).trim(), raw: s.slice(open + 1, -1).trim() };
}

/**
 * `ana@example.com` or `Ana <ana@example.com>`; IDN domains are stored in their ASCII form.
 * Returns why it is invalid, so the API error can say so.
 */
export function parseAddress(input: string): ParsedAddress | { error: string } {
  if (input.length > MAX_ADDRESS_LENGTH) return { error: `is longer than ${MAX_ADDRESS_LENGTH} characters` };
  // U+2028/9 end a line for some readers of headers as well.
  if (/[\r\n\0\u2028\u2029]/.test(input)) return { error: 'must not contain line breaks or NUL' };
  const split = splitNameAddr(input.trim());
  const raw = split.raw;
  let name = split.name;
  if (name?.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  if (name !== undefined && /[<>]/.test(name)) return { error: 'display name must not contain < or >' };
  if (name !== undefined && name.length > MAX_DISPLAY_NAME_LENGTH)
    return { error: `display name is longer than ${MAX_DISPLAY_NAME_LENGTH} characters` };
  const at = raw.lastIndexOf('@');
  if (at <= 0 || at === raw.length - 1) return { error: 'is not an email address' };
  const local = raw.slice(0, at);
  const written = raw.slice(at + 1).toLowerCase();
  // Punycode hides a leading or trailing hyphen of a Unicode label (`-bücher` → `xn---bcher-…`).
  if (written.split('.').some((l) => l.startsWith('-') || l.endsWith('-'))) return { error: 'has an invalid domain' };
  const domain = domainToASCII(written);
  if (local.length > 64 || !localPart.test(local)) return { error: 'has an invalid local part' };
  const labels = domain.split('.');
  if (!domain || domain.length > 253 || labels.length < 2 || !labels.every((l) => label.test(l)))
    return { error: 'has an invalid domain' };
  if (!/^([a-z]{2,63}|xn--[a-z0-9-]+)$/.test(labels[labels.length - 1]!))
    return { error: 'has an invalid top-level domain' };
  return { address: `${local}@${domain}`, ...(name ? { name } : {}) };
}

/** RFC 5322 quoted-string for the display name: only `"` and `\\` are escaped. */
export function formatAddress(a: ParsedAddress): string {
  return a.name ? `"${a.name.replace(/["\\]/g, '\\$&')}" <${a.address}>` : a.address;
}

/** `"Ana" <ana@example.com>` → `ana@example.com` (for envelopes and search attributes). */
export function bareAddress(address: string): string {
  const s = address.trimEnd();
  const open = s.endsWith('>') ? s.lastIndexOf('<', s.length - 2) : -1;
  return (
    open >= 0 && open < s.length - 2 && s.indexOf('>', open) === s.length - 1 ? s.slice(open + 1, -1) : address
  ).trim();
}
