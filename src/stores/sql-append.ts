import type { AlarmOutboxEntry } from '../alarms/alarm-outbox';
import type { AuditEvent } from '../event/audit-event';
import type { AuditStore } from './audit-store';

/** One SQL statement with its `$1…` parameters. */
export interface AuditSqlStatement {
  text: string;
  values: unknown[];
}

/**
 * Optional store capability: the statements that append events (and the alarm outbox entries
 * they raised) when run on another connection to the same database, inside a transaction the
 * application owns. The ORM integrations' atomic mode runs them in the write's own transaction,
 * so a change and its event commit together or not at all.
 */
export interface AuditSqlAppend {
  /**
   * The SQL dialect of the statements. PostgreSQL only: an application sharing one SQLite file
   * with the store in one process would make the two connections wait for each other on one
   * thread (better-sqlite3 waits synchronously for the file lock).
   */
  readonly sqlDialect: 'postgres';
  /**
   * Statements that insert the events and entries; inserting an id or dedup key already stored
   * is a no-op, as with `append()`.
   * @throws TypeError when an event lacks a field the store needs.
   */
  appendStatements(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<AuditSqlStatement[]>;
}

/** The store's in-transaction append, when it has one. */
export function sqlAppendOf(store: AuditStore): AuditSqlAppend | undefined {
  const candidate = store as Partial<AuditSqlAppend>;
  return typeof candidate.appendStatements === 'function' && candidate.sqlDialect !== undefined
    ? (candidate as AuditSqlAppend)
    : undefined;
}
