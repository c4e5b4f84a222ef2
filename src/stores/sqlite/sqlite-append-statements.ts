import type { AlarmColumns } from '../alarm-columns';
import type { AuditSqlStatement } from '../sql-append';
import { alarmRowOf, SQLITE_ALARM_INSERT_SQL } from './sqlite-alarm-outbox';
import { SQLITE_PAYLOAD_COLUMN, type SqliteEventRow } from './sqlite-protocol';
import { SQLITE_INSERT_PAYLOAD_BY_ID_SQL, SQLITE_INSERT_SQL } from './sqlite-query';

/**
 * The statements of an append, as the store's own transaction would run them, for a transaction
 * the application runs on the same connection (the ORM integrations' atomic mode): per event,
 * its indexed row and its payload; then the alarm entries. Ids and dedup keys already stored are
 * skipped, as by `append()`.
 */
export function sqliteAppendStatements(
  rows: readonly SqliteEventRow[],
  alarms: readonly AlarmColumns[],
): AuditSqlStatement[] {
  const statements: AuditSqlStatement[] = [];
  for (const row of rows) {
    statements.push(
      { text: SQLITE_INSERT_SQL, values: row.slice(0, SQLITE_PAYLOAD_COLUMN) },
      { text: SQLITE_INSERT_PAYLOAD_BY_ID_SQL, values: [row[SQLITE_PAYLOAD_COLUMN], row[0]] },
    );
  }
  for (const columns of alarms) {
    statements.push({ text: SQLITE_ALARM_INSERT_SQL, values: alarmRowOf(columns) });
  }
  return statements;
}
