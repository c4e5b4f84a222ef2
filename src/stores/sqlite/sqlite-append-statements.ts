import type { AlarmColumns } from '../alarm-columns';
import type { AuditSqlStatement } from '../sql-append';
import { alarmRowOf, SQLITE_ALARM_INSERT_SQL } from './sqlite-alarm-outbox';
import { SQLITE_PAYLOAD_COLUMN, type SqliteEventRow } from './sqlite-protocol';
import { canonicalEventJson } from '../../integrity/canonical';
import { SQLITE_INSERT_CHAINED_PAYLOAD_BY_ID_SQL } from './sqlite-chain';
import { SQLITE_INSERT_SQL } from './sqlite-query';
import { SQLITE_RELAY_INSERT_SQL } from './sqlite-stream-relay';

/**
 * The statements of an append, as the store's own transaction would run them, for a transaction
 * the application runs on the same connection (the ORM integrations' atomic mode): per event,
 * its indexed row, its payload (canonical JSON, chained after the head by the connection's
 * link function) and its entry in the stream relay backlog; then the alarm entries. Ids and dedup keys already stored are skipped, as by `append()`.
 * @param now - epoch milliseconds recorded as the time the events entered the backlog
 */
export function sqliteAppendStatements(
  rows: readonly SqliteEventRow[],
  alarms: readonly AlarmColumns[],
  now: number,
): AuditSqlStatement[] {
  const statements: AuditSqlStatement[] = [];
  for (const row of rows) {
    const canonical = canonicalEventJson(row[SQLITE_PAYLOAD_COLUMN]);
    statements.push(
      { text: SQLITE_INSERT_SQL, values: row.slice(0, SQLITE_PAYLOAD_COLUMN) },
      { text: SQLITE_INSERT_CHAINED_PAYLOAD_BY_ID_SQL, values: [canonical, canonical, row[0]] },
      { text: SQLITE_RELAY_INSERT_SQL, values: [row[0], now] },
    );
  }
  for (const columns of alarms) {
    statements.push({ text: SQLITE_ALARM_INSERT_SQL, values: alarmRowOf(columns) });
  }
  return statements;
}
