// Where a tenant's webhooks may go. Mailroom runs inside someone's network; a tenant who could
// point an endpoint at 169.254.169.254 or 10.0.0.5 would make Mailroom request them on its behalf
// (SSRF). Checked twice: the URL at creation, and every address a delivery actually connects to
// (a public name may later resolve to a private address).
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

const nonPublic = new BlockList();
// IPv4 rules also match IPv4-mapped IPv6 addresses (::ffff:10.0.0.1).
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  nonPublic.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: an IPv4 address inside
  ['100::', 64],
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4: an IPv4 address inside
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  nonPublic.addSubnet(net, prefix, 'ipv6');

/** Loopback, private, link-local, shared, documentation, multicast or reserved. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Names that resolve inside the network by design: localhost, single labels (search domains), *.internal. */
const internalName = (host: string) =>
  host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || !host.includes('.');

/** Why a webhook URL is refused, or undefined when it is acceptable. */
export function webhookUrlProblem(raw: string, allowPrivateTargets: boolean): string | undefined {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  // Credentials in the URL would be stored and shown back in every listing; signatures authenticate.
  if (url.username || url.password) return 'must not contain credentials';
  if (allowPrivateTargets) return undefined;
  const host = url.hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  if (isNonPublicAddress(host) || (isIP(host) === 0 && internalName(host)))
    return 'must not target a loopback, private or internal address';
  return undefined;
}

export class NonPublicTargetError extends Error {
  override name = 'NonPublicTargetError';
}

/**
 * A `lookup` for http(s).request that refuses to connect when a name resolves to a non-public
 * address: the check happens on the addresses the socket will use, so DNS rebinding cannot pass it.
 */
export function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    if (addresses.length === 0 || addresses.some((a) => isNonPublicAddress(a.address)))
      return callback(new NonPublicTargetError(`${hostname} resolves to a non-public address`), '', 0);
    if (options.all) return callback(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
