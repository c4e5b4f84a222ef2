import type { AlarmOutboxEntry } from './alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';
import type { AuditStore } from './audit-store';

/** The SQL dialect of an {@link AuditSqlAppend}'s statements. */
export type AuditSqlDialect = 'postgres' | 'sqlite';

/** One SQL statement with its parameters (`$1…` on PostgreSQL, `?` on SQLite). */
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
  /** The SQL dialect of the statements. */
  readonly sqlDialect: AuditSqlDialect;
  /**
   * The one connection the statements may run on, when the store has one (SQLite: the
   * application's own better-sqlite3 connection, which the store shares; a second connection
   * to the file would wait for the application's lock, and make its transactions fail with
   * SQLITE_BUSY). `undefined`: any connection to the same database (PostgreSQL).
   */
  readonly sqlConnection?: object;
  /**
   * Statements that insert the events and entries; inserting an id or dedup key already stored
   * is a no-op, as with `append()`. They also put each event in the store's relay backlog, where
   * it stays until {@link AuditSqlAppend.markStreamed}: the application writes the ECS lines of
   * a transaction only after its commit, and a crash in between must not lose them.
   * @throws AuditRecordError when an event lacks a field the store needs.
   */
  appendStatements(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<AuditSqlStatement[]>;
  /**
   * Events of the relay backlog that entered it at least `olderThanMs` ago (their ECS lines may
   * never have been written), oldest first, at most `limit`.
   */
  unstreamed(olderThanMs: number, limit: number): Promise<AuditEvent[]>;
  /** Takes events out of the relay backlog once their ECS lines are written. */
  markStreamed(ids: readonly string[]): Promise<void>;
}

/** The store's in-transaction append, when it has one. */
export function sqlAppendOf(store: AuditStore): AuditSqlAppend | undefined {
  const candidate = store as Partial<AuditSqlAppend>;
  return typeof candidate.appendStatements === 'function' && candidate.sqlDialect !== undefined
    ? (candidate as AuditSqlAppend)
    : undefined;
}
