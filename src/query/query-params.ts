import { parseDuration, DurationError } from '../common/duration';
import { type AuditQuery } from './audit-query';
import { AuditQueryError } from '../common/audit-query.error';
import { describe } from '../common/option-checks';

/**
 * Query filters as text, the way a URL query string or a command line carries them. The CLI, the
 * HTTP API and the viewer page all read filters through {@link auditQueryFromParams}, so the three
 * accept the same vocabulary and give the same errors.
 */
export interface AuditQueryParams {
  /** Actor id. */
  actor?: string;
  /** `type` or `type:id`, e.g. `user:42`. */
  resource?: string;
  /** Resource type alone (same as the part of `resource` before the colon). */
  resourceType?: string;
  /** Resource id alone. */
  resourceId?: string;
  /** Exact action, e.g. `user.update`. */
  action?: string;
  /** `success`, `failure` or `unknown`. */
  outcome?: string;
  /** Request id. */
  requestId?: string;
  /** Tenant. */
  tenant?: string;
  /** A period ending now: `30m`, `24h`, `7d`. Cannot be combined with `from`. */
  since?: string;
  /** ISO-8601 instant or date, inclusive. */
  from?: string;
  /** ISO-8601 instant or date, exclusive. */
  to?: string;
  /** Page size, 1..1000. */
  limit?: string;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** The parameter names {@link auditQueryFromParams} accepts. */
export const AUDIT_QUERY_PARAM_NAMES = [
  'actor',
  'resource',
  'resourceType',
  'resourceId',
  'action',
  'outcome',
  'requestId',
  'tenant',
  'since',
  'from',
  'to',
  'limit',
  'cursor',
] as const satisfies ReadonlyArray<keyof AuditQueryParams>;

const KNOWN = new Set<string>(AUDIT_QUERY_PARAM_NAMES);

function text(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') {
    throw new AuditQueryError(
      `Invalid "${name}" filter: give it once, as text (got ${describe(value)}).`,
    );
  }
  return value;
}

/**
 * Turns textual filters into an {@link AuditQuery}. Empty values are ignored (an empty form field
 * means "any"). Validation of the values themselves (dates, outcome, limit range, cursor) is left
 * to `parseAuditQuery`, which every reader calls next.
 *
 * @param ignore parameter names that belong to the caller (e.g. `format`) and are skipped.
 * @throws AuditQueryError for an unknown parameter, a repeated one, a bad `since`/`limit`, or
 *   `since` together with `from`.
 * @example auditQueryFromParams({ resource: 'user:42', since: '24h' })
 */
export function auditQueryFromParams(
  params: Readonly<Record<string, unknown>>,
  now: number = Date.now(),
  ignore: readonly string[] = [],
): AuditQuery {
  for (const key of Object.keys(params)) {
    if (!KNOWN.has(key) && !ignore.includes(key)) {
      throw new AuditQueryError(
        `Unknown filter "${key}". Known filters: ${AUDIT_QUERY_PARAM_NAMES.join(', ')}.`,
      );
    }
  }
  const query: AuditQuery = {};
  const actor = text('actor', params.actor);
  if (actor !== undefined) query.actorId = actor;
  Object.assign(query, resourceFilter(params));
  const action = text('action', params.action);
  if (action !== undefined) query.action = action;
  const outcome = text('outcome', params.outcome);
  if (outcome !== undefined) query.outcome = outcome as AuditQuery['outcome'];
  const requestId = text('requestId', params.requestId);
  if (requestId !== undefined) query.requestId = requestId;
  const tenant = text('tenant', params.tenant);
  if (tenant !== undefined) query.tenant = tenant;
  Object.assign(query, periodFilter(params, now));
  const limit = text('limit', params.limit);
  if (limit !== undefined) {
    if (!/^\d{1,7}$/.test(limit)) {
      throw new AuditQueryError(
        `Invalid "limit" ${JSON.stringify(limit)}: use a whole number from 1 to 1000.`,
      );
    }
    query.limit = Number(limit);
  }
  const cursor = text('cursor', params.cursor);
  if (cursor !== undefined) query.cursor = cursor;
  return query;
}

/** The resource asked for, as `resource` (`type` or `type:id`) or as its two separate parameters. */
function resourceFilter(
  params: Readonly<Record<string, unknown>>,
): Pick<AuditQuery, 'resourceType' | 'resourceId'> {
  const filter: Pick<AuditQuery, 'resourceType' | 'resourceId'> = {};
  const resource = text('resource', params.resource);
  if (resource !== undefined) {
    const colon = resource.indexOf(':');
    if (colon === 0) {
      throw new AuditQueryError(
        `Invalid "resource" filter ${JSON.stringify(resource)}: write it as type or type:id, e.g. user:42.`,
      );
    }
    filter.resourceType = colon < 0 ? resource : resource.slice(0, colon);
    const id = colon < 0 ? '' : resource.slice(colon + 1);
    if (id !== '') filter.resourceId = id;
  }
  const resourceType = text('resourceType', params.resourceType);
  const resourceId = text('resourceId', params.resourceId);
  if ((resourceType !== undefined || resourceId !== undefined) && resource !== undefined) {
    throw new AuditQueryError(
      'Give either "resource" (type:id) or "resourceType"/"resourceId", not both.',
    );
  }
  if (resourceType !== undefined) filter.resourceType = resourceType;
  if (resourceId !== undefined) filter.resourceId = resourceId;
  return filter;
}

/** The period asked for: `since` (a duration back from `now`) or `from`, and `to`. */
function periodFilter(
  params: Readonly<Record<string, unknown>>,
  now: number,
): Pick<AuditQuery, 'from' | 'to'> {
  const period: Pick<AuditQuery, 'from' | 'to'> = {};
  const since = text('since', params.since);
  const from = text('from', params.from);
  if (since !== undefined && from !== undefined) {
    throw new AuditQueryError('Give either "since" (e.g. 24h) or "from" (a date), not both.');
  }
  if (since !== undefined) {
    try {
      period.from = new Date(now - parseDuration(since, 'Invalid "since" filter')).toISOString();
    } catch (error) {
      if (error instanceof DurationError) throw new AuditQueryError(error.message);
      throw error;
    }
  }
  if (from !== undefined) period.from = from;
  const to = text('to', params.to);
  if (to !== undefined) period.to = to;
  return period;
}
