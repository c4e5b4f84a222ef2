/**
 * Where the Slack and webhook notifiers may send: public addresses only, unless the operator
 * lists a private network in `alarms.allowPrivateNetworks`. Checked at boot for literal
 * addresses and well-known internal host names, and at send time for every address DNS returns,
 * through the `lookup` the socket connects with, so the address checked is the address used.
 * Built on Node's own `net.BlockList` (it also matches IPv4-mapped IPv6 against IPv4 ranges).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/** The `alarms.allowPrivateNetworks` option: every private destination, or the listed ones. */
export type AllowPrivateNetworks = boolean | readonly string[];

/** Which private destinations the notifiers may reach. */
export interface DestinationPolicy {
  /** Every destination is allowed (`allowPrivateNetworks: true`). */
  readonly allowAll: boolean;
  /** Listed addresses and CIDR ranges. */
  readonly networks: BlockList;
  /** Listed host names, lower case. */
  readonly hosts: ReadonlySet<string>;
}

/** Public destinations only: the default. */
export const STRICT_DESTINATIONS: DestinationPolicy = Object.freeze({
  allowAll: false,
  networks: new BlockList(),
  hosts: new Set<string>(),
});

const RANGES: readonly [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'this-network (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'ipv4', 'private (10.0.0.0/8)'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT (100.64.0.0/10)'],
  ['127.0.0.0', 8, 'ipv4', 'loopback (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local / cloud metadata (169.254.0.0/16)'],
  ['172.16.0.0', 12, 'ipv4', 'private (172.16.0.0/12)'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments (192.0.0.0/24)'],
  ['192.168.0.0', 16, 'ipv4', 'private (192.168.0.0/16)'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking (198.18.0.0/15)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'ipv4', 'reserved / broadcast (240.0.0.0/4)'],
  ['::', 128, 'ipv6', 'unspecified (::)'],
  ['::1', 128, 'ipv6', 'loopback (::1)'],
  ['64:ff9b:1::', 48, 'ipv6', 'local-use NAT64 (64:ff9b:1::/48)'],
  ['fc00::', 7, 'ipv6', 'unique-local (fc00::/7)'],
  ['fe80::', 10, 'ipv6', 'link-local (fe80::/10)'],
  ['fec0::', 10, 'ipv6', 'site-local (fec0::/10)'],
  ['ff00::', 8, 'ipv6', 'multicast (ff00::/8)'],
];

const NON_PUBLIC = RANGES.map(([address, prefix, family, name]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, family);
  return { list, family, name };
});

/** Host names that never denote a public service (RFC 6761, cloud metadata, mDNS). */
const INTERNAL_HOST = /(?:^|\.)(?:localhost|internal|local|home\.arpa)\.?$/i;

/** Error code of a send refused by the guard (on the error the socket reports). */
export const REFUSED_DESTINATION_CODE = 'EAUDIT_PRIVATE_DESTINATION';

/** `[::1]` → `::1`: URL host names keep the brackets of IPv6 literals. */
function bare(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * The kind of non-public range `address` is in (`loopback (127.0.0.0/8)`), or undefined for a
 * public address. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is judged by its IPv4 address.
 * A string that is not an IP address is reported as such, never as public.
 */
export function nonPublicRange(address: string): string | undefined {
  const ip = bare(address);
  const version = isIP(ip);
  if (version === 0) return 'not an IP address';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  for (const range of NON_PUBLIC) {
    // A v4 range also matches the v4-mapped v6 form; a v6 range never matches a v4 address.
    if (range.family === 'ipv6' && family === 'ipv4') continue;
    if (range.list.check(ip, family)) return range.name;
  }
  return undefined;
}

/**
 * Why the notifiers may not connect to `address` under `policy`, or undefined when they may.
 * @param address - an IP address (from a URL or from DNS)
 */
export function refusedAddress(address: string, policy: DestinationPolicy): string | undefined {
  const range = nonPublicRange(address);
  if (range === undefined || policy.allowAll) return undefined;
  const ip = bare(address);
  if (policy.networks.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4')) return undefined;
  return range;
}

/**
 * What is wrong with sending to `url` as written, under `policy`: a literal non-public address or
 * an internal host name (`localhost`, `*.internal`, `metadata.google.internal`). Undefined when
 * only DNS can tell (checked again at send time).
 */
export function refusedUrlHost(url: URL, policy: DestinationPolicy): string | undefined {
  const host = bare(url.hostname).toLowerCase();
  if (isIP(host) !== 0) return refusedAddress(host, policy);
  if (!INTERNAL_HOST.test(host) || policy.allowAll) return undefined;
  if (policy.hosts.has(host.replace(/\.$/, ''))) return undefined;
  return 'internal host name';
}

/**
 * Why `url`'s host may not be contacted when it is a literal IP address (a socket connects to it
 * without any lookup); undefined for a host name, which {@link guardedLookup} checks.
 */
export function refusedLiteralHost(url: URL, policy: DestinationPolicy): string | undefined {
  const host = bare(url.hostname);
  return isIP(host) === 0 ? undefined : refusedAddress(host, policy);
}

/**
 * Builds the policy from `alarms.allowPrivateNetworks`. Entries: an IP address, a CIDR range
 * (`10.20.0.0/16`, `fd00::/8`) or a host name (`localhost`, `relay.internal`). A listed name only
 * passes the name check: the addresses it resolves to must still be public or listed, so a
 * name's DNS cannot widen what the operator allowed.
 * @returns the policy, or `{ invalid }` naming the bad entry (the caller throws).
 */
export function destinationPolicy(
  value: AllowPrivateNetworks | undefined,
): DestinationPolicy | { invalid: string } {
  if (value === undefined || value === false) return STRICT_DESTINATIONS;
  if (value === true) return { ...STRICT_DESTINATIONS, allowAll: true };
  const networks = new BlockList();
  const hosts = new Set<string>();
  for (const entry of value) {
    if (typeof entry !== 'string') return { invalid: `${typeof entry} entry` };
    const [address = '', prefix, extra] = bare(entry.trim()).split('/');
    const version = isIP(address);
    const family = version === 6 ? 'ipv6' : 'ipv4';
    if (version !== 0 && prefix === undefined) {
      networks.addAddress(address, family);
    } else if (version !== 0 && extra === undefined && /^\d{1,3}$/.test(prefix ?? '')) {
      const bits = Number(prefix);
      if (bits > (version === 4 ? 32 : 128)) return { invalid: JSON.stringify(entry) };
      networks.addSubnet(address, bits, family);
    } else if (
      /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?$/i.test(
        entry,
      )
    ) {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    } else {
      return { invalid: JSON.stringify(entry) };
    }
  }
  return { allowAll: false, networks, hosts };
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `http.request` that resolves the name, refuses the connection when ANY returned
 * address is not allowed, and hands the socket exactly the addresses it checked (no second
 * resolution an attacker's DNS could answer differently).
 */
export function guardedLookup(policy: DestinationPolicy) {
  return (
    hostname: string,
    options: { all?: boolean; family?: number },
    callback: LookupCallback,
  ) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, []);
      for (const { address } of addresses) {
        const refused = refusedAddress(address, policy);
        if (refused === undefined) continue;
        const refusal: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to ${address}, a ${refused} address`,
        );
        refusal.code = REFUSED_DESTINATION_CODE;
        return callback(refusal, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}
