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
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['2001:db8::', 32]] as const) {
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

const refused = (host: string, address: string) =>
  new ColloquyError('invalid_argument', `Webhook URL host "${host}" is ${address === host ? 'a' : `at ${address}, a`} loopback, private or link-local address: webhooks go to public hosts only (set COLLOQUY_WEBHOOKS_ALLOW_PRIVATE=1 on a server whose receivers are on its own network).`, {
    reason: 'private_address', host, address,
  });

/** The host of a URL as the resolver and `isIP` take it (IPv6 without brackets). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Refuses a URL whose host is, or resolves to, a non-public address. A name that does not resolve passes (it may later). */
export async function assertPublicTarget(url: URL): Promise<void> {
  const host = hostOf(url);
  if (isIP(host)) {
    if (isPrivateAddress(host)) throw refused(host, host);
    return;
  }
  const addresses = await lookup(host, { all: true, verbatim: true }).catch(() => []);
  const bad = addresses.find((a) => isPrivateAddress(a.address));
  if (bad) throw refused(host, bad.address);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for `http.request` that refuses a connection to a non-public address (checked at connect time). */
export function publicLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(Object.assign(refused(hostname, bad.address), { code: 'EPRIVATE' }) as unknown as NodeJS.ErrnoException, '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}
