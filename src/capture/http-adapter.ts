/**
 * The few places where Express and Fastify requests/responses differ, behind plain functions.
 * No framework types are imported: the library works with either adapter installed alone.
 */

/** The HTTP request as the app's adapter gives it (Express `Request` or `FastifyRequest`). */
export interface AuditHttpRequest {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  params?: Record<string, unknown>;
  body?: unknown;
  /** Set by passport and most auth guards. */
  user?: unknown;
  [key: string]: unknown;
}

interface ExpressLikeRequest extends AuditHttpRequest {
  originalUrl?: string;
  route?: { path?: unknown };
  raw?: { url?: string };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

interface ResponseLike {
  statusCode?: number;
  setHeader?: (name: string, value: string) => unknown;
  header?: (name: string, value: string) => unknown;
  headersSent?: boolean;
  sent?: boolean;
  raw?: { headersSent?: boolean };
}

/** First value of a request header (lower-case name), trimmed, or undefined. */
export function headerValue(req: AuditHttpRequest, name: string): string | undefined {
  const value = req.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.length > 0 ? first : undefined;
}

/** URL path without the query string (Express `originalUrl` keeps the global prefix). */
export function requestPath(req: AuditHttpRequest): string {
  const r = req as ExpressLikeRequest;
  const url = r.originalUrl ?? r.url ?? r.raw?.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Route pattern such as `/users/:id`, when the adapter exposes it. */
export function routePattern(req: AuditHttpRequest): string | undefined {
  const r = req as ExpressLikeRequest;
  const fastify = r.routeOptions?.url ?? r.routerPath;
  if (typeof fastify === 'string') return fastify;
  const express = r.route?.path;
  return typeof express === 'string' ? express : undefined;
}

/** Status code currently set on the response (Express `res` or Fastify `reply`). */
export function responseStatus(res: unknown): number | undefined {
  const code = (res as ResponseLike | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Sets a response header unless the headers are already on the wire. */
export function setResponseHeader(res: unknown, name: string, value: string): void {
  const r = res as ResponseLike | undefined;
  if (!r || r.headersSent || r.sent || r.raw?.headersSent) return;
  if (typeof r.header === 'function' && typeof r.setHeader !== 'function') {
    r.header(name, value);
  } else if (typeof r.setHeader === 'function') {
    r.setHeader(name, value);
  } else if (typeof r.header === 'function') {
    r.header(name, value);
  }
}

/** W3C `traceparent` trace id (32 hex digits), when the header is present and well-formed. */
export function traceId(req: AuditHttpRequest): string | undefined {
  const header = headerValue(req, 'traceparent');
  const match = header
    ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(header.trim())
    : null;
  return match?.[1] && !/^0+$/.test(match[1]) ? match[1] : undefined;
}
