import type { AuditEvent } from '../../event/audit-event';
import type { NormalizedAuditQuery } from '../../query/audit-query';
import { EQUALITY_FILTER_COLUMNS, type AuditEventColumns } from '../event-columns';
import type { PostgresNames } from './postgres-names';
import { toPostgresTimestamp } from './postgres-timestamp';

/** A parameterised statement: SQL text with `$n` placeholders and the values to bind. */
export interface PostgresStatement {
  /** SQL text; depends only on the table and on which filters are set. */
  text: string;
  /** Values in placeholder order. */
  values: unknown[];
}

/** The statements of one events table. */
export interface PostgresStatements {
  /**
   * Inserts a batch as multi-row `INSERT … VALUES` statements of at most
   * {@link MAX_ROWS_PER_INSERT} rows each; ids already stored are skipped. The rows must have
   * distinct ids (one statement cannot meet the same key twice).
   */
  insert(rows: readonly PostgresEventRow[]): PostgresStatement[];
  /** One page of `query()`: newest first, keyset paging, one row more than the page size. */
  page(query: NormalizedAuditQuery): PostgresStatement;
  /** Every event of one resource, oldest first. */
  history(resourceType: string, resourceId: string): PostgresStatement;
  /** One event by id. */
  get(id: string): PostgresStatement;
}

/** One event in column form, ready to bind. */
export interface PostgresEventRow {
  /** Indexed and filtered fields. */
  columns: AuditEventColumns;
  /** The whole event as JSON text. */
  payload: string;
}

/**
 * Rows per INSERT statement. Multi-row VALUES measured faster than unnest() of per-column
 * arrays (no array literal to escape and parse), and needs 11 parameters per row against the
 * protocol's limit of 65535 per statement.
 */
export const MAX_ROWS_PER_INSERT = 1000;

/** Builds an event's row. */
export function toPostgresRow(columns: AuditEventColumns, event: AuditEvent): PostgresEventRow {
  return { columns, payload: JSON.stringify(event) };
}

/** Builds the statements of the table named by `names`. */
export function postgresStatements(names: PostgresNames): PostgresStatements {
  const table = names.qualifiedTable;
  // The payload is read as text and parsed by the store, so a custom jsonb type parser set on a
  // shared pool cannot change what the store returns.
  const historySql = `SELECT payload::text FROM ${table}
    WHERE resource_type = $1 AND resource_id = $2 ORDER BY ts ASC, id ASC`;
  const getSql = `SELECT payload::text FROM ${table} WHERE id = $1 LIMIT 1`;
  const insertHead = `INSERT INTO ${table}
    (id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version, payload)
    VALUES `;

  return {
    insert(rows) {
      const statements: PostgresStatement[] = [];
      for (let first = 0; first < rows.length; first += MAX_ROWS_PER_INSERT) {
        const values: unknown[] = [];
        const tuples: string[] = [];
        for (const { columns: c, payload } of rows.slice(first, first + MAX_ROWS_PER_INSERT)) {
          const n = values.length;
          values.push(
            c.id,
            toPostgresTimestamp(c.ts),
            c.action,
            c.outcome,
            c.actorId,
            c.resourceType,
            c.resourceId,
            c.requestId,
            c.tenant,
            c.schemaVersion,
            payload,
          );
          tuples.push(
            `($${n + 1}, $${n + 2}::timestamptz, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9}, $${n + 10}::integer, $${n + 11}::jsonb)`,
          );
        }
        statements.push({
          text: `${insertHead}${tuples.join(', ')} ON CONFLICT DO NOTHING`,
          values,
        });
      }
      return statements;
    },

    page(query) {
      const where: string[] = [];
      const values: unknown[] = [];
      const bind = (value: unknown) => {
        values.push(value);
        return `$${values.length}`;
      };
      for (const [key, column] of EQUALITY_FILTER_COLUMNS) {
        const value = query[key];
        if (value !== undefined) where.push(`${column} = ${bind(value)}`);
      }
      if (query.fromMs !== undefined) {
        where.push(`ts >= ${bind(toPostgresTimestamp(query.fromMs))}::timestamptz`);
      }
      if (query.toMs !== undefined) {
        where.push(`ts < ${bind(toPostgresTimestamp(query.toMs))}::timestamptz`);
      }
      if (query.before !== undefined) {
        const ts = bind(toPostgresTimestamp(query.before.ts));
        const id = bind(query.before.id);
        // The row comparison is the keyset seek on the (…, ts, id) indexes; the plain bound on
        // ts says the same again in the form partition pruning understands.
        where.push(`ts <= ${ts}::timestamptz AND (ts, id) < (${ts}::timestamptz, ${id})`);
      }
      const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
      return {
        text: `SELECT payload::text FROM ${table}${filter} ORDER BY ts DESC, id DESC LIMIT ${bind(query.limit + 1)}`,
        values,
      };
    },

    history(resourceType, resourceId) {
      return { text: historySql, values: [resourceType, resourceId] };
    },

    get(id) {
      return { text: getSql, values: [id] };
    },
  };
}
