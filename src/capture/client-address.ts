/**
 * Client address of a request, decided the way the app's platform decides it (Express
 * `trust proxy`, Fastify `trustProxy`), or by the library's own `trustProxy` option with the same
 * forms. The proxy chain is walked by `proxy-addr`, the package Express itself uses.
 */
import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/** Decides whether the hop at `addr` (the `i`-th from the socket, 0 = the socket peer) is trusted. */
export type AuditTrustProxyFunction = (addr: string, i: number) => boolean;

/**
 * Which proxies in front of the app may set `X-Forwarded-For`, in Express's forms: `true` (every
 * hop: the leftmost address, which the client itself can write), `false` (none: the socket peer),
 * a hop count, addresses/CIDRs or the names `loopback`, `linklocal`, `uniquelocal` (array or comma
 * string), or a function `(addr, i) => boolean`.
 */
export type AuditTrustProxy =
  boolean | number | string | readonly string[] | AuditTrustProxyFunction;

interface SocketLike {
  remoteAddress?: string;
}

interface PlatformRequest {
  ip?: unknown;
  headers?: Record<string, string | string[] | undefined>;
  socket?: SocketLike;
  connection?: SocketLike;
  raw?: { socket?: SocketLike; headers?: Record<string, string | string[] | undefined> };
}

/**
 * Compiles the option into the trust function, or throws with what was wrong (the caller turns it
 * into a configuration error).
 */
export function compileTrustProxy(value: AuditTrustProxy): AuditTrustProxyFunction {
  if (typeof value === 'function') return value;
  if (value === true) return () => true;
  if (value === false) return () => false;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0)
      throw new AuditConfigurationError('a hop count must be an integer >= 0');
    return (_addr, i) => i < value;
  }
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : [...value];
  return proxyaddr.compile(list);
}

/**
 * A valid IP address as stored in `source.ip`, or undefined. IPv4 clients of a dual-stack socket
 * (`::ffff:1.2.3.4`) are stored as plain IPv4, so the same client always groups together.
 */
export function validIp(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) return undefined;
  const ip = value.startsWith('::ffff:') && value.includes('.') ? value.slice(7) : value;
  return isIP(ip) === 0 ? undefined : ip;
}

/**
 * The client address: with `trust` (the library option), the first untrusted hop walking
 * `X-Forwarded-For` from the socket; without it, what the platform computed (`req.ip`, from its
 * own trust setting), else the socket peer. A value that is not an IP address is never returned.
 */
export function clientAddress(
  req: unknown,
  trust: AuditTrustProxyFunction | undefined,
): string | undefined {
  const r = req as PlatformRequest;
  const socket = r.socket ?? r.connection ?? r.raw?.socket;
  if (trust) {
    const headers = r.headers ?? r.raw?.headers ?? {};
    if (!socket?.remoteAddress) return undefined;
    return validIp(proxyaddr({ socket, headers } as never, trust));
  }
  // The platform's verdict stands even when it is garbage (a forged hop it was told to trust):
  // nothing is recorded then, rather than the proxy's own address passed off as the client.
  if (typeof r.ip === 'string') return validIp(r.ip);
  return validIp(socket?.remoteAddress);
}
