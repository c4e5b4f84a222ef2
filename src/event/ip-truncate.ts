/**
 * Keeps the network part of an IP address. Hand-written on purpose: Node has no address masking
 * (net.BlockList only tests membership), and the work is a few lines of arithmetic.
 */
import { isIP } from 'node:net';

/** Prefix lengths, in bits. */
export interface IpPrefixLengths {
  readonly v4: number;
  readonly v6: number;
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The address with every bit past the prefix set to zero, in its canonical text form: an IPv4
 * address (or an IPv4-mapped IPv6 one) keeps `v4` bits, any other IPv6 address keeps `v6` bits
 * and loses its zone (`%eth0`). Text that is no IP address is returned as it is.
 *
 * @example truncateIpAddress('203.0.113.77', { v4: 24, v6: 48 }) // '203.0.113.0'
 */
export function truncateIpAddress(ip: string, prefixes: IpPrefixLengths): string {
  const family = isIP(ip);
  if (family === 4) return maskV4(ip, prefixes.v4);
  if (family !== 6) return ip;
  const address = ip.split('%', 1)[0] as string;
  const mapped = MAPPED_V4.exec(address);
  if (mapped !== null) return `::ffff:${maskV4(mapped[1] as string, prefixes.v4)}`;
  return formatV6(maskBits(parseV6(address), prefixes.v6, 16));
}

function maskV4(ip: string, bits: number): string {
  return maskBits(ip.split('.').map(Number), bits, 8).join('.');
}

function maskBits(parts: number[], bits: number, width: number): number[] {
  return parts.map((part, index) => {
    const keep = Math.min(Math.max(bits - index * width, 0), width);
    const mask = keep === 0 ? 0 : ((2 ** width - 1) >> (width - keep)) << (width - keep);
    return part & mask;
  });
}

/** The eight 16-bit groups of a valid IPv6 address (without zone). */
function parseV6(address: string): number[] {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const octets = text
      .slice(lastColon + 1)
      .split('.')
      .map((octet) => Number(octet));
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    tail.push((a << 8) | b, (c << 8) | d);
    // Two placeholder groups, so `::` expands to the right number of zeros.
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const groups = (half: string): number[] =>
    half === '' ? [] : half.split(':').map((group) => parseInt(group, 16));
  const [head, rest] = text.split('::') as [string, string | undefined];
  let parts: number[];
  if (rest === undefined) {
    parts = groups(head);
  } else {
    const left = groups(head);
    const right = groups(rest);
    parts = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  if (tail.length === 2) parts.splice(6, 2, tail[0] as number, tail[1] as number);
  return parts;
}

/** RFC 5952 text: lower-case hex, the longest run of two or more zero groups as `::`. */
function formatV6(parts: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (parts[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < 8 && parts[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = parts.map((part) => part.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}
