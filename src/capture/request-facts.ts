import { AuditLogger } from '../common/audit-logger';
import { v7 as uuidv7 } from 'uuid';
import type { ResolvedAuditOptions } from '../audit.options';
import type { AuditActor, AuditRequestInfo, AuditSource } from '../event/audit-event';
import { normaliseActor, passportActor, serviceActor } from './actor';
import type { AuditContext } from './audit-context';
import { clientAddress, type AuditTrustProxyFunction } from './client-address';
import { redactPathSecrets } from './path-secrets';
import {
  headerValue,
  requestPath,
  routePattern,
  traceId,
  type AuditHttpRequest,
} from './http-adapter';
import { messageOf } from '../common/message-of';

/** What an event records about the HTTP request it belongs to. */
export interface RequestFacts {
  actor: AuditActor;
  source: AuditSource;
  request: AuditRequestInfo;
  tenant?: string;
}

const SANE_REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;
const logger = new AuditLogger();

/**
 * The request id to record: the incoming header when the app trusts it (its edge sets it, so ids
 * correlate across services) and it is a sane token; otherwise a new UUIDv7, because a client
 * must neither file its events under another request nor inject text into the trail.
 */
export function requestIdOf(
  req: AuditHttpRequest,
  options: Pick<ResolvedAuditOptions, 'requestIdHeader' | 'trustRequestId'>,
): string {
  if (!options.trustRequestId) return uuidv7();
  const incoming = headerValue(req, options.requestIdHeader);
  return incoming && SANE_REQUEST_ID.test(incoming) ? incoming : uuidv7();
}

function safeCall<T>(what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (error) {
    logger.warn(
      `nestjs-audit: the "${what}" option threw (${messageOf(error)}); recording without it. Make the function total (return undefined instead of throwing).`,
    );
    return undefined;
  }
}

/**
 * Where the request came from: the client address (the platform's `req.ip`, or the library's
 * `trustProxy` when set; never a value that is not an IP address) and the user agent.
 */
export function requestSource(
  req: AuditHttpRequest,
  trustProxy: AuditTrustProxyFunction | undefined,
): AuditSource {
  const source: AuditSource = {};
  // A user's trust function may throw: the event is still recorded, without the address.
  const ip = trustProxy
    ? safeCall('trustProxy', () => clientAddress(req, trustProxy))
    : clientAddress(req, undefined);
  if (ip) source.ip = ip;
  const userAgent = headerValue(req, 'user-agent');
  if (userAgent) source.userAgent = userAgent.slice(0, 1024);
  return source;
}

/** Extracts actor, source, request info and tenant; user extractors that throw are tolerated. */
export function requestFacts(
  req: AuditHttpRequest,
  options: ResolvedAuditOptions,
  requestId: string,
): RequestFacts {
  const actorInput = options.actor
    ? safeCall('actor', () => options.actor?.(req))
    : passportActor(req);
  const source = requestSource(req, options.trustProxy);
  const route = routePattern(req);
  const path = redactPathSecrets(requestPath(req), route, options.redact);
  const request: AuditRequestInfo = { id: requestId, path };
  if (req.method) request.method = req.method.toUpperCase();
  if (route) request.route = route;
  const trace = traceId(req);
  if (trace) request.traceId = trace;
  const facts: RequestFacts = { actor: normaliseActor(actorInput), source, request };
  const tenant = options.tenant ? safeCall('tenant', () => options.tenant?.(req)) : undefined;
  if (typeof tenant === 'string' && tenant.length > 0) facts.tenant = tenant.slice(0, 256);
  return facts;
}

/** Who acts, and the request's facts when there is a request. */
export interface AuditOrigin {
  /** The request's actor (with what `setActor()` set), else the service. */
  actor: AuditActor;
  facts?: RequestFacts;
}

/**
 * The origin of a record made in `ctx`: inside a request, its facts and its actor (with what the
 * handler set through `setActor()`); outside one (a job, a script), the service as the actor.
 */
export function originOf(
  ctx: AuditContext | undefined,
  options: ResolvedAuditOptions,
): AuditOrigin {
  if (!ctx) return { actor: serviceActor(options.serviceName) };
  const facts = requestFacts(ctx.request as AuditHttpRequest, options, ctx.requestId);
  const actor = ctx.actor ? normaliseActor({ ...facts.actor, ...ctx.actor }) : facts.actor;
  return { actor, facts };
}
