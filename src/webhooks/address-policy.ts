import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ColloquyError } from '../domain/errors.js';

/**
 * Where outgoing webhooks may not go (unless COLLOQUY_WEBHOOKS_ALLOW_PRIVATE=1): a URL given by a tenant must not
 * reach the server's own loopback, the private network around it, or a cloud's metadata service. Checked on the
 * addresses a name resolves to, at creation and again at every connection (a name may resolve elsewhere later).
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
// IPv6: loopback and unspecified, IPv4-compatible and SIIT forms (a v4 address inside), NAT64 and 6to4 (a v4 address
// behind a translator), discard, unique-local, site- and link-local, multicast, documentation.
for (const [net, bits] of [
  ['::', 96], ['::1', 128], ['::ffff:0:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2002::', 16],
  ['fc00::', 7], ['fec0::', 10], ['fe80::', 10], ['ff00::', 8], ['2001:db8::', 32],
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** Whether an IP address is loopback, private, link-local (metadata), multicast or otherwise not a public host. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? blocked.check(mapped[1]!, 'ipv4') : blocked.check(address, 'ipv6');
}

// The address a name resolved to is not said: a tenant must not map the server's own network by trying names.
const refused = (host: string) =>
  new ColloquyError('invalid_argument', `Webhook URL host "${host}" is, or resolves to, a loopback, private or link-local address: webhooks go to public hosts only (set COLLOQUY_WEBHOOKS_ALLOW_PRIVATE=1 on a server whose receivers are on its own network).`, {
    reason: 'private_address', host,
  });
/** A name that does not resolve within this passes at creation (it may later); every connection is checked anyway. */
const LOOKUP_TIMEOUT_MS = 5_000;

/** The host of a URL as the resolver and `isIP` take it (IPv6 without brackets). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Refuses a URL whose host is, or resolves to, a non-public address. A name that does not resolve passes (it may later). */
export async function assertPublicTarget(url: URL): Promise<void> {
  const host = hostOf(url);
  if (isIP(host)) {
    if (isPrivateAddress(host)) throw refused(host);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<[]>((resolve) => {
    timer = setTimeout(() => resolve([]), LOOKUP_TIMEOUT_MS);
  });
  const addresses = await Promise.race([lookup(host, { all: true, verbatim: true }).catch(() => []), timeout]).finally(() => clearTimeout(timer));
  if (addresses.some((a) => isPrivateAddress(a.address))) throw refused(host);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for `http.request` that refuses a connection to a non-public address (checked at connect time). */
export function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    if (addresses.some((a) => isPrivateAddress(a.address))) return callback(Object.assign(refused(hostname), { code: 'EPRIVATE' }) as unknown as NodeJS.ErrnoException, '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
