import type { AuditEvent, AuditOutcome } from '../event/audit-event';

/*
 * The read side of the store contract: what `AuditStore.query()` receives and returns. It lives
 * with the stores so that they depend on nothing above them; `query/` validates user filters
 * into this form.
 */

/** The equality filters of a query; each is optional, and they combine with AND. */
export interface AuditQueryFilters {
  /** Only events by this actor id. */
  actorId?: string;
  /** Only events on this resource type (`target.type`). */
  resourceType?: string;
  /** Only events on this resource id (`target.id`); usually with `resourceType`. */
  resourceId?: string;
  /** Only this exact action, e.g. `user.update`. */
  action?: string;
  /** Only this outcome. */
  outcome?: AuditOutcome;
  /** Only events of this request id. */
  requestId?: string;
  /** Only events of this tenant. */
  tenant?: string;
}

/** One page of events, newest first. */
export interface AuditQueryResult {
  /** Events, newest first. */
  items: AuditEvent[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/** Position of an event in the (timestamp, id) order used by keyset paging. */
export interface AuditCursor {
  /** Event time in epoch milliseconds. */
  ts: number;
  /** Event id (tie-breaker for equal timestamps). */
  id: string;
}

/** A validated query, as stores receive it: the equality filters as given, bounds as epoch ms. */
export interface NormalizedAuditQuery extends AuditQueryFilters {
  /** Inclusive lower bound, epoch ms. */
  fromMs?: number;
  /** Exclusive upper bound, epoch ms. */
  toMs?: number;
  /** Page size, 1..1000. */
  limit: number;
  /** Return only events strictly older than this position in (ts, id) order. */
  before?: AuditCursor;
}

/**
 * Encodes a keyset position as an opaque, URL-safe cursor string: a store sets the
 * `nextCursor` of a page to the cursor of its last event, and receives it back decoded as
 * `before`.
 */
export function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify([cursor.ts, cursor.id]), 'utf8').toString('base64url');
}
