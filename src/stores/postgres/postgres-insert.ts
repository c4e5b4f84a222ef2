import type { AuditEvent } from '../../event/audit-event';
import { eventJson } from '../../event/event-json';
import { toEventColumns, type AuditEventColumns } from '../../event/event-columns';
import { queueInserted } from './postgres-chain';
import type { PostgresNames } from './postgres-names';
import type { PostgresStatement } from './postgres-query';
import { toPostgresTimestamp } from './postgres-timestamp';

/** One event in column form, ready to bind. */
export interface PostgresEventRow {
  /** Indexed and filtered fields. */
  columns: AuditEventColumns;
  /** The whole event as JSON text: the pipeline's own `eventJson(event)`, not a second copy. */
  payload: string;
  /** `timestamp` as PostgreSQL reads it. */
  timestamp: string;
}

/**
 * How an insert treats an id that is already stored:
 * - `'idempotent'`: skips it (`ON CONFLICT DO NOTHING`), for statements that cannot be retried
 *   (the application's own transaction in the ORM atomic mode);
 * - `'fast'`: fails with a unique violation (23505), and the caller runs the batch again
 *   idempotently. `ON CONFLICT` makes every row a speculative insertion (an extra key probe,
 *   an extra WAL record and lock), measured at ~20% of the server's time per row, while ids
 *   are fresh in all but retried batches.
 */
export type PostgresInsertMode = 'fast' | 'idempotent';

/**
 * Rows per INSERT statement. Any number fits the 11 parameters of one statement; the cap bounds
 * the size of one protocol message (a batch of large events is one string per column).
 */
export const MAX_ROWS_PER_INSERT = 1000;

/**
 * Separates the payloads inside their one parameter. JSON text never contains it raw (JSON
 * escapes every control character inside strings and allows none outside), so splitting on it
 * needs no escaping on either side, unlike a `text[]` literal, which quotes and backslashes
 * every `"` of every payload (measured: twice the client CPU and a third more server CPU).
 */
const PAYLOAD_SEPARATOR = '\x1e';

/** A timestamp PostgreSQL reads as it is, as `toISOString()` writes them (year 0 it rejects). */
const ISO_UTC = /^(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Builds an event's row, reusing the event's one JSON text. */
export function toPostgresRow(columns: AuditEventColumns, event: AuditEvent): PostgresEventRow {
  const json = eventJson(event);
  return {
    columns,
    timestamp: timestampOf(columns.ts, event.timestamp),
    // Only text that did not come from JSON.stringify could hold the separator; in JSON it can
    // only stand inside a string, where \u001e means the same.
    payload: json.includes(PAYLOAD_SEPARATOR)
      ? json.replaceAll(PAYLOAD_SEPARATOR, '\\u001e')
      : json,
  };
}

/**
 * The rows of a batch of events: one per id (the first wins), sorted by id.
 * @throws AuditRecordError when an event lacks a field the store needs.
 */
export function toPostgresRows(events: readonly AuditEvent[]): PostgresEventRow[] {
  const rows = new Map<string, PostgresEventRow>();
  for (const event of events) {
    const columns = toEventColumns(event);
    // A statement may not insert the same key twice under ON CONFLICT; keep the first, as
    // the other stores do.
    if (!rows.has(columns.id)) rows.set(columns.id, toPostgresRow(columns, event));
  }
  // Two batches sharing ids (a retry racing the original) take their key locks in the same
  // order, so they wait for each other instead of deadlocking.
  return [...rows.values()].sort((a, b) =>
    a.columns.id < b.columns.id ? -1 : a.columns.id > b.columns.id ? 1 : 0,
  );
}

/**
 * Builds the batch insert of the table named by `names`: one statement per
 * {@link MAX_ROWS_PER_INSERT} rows, whatever the batch size, each with one array parameter per
 * column (the payloads joined into one string), so the SQL text never changes and the client
 * binds 11 values instead of 11 per row.
 * @returns `insert(rows, mode)`; the rows must have distinct ids, sorted (two batches sharing
 *   ids then lock them in the same order).
 */
export function postgresInsert(
  names: PostgresNames,
): (rows: readonly PostgresEventRow[], mode: PostgresInsertMode) => PostgresStatement[] {
  // unnest() of several arrays zips them into rows. The payload is cast to json, which checks
  // it at a third of the cost of jsonb and which readers with SQL (pg parses json) get as an
  // object; a migrated jsonb column takes json by assignment cast.
  // The events inserted (not those skipped as stored already) are queued for the chain's seal
  // in the same statement.
  const insert = `INSERT INTO ${names.qualifiedTable}
    (id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version, payload)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
      $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[],
      string_to_array($11::text, E'\\x1e')::json[])`;
  const fast = `${insert} RETURNING id, ts`;
  const idempotent = `${insert} ON CONFLICT DO NOTHING RETURNING id, ts`;

  return (rows, mode) => {
    const statements: PostgresStatement[] = [];
    const returning = mode === 'fast' ? fast : idempotent;
    for (let first = 0; first < rows.length; first += MAX_ROWS_PER_INSERT) {
      statements.push({
        text: queueInserted(names, returning),
        values: columnArrays(rows.slice(first, first + MAX_ROWS_PER_INSERT)),
        followedBy: (next) => queueInserted(names, returning, next),
      });
    }
    return statements;
  };
}

/** The 11 parameters of one insert: an array per column, the payloads as one string. */
function columnArrays(rows: readonly PostgresEventRow[]): unknown[] {
  const n = rows.length;
  const ids = new Array<string>(n);
  const timestamps = new Array<string>(n);
  const actions = new Array<string>(n);
  const outcomes = new Array<string>(n);
  const actors = new Array<string | null>(n);
  const resourceTypes = new Array<string | null>(n);
  const resourceIds = new Array<string | null>(n);
  const requests = new Array<string | null>(n);
  const tenants = new Array<string | null>(n);
  const versions = new Array<number>(n);
  const payloads = new Array<string>(n);
  rows.forEach(({ columns: c, payload, timestamp }, i) => {
    ids[i] = c.id;
    timestamps[i] = timestamp;
    actions[i] = c.action;
    outcomes[i] = c.outcome;
    actors[i] = c.actorId;
    resourceTypes[i] = c.resourceType;
    resourceIds[i] = c.resourceId;
    requests[i] = c.requestId;
    tenants[i] = c.tenant;
    versions[i] = c.schemaVersion;
    payloads[i] = payload;
  });
  return [
    ids,
    timestamps,
    actions,
    outcomes,
    actors,
    resourceTypes,
    resourceIds,
    requests,
    tenants,
    versions,
    payloads.join(PAYLOAD_SEPARATOR),
  ];
}

/**
 * The event's own timestamp when PostgreSQL reads it exactly as written (the common
 * `toISOString()` form), else one formatted from its instant (offsets, extended years).
 */
function timestampOf(ms: number, written: string): string {
  return ISO_UTC.test(written) ? written : toPostgresTimestamp(ms);
}
