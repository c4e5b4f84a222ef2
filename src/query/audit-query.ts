import { describe, unknownKeyOf, type KnownKeys } from '../common/option-checks';
import { AUDIT_OUTCOMES, isAuditOutcome, type AuditOutcome } from '../event/audit-event';
import {
  encodeCursor,
  type AuditCursor,
  type AuditQueryFilters,
  type AuditQueryResult,
  type NormalizedAuditQuery,
} from '../stores/audit-query-model';

// The store-facing model is defined below the stores; the query API hands it on from here.
export { encodeCursor, type AuditCursor, type AuditQueryResult, type NormalizedAuditQuery };
import { AuditQueryError } from '../common/audit-query.error';

/**
 * Filters accepted by `AuditService.query()` (and, later, the HTTP API and CLI).
 * Every filter is optional; they combine with AND.
 */
export interface AuditQuery extends AuditQueryFilters {
  /**
   * Events at or after this instant (inclusive). A `Date` or an ISO-8601 string; a string
   * without a zone is read as UTC.
   */
  from?: Date | string;
  /** Events strictly before this instant (exclusive). Same forms as `from`. */
  to?: Date | string;
  /**
   * Page size, 1..1000.
   * @default 50
   */
  limit?: number;
  /** `nextCursor` of the previous page, to continue after it. */
  cursor?: string;
}

// Its own file, so the alarm outboxes' listings can throw it too.

/** Default page size of `query()`. */
export const DEFAULT_QUERY_LIMIT = 50;
/** Largest page size of `query()`. */
export const MAX_QUERY_LIMIT = 1000;

const STRING_FILTERS = [
  'actorId',
  'resourceType',
  'resourceId',
  'action',
  'requestId',
  'tenant',
] as const;
/** Every filter: `satisfies` makes a filter missing here a compile error. */
const KNOWN_FILTERS: KnownKeys = {
  actorId: true,
  resourceType: true,
  resourceId: true,
  action: true,
  requestId: true,
  tenant: true,
  outcome: true,
  from: true,
  to: true,
  limit: true,
  cursor: true,
} satisfies Record<keyof AuditQuery, true>;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_FILTER_LENGTH = 512;

/** Decodes a cursor made by {@link encodeCursor}; throws {@link AuditQueryError} when malformed. */
export function decodeCursor(cursor: string): AuditCursor {
  const malformed = () =>
    new AuditQueryError(
      `Malformed cursor ${JSON.stringify(cursor.slice(0, 80))}: pass the nextCursor value of a previous query() result unchanged.`,
    );
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw malformed();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw malformed();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 64
  ) {
    throw malformed();
  }
  return { ts: parsed[0], id: parsed[1] };
}

function parseInstant(key: 'from' | 'to', value: unknown): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms))
      throw new AuditQueryError(`Invalid date for "${key}": the Date object is invalid.`);
    return ms;
  }
  if (typeof value === 'string' && ISO_DATE.test(value)) {
    // JavaScript reads a date-time without a zone in the machine's local time (a date alone in
    // UTC); the trail is in UTC, so a zone-less time is UTC too, on every machine.
    const zoned = /T.*(Z|[+-]\d{2}:?\d{2})$/.test(value) || !value.includes('T');
    const ms = Date.parse(zoned ? value : `${value}Z`);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new AuditQueryError(
    `Invalid date for "${key}": ${describe(value)}. Use a Date or an ISO-8601 string such as "2026-01-31" or "2026-01-31T12:00:00Z".`,
  );
}

/**
 * Validates a query filter and turns it into the form stores receive.
 * @throws AuditQueryError naming the offending filter and the fix.
 */
export function parseAuditQuery(input: unknown = {}): NormalizedAuditQuery {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new AuditQueryError(
      'query() expects an object of filters, e.g. { actorId: "42", limit: 20 }.',
    );
  }
  const raw = input as Record<string, unknown>;
  const unknown = unknownKeyOf(raw, KNOWN_FILTERS);
  if (unknown !== undefined) {
    throw new AuditQueryError(
      `Unknown query filter "${unknown}". Known filters: ${Object.keys(KNOWN_FILTERS).join(', ')}.`,
    );
  }
  const query: NormalizedAuditQuery = { limit: DEFAULT_QUERY_LIMIT };
  for (const key of STRING_FILTERS) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_FILTER_LENGTH) {
      throw new AuditQueryError(
        `Invalid "${key}" filter: expected a non-empty string of at most ${MAX_FILTER_LENGTH} characters, got ${describe(value)}.`,
      );
    }
    query[key] = value;
  }
  if (raw.outcome !== undefined) query.outcome = parseOutcome(raw.outcome);
  if (raw.from !== undefined) query.fromMs = parseInstant('from', raw.from);
  if (raw.to !== undefined) query.toMs = parseInstant('to', raw.to);
  if (query.fromMs !== undefined && query.toMs !== undefined && query.fromMs > query.toMs) {
    throw new AuditQueryError('"from" is after "to": swap them or widen the period.');
  }
  if (raw.limit !== undefined) query.limit = parseLimit(raw.limit);
  if (raw.cursor !== undefined) query.before = parseCursor(raw.cursor);
  return query;
}

function parseOutcome(outcome: unknown): AuditOutcome {
  if (!isAuditOutcome(outcome)) {
    throw new AuditQueryError(
      `Invalid "outcome" filter ${describe(outcome)}: use one of ${AUDIT_OUTCOMES.join(', ')}.`,
    );
  }
  return outcome;
}

function parseLimit(limit: unknown): number {
  if (
    typeof limit !== 'number' ||
    !Number.isInteger(limit) ||
    limit < 1 ||
    limit > MAX_QUERY_LIMIT
  ) {
    throw new AuditQueryError(
      `Invalid "limit" ${describe(limit)}: use a whole number from 1 to ${MAX_QUERY_LIMIT}, and page with nextCursor.`,
    );
  }
  return limit;
}

function parseCursor(cursor: unknown): AuditCursor {
  if (typeof cursor !== 'string') {
    throw new AuditQueryError(
      'Invalid "cursor": pass the nextCursor string of a previous query() result.',
    );
  }
  return decodeCursor(cursor);
}
