import type { AuditEvent } from '../../event/audit-event';
import type { NormalizedAuditQuery } from '../audit-query-model';
import type { SqliteValue } from './sqlite-driver';
import { EQUALITY_FILTER_COLUMNS } from '../filter-columns';
import { parsePayload, withSequence } from '../payload-page';

/** A parameterised statement: SQL text with `?` placeholders and the values to bind. */
export interface SqliteQuery {
  /** SQL text; depends only on which filters are set, so it can be cached as a statement. */
  sql: string;
  /** Values in placeholder order. */
  params: SqliteValue[];
}

/**
 * The payload of the event row being read, by its rowid, after its chain sequence number and a
 * comma (`12,{…}`, or `,{…}` for a row outside the chain): see {@link sqliteEventOf}. A
 * correlated subquery rather than a join: the plan over `audit_events` stays the one its filters
 * choose, and a payload is read only for a row the query returns (a LEFT JOIN took 4x as long
 * for a page whose filter the index does not cover). One subquery for both values:
 * a second lookup of the same row cost 14% more per page of 50 events, the concatenation 2%, and
 * the store's worker still hands one string per event across the thread boundary.
 */
const PAYLOAD = `(SELECT coalesce(seq, '') || ',' || payload FROM audit_payloads WHERE event = audit_events.rowid)`;

/**
 * An event from one text {@link SQLITE_GET_SQL}, {@link SQLITE_HISTORY_SQL} or
 * {@link buildSqliteQuery} read: its JSON, with the sequence number before it as
 * `AuditEvent.sequence` (absent for a row outside the chain).
 */
export function sqliteEventOf(text: string): AuditEvent {
  const comma = text.indexOf(',');
  // The JSON is a slice, which V8 takes without copying the payload.
  const event = parsePayload(text.slice(comma + 1));
  return withSequence(event, comma > 0 ? Number(text.slice(0, comma)) : undefined);
}

/**
 * Every event of one resource, oldest first; served by `audit_events_resource_ts`, which gives
 * the time order (events of the same millisecond are then sorted by id, a handful at most).
 */
export const SQLITE_HISTORY_SQL = `SELECT ${PAYLOAD} FROM audit_events WHERE resource_type = ? AND resource_id = ? ORDER BY ts ASC, id ASC`;

/** One event by id; served by the unique index `audit_events_id`. */
export const SQLITE_GET_SQL = `SELECT ${PAYLOAD} FROM audit_events WHERE id = ?`;

/**
 * Inserts the indexed columns of one event (the first ten values of a `SqliteEventRow`); an id
 * already stored is skipped (idempotent retries), and then so is its payload.
 */
export const SQLITE_INSERT_SQL = `INSERT INTO audit_events
  (id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

/**
 * Filters from the most to the least selective at realistic cardinalities (a request has a few
 * events, a resource tens, an actor hundreds, a tenant, action or outcome many thousands).
 * Without statistics SQLite would pick among the indexes of an actor + action query at random,
 * and the action index reads every event of the action; only the most selective filter given is
 * offered to the planner, the others are written `+column = ?`, which SQLite checks on each row
 * but never seeks with. A resource type without an id is not selective at all (its index would
 * sort every event of the type): it is always only checked.
 */
const SELECTIVITY: Record<(typeof EQUALITY_FILTER_COLUMNS)[number][0], number> = {
  requestId: 0,
  resourceId: 1,
  resourceType: 1,
  actorId: 2,
  tenant: 3,
  action: 4,
  outcome: 5,
};

function leadingFilter(query: NormalizedAuditQuery): number {
  let lead = Number.POSITIVE_INFINITY;
  for (const [key] of EQUALITY_FILTER_COLUMNS) {
    if (query[key] === undefined) continue;
    if (key === 'resourceType' && query.resourceId === undefined) continue;
    lead = Math.min(lead, SELECTIVITY[key]);
  }
  return lead;
}

/**
 * Builds the page query for `query()`: newest first, keyset paging, and one row more than
 * the page size so the caller knows whether a next page exists without counting.
 */
export function buildSqliteQuery(query: NormalizedAuditQuery): SqliteQuery {
  const where: string[] = [];
  const params: SqliteValue[] = [];
  const lead = leadingFilter(query);
  for (const [key, column] of EQUALITY_FILTER_COLUMNS) {
    const value = query[key];
    if (value === undefined) continue;
    const seek = SELECTIVITY[key] === lead;
    where.push(`${seek ? '' : '+'}${column} = ?`);
    params.push(value);
  }
  if (query.fromMs !== undefined) {
    where.push('ts >= ?');
    params.push(query.fromMs);
  }
  if (query.toMs !== undefined) {
    where.push('ts < ?');
    params.push(query.toMs);
  }
  if (query.before !== undefined) {
    // The indexes end in ts (the id would double their size): `ts <= ?` is the seek that
    // starts a deep page where the previous one ended, and the row value keeps only the rows
    // after the cursor among those of its millisecond.
    where.push('ts <= ?', '(ts, id) < (?, ?)');
    params.push(query.before.ts, query.before.ts, query.before.id);
  }
  params.push(query.limit + 1);
  const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  return {
    sql: `SELECT ${PAYLOAD} FROM audit_events${filter} ORDER BY ts DESC, id DESC LIMIT ?`,
    params,
  };
}
