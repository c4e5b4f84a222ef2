import type { AlarmColumns } from '../alarm-columns';
import type { AuditSqlStatement } from '../sql-append';
import type { PostgresAlarmStatements } from './postgres-alarm-statements';
import type { postgresInsert, PostgresEventRow, PostgresInsertMode } from './postgres-insert';
import type { PostgresStatement } from './postgres-query';
import type { PostgresRelayStatements } from './postgres-stream-relay';

/** The prepared inserts of one events table that an append is made of. */
export interface PostgresAppendSql {
  /** The events insert (see `postgresInsert`). */
  insert: ReturnType<typeof postgresInsert>;
  /** The alarm outbox's statements. */
  alarms: PostgresAlarmStatements;
  /** The stream relay backlog's statements. */
  relay: PostgresRelayStatements;
}

/**
 * The statements of one batch the store commits itself: with alarms and up to 1000 events, one
 * statement.
 */
export function postgresAppendBatch(
  sql: PostgresAppendSql,
  rows: readonly PostgresEventRow[],
  alarmRows: readonly AlarmColumns[],
  mode: PostgresInsertMode,
): PostgresStatement[] {
  const eventInserts = rows.length === 0 ? [] : sql.insert(rows, mode);
  if (alarmRows.length === 0) return eventInserts;
  const [onlyEvents] = eventInserts;
  return eventInserts.length === 1 && onlyEvents
    ? sql.alarms.insert(alarmRows, onlyEvents)
    : [...eventInserts, ...sql.alarms.insert(alarmRows)];
}

/**
 * The statements of an append for a transaction on another connection to the same database (the
 * ORM integrations' atomic mode): the events, their entry in the stream relay backlog, and the
 * alarms. Ids and dedup keys already stored are skipped, as by `append()`.
 */
export function postgresAppendStatements(
  sql: PostgresAppendSql,
  rows: readonly PostgresEventRow[],
  alarmRows: readonly AlarmColumns[],
): AuditSqlStatement[] {
  // Run in a transaction the application owns, which a unique violation would abort.
  const statements = rows.length === 0 ? [] : sql.insert(rows, 'idempotent');
  if (rows.length > 0) statements.push(sql.relay.insert(rows.map((row) => row.columns.id)));
  if (alarmRows.length > 0) statements.push(...sql.alarms.insert(alarmRows));
  return statements.map((statement) => ({ text: statement.text, values: [...statement.values] }));
}
