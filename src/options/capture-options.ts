import type { AuditModuleOptions, AuditScope, ResolvedAuditOptions } from '../audit.options';
import { compileTrustProxy, type AuditTrustProxyFunction } from '../capture/client-address';
import { messageOf } from '../common/message-of';
import { auditOptionChecks as check } from '../audit-configuration-checks';
import { describe } from '../common/option-checks';

const SCOPES: readonly AuditScope[] = ['mutations', 'all', 'decorated'];

/** The options that say which requests the interceptor records. */
export type ResolvedRouteOptions = Pick<ResolvedAuditOptions, 'interceptor' | 'scope' | 'exclude'>;

/** The options that say what is read from a recorded request. */
export type ResolvedRequestOptions = Pick<
  ResolvedAuditOptions,
  'actor' | 'tenant' | 'trustProxy' | 'requestIdHeader' | 'trustRequestId'
>;

/** Validates which requests are recorded (interceptor, scope, exclusions). */
export function resolveRouteOptions(options: AuditModuleOptions): ResolvedRouteOptions {
  const interceptor = check.optionalBoolean(
    'interceptor',
    options.interceptor,
    true,
    'Use interceptor: false to apply AuditInterceptor yourself.',
  );
  const scope = options.scope ?? 'mutations';
  if (!SCOPES.includes(scope)) {
    check.fail(
      'scope',
      `must be one of ${SCOPES.map((s) => `'${s}'`).join(', ')} (got ${describe(scope)})`,
      "The default 'mutations' audits POST/PUT/PATCH/DELETE and @Audited routes.",
    );
  }
  return { interceptor, scope, exclude: excludeOf(options.exclude) };
}

function excludeOf(value: AuditModuleOptions['exclude']): ReadonlyArray<string | RegExp> {
  const exclude = value ?? [];
  if (!Array.isArray(exclude))
    check.fail(
      'exclude',
      'must be an array of strings or RegExps',
      'Example: exclude: ["/health", /^\\/metrics/].',
    );
  exclude.forEach((entry: unknown, index) => {
    if (!(entry instanceof RegExp) && !(typeof entry === 'string' && entry.startsWith('/'))) {
      check.fail(
        `exclude[${index}]`,
        `must be a path starting with "/" or a RegExp (got ${describe(entry)})`,
        'Example: exclude: ["/health", "/internal/*"].',
      );
    }
  });
  return exclude as ReadonlyArray<string | RegExp>;
}

/**
 * Validates what is read from a recorded request: the actor and tenant extractors, which proxies
 * to trust for the client address, and where the request id comes from.
 */
export function resolveRequestOptions(options: AuditModuleOptions): ResolvedRequestOptions {
  return {
    actor: check.optionalFunction(
      'actor',
      options.actor,
      'actor: (req) => ({ id: req.user?.uid })',
    ),
    tenant: check.optionalFunction(
      'tenant',
      options.tenant,
      "tenant: (req) => req.headers['x-tenant-id']",
    ),
    trustProxy: trustProxyOf(options.trustProxy),
    trustRequestId: check.optionalBoolean(
      'trustRequestId',
      options.trustRequestId,
      false,
      'Set it to true only when your edge sets the request id header.',
    ),
    requestIdHeader: requestIdHeaderOf(options.requestIdHeader),
  };
}

function trustProxyOf(
  value: AuditModuleOptions['trustProxy'],
): AuditTrustProxyFunction | undefined {
  if (value === undefined) return undefined;
  try {
    return compileTrustProxy(value);
  } catch (error) {
    return check.fail(
      'trustProxy',
      `is invalid (${messageOf(error)})`,
      'Use a hop count (1), addresses/CIDRs (["10.0.0.0/8"]), a function (addr, i) => boolean, or leave it unset to follow the platform.',
    );
  }
}

function requestIdHeaderOf(value: unknown): string {
  const requestIdHeader = value ?? 'x-request-id';
  if (typeof requestIdHeader !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(requestIdHeader)) {
    check.fail(
      'requestIdHeader',
      `must be a header name (got ${describe(requestIdHeader)})`,
      'Example: requestIdHeader: "x-correlation-id".',
    );
  }
  return requestIdHeader.toLowerCase();
}
