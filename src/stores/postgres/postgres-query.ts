import type { NormalizedAuditQuery } from '../audit-query-model';
import { isAuditOutcome, type AuditEvent } from '../../event/audit-event';
import { EQUALITY_FILTER_COLUMNS } from '../filter-columns';
import { parsePayload, withSequence } from '../payload-page';
import { postgresChainNames } from './postgres-chain';
import type { PostgresNames } from './postgres-names';
import { toPostgresTimestamp } from './postgres-timestamp';

/** A parameterised statement: SQL text with `$n` placeholders and the values to bind. */
export interface PostgresStatement {
  /** SQL text; depends only on the table and on which filters are set. */
  text: string;
  /** Values in placeholder order. */
  values: unknown[];
  /**
   * This statement with another one run after it in the same statement (through `WITH`), for a
   * statement that is itself a `WITH`; the other may not add placeholders before its own.
   */
  followedBy?: (next: string) => string;
}

/**
 * The statements of one events table. Each reads rows of two values: the event's JSON text and
 * its chain sequence number, or `null` while it is not sealed (see {@link postgresEventOf}).
 */
export interface PostgresStatements {
  /** One page of `query()`: newest first, keyset paging, one row more than the page size. */
  page(query: NormalizedAuditQuery): PostgresStatement;
  /** Every event of one resource, oldest first. */
  history(resourceType: string, resourceId: string): PostgresStatement;
  /** One event by id. */
  get(id: string): PostgresStatement;
}

/** An event from a row of {@link PostgresStatements}, with its chain `sequence` once sealed. */
export function postgresEventOf(row: readonly unknown[]): AuditEvent {
  return withSequence(parsePayload(row[0]), row[1] as number | null);
}

/** Builds the statements of the table named by `names`. */
export function postgresStatements(names: PostgresNames): PostgresStatements {
  const table = names.qualifiedTable;
  // The payload is read as text and parsed by the store, so a custom json type parser set on a
  // shared pool cannot change what the store returns. The sequence number is looked up by the
  // chain's unique event index for each row returned (not joined, so the plan stays the one the
  // events table's filters choose); float8, so that the driver gives a number.
  const seqOf = (alias: string) =>
    `(SELECT c.seq::float8 FROM ${postgresChainNames(names).chain} c WHERE c.event_id = ${alias}.id)`;
  const historySql = `SELECT e.payload::text, ${seqOf('e')} FROM ${table} e
    WHERE resource_type = $1 AND resource_id = $2 ORDER BY ts ASC, id ASC`;
  const getSql = `SELECT e.payload::text, ${seqOf('e')} FROM ${table} e WHERE id = $1 LIMIT 1`;

  return {
    page(query) {
      const where: string[] = [];
      const values: unknown[] = [];
      const bind = (value: unknown) => {
        values.push(value);
        return `$${values.length}`;
      };
      for (const [key, column] of EQUALITY_FILTER_COLUMNS) {
        const value = query[key];
        if (value === undefined) continue;
        // The outcome is one of three words: written as a literal, the planner sees whether it
        // is covered by the partial index of outcomes other than success, whatever plan cache
        // mode the session uses.
        const operand = key === 'outcome' && isAuditOutcome(value) ? `'${value}'` : bind(value);
        where.push(`${column} = ${operand}`);
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
        // The row comparison is the keyset seek on the (ts, id) index; the plain bound on ts
        // says the same in the form the (…, ts) filter indexes and partition pruning use (ties
        // in ts are few, and sorted by id after the index).
        where.push(`ts <= ${ts}::timestamptz AND (ts, id) < (${ts}::timestamptz, ${id})`);
      }
      const filter = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
      // The page is taken first, then numbered: in the select list of the filtered query, the
      // lookup's cost made the planner weigh it for every row the filter matches, and read a busy
      // actor's events through the time index instead of the actor's. The outer order is the
      // inner one, which the planner knows, so it sorts nothing again.
      const page = `SELECT id, ts, payload::text AS payload FROM ${table}${filter}
        ORDER BY ts DESC, id DESC LIMIT ${bind(query.limit + 1)}`;
      return {
        text: `SELECT p.payload, ${seqOf('p')} FROM (${page}) p ORDER BY p.ts DESC, p.id DESC`,
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
