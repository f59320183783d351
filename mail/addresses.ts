import { domainToASCII } from 'node:url';

export interface ParsedAddress {
  address: string;
  name?: string;
}

const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * `ana@example.com` or `Ana <ana@example.com>`; IDN domains are stored in their ASCII form.
 * Returns why it is invalid, so the API error can say so.
 */
export function parseAddress(input: string): ParsedAddress | { error: string } {
  if (/[\r\n\0]/.test(input)) return { error: 'must not contain line breaks or NUL' };
  const s = input.trim();
  const m = /^(.*?)\s*<([^<>]*)>$/.exec(s);
  let name = m ? m[1]!.trim() : undefined;
  const raw = (m ? m[2]! : s).trim();
  if (name?.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
  if (name !== undefined && /[<>]/.test(name)) return { error: 'display name must not contain < or >' };
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
  const m = /<([^<>]+)>\s*$/.exec(address);
  return (m ? m[1]! : address).trim();
}
