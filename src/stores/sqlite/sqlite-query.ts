import type { NormalizedAuditQuery } from '../../query/audit-query';
import type { SqliteValue } from './sqlite-driver';
import { EQUALITY_FILTER_COLUMNS } from '../event-columns';

/** A parameterised statement: SQL text with `?` placeholders and the values to bind. */
export interface SqliteQuery {
  /** SQL text; depends only on which filters are set, so it can be cached as a statement. */
  sql: string;
  /** Values in placeholder order. */
  params: SqliteValue[];
}

/** Every event of one resource, oldest first; served by `audit_events_resource_ts`. */
export const SQLITE_HISTORY_SQL =
  'SELECT payload FROM audit_events WHERE resource_type = ? AND resource_id = ? ORDER BY ts ASC, id ASC';

/** One event by id; served by the primary key. */
export const SQLITE_GET_SQL = 'SELECT payload FROM audit_events WHERE id = ?';

/** Inserts one event; an id already stored is skipped (idempotent retries). */
export const SQLITE_INSERT_SQL = `INSERT INTO audit_events
  (id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version, payload)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`;

/**
 * Builds the page query for `query()`: newest first, keyset paging, and one row more than
 * the page size so the caller knows whether a next page exists without counting.
 */
export function buildSqliteQuery(query: NormalizedAuditQuery): SqliteQuery {
  const where: string[] = [];
  const params: SqliteValue[] = [];
  for (const [key, column] of EQUALITY_FILTER_COLUMNS) {
    const value = query[key];
    if (value === undefined) continue;
    where.push(`${column} = ?`);
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
    // The row value is the same predicate as (ts < ? OR (ts = ? AND id < ?)), in the form
    // SQLite turns into a seek on the (…, ts, id) indexes; the OR form only filters, which
    // makes deep pages scan every newer row.
    where.push('(ts, id) < (?, ?)');
    params.push(query.before.ts, query.before.id);
  }
  params.push(query.limit + 1);
  const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
  return {
    sql: `SELECT payload FROM audit_events${filter} ORDER BY ts DESC, id DESC LIMIT ?`,
    params,
  };
}
