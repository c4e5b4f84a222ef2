import { prepareStatement, type SqliteDatabase } from './sqlite-driver';

/** The table holding the audit events, in every schema version. */
const EVENTS_TABLE = 'audit_events';

/**
 * Read-only questions about the schema of a SQLite audit database: which version it has and
 * which tables it holds. The migrations ask them before changing anything, and the CLI asks
 * them to decide whether it can read a file at all; neither repeats the catalogue queries.
 * Nothing here writes, so it works on a `query_only` connection.
 */
export class SqliteInspector {
  /** @param db an open connection; the inspector never closes it. */
  constructor(private readonly db: SqliteDatabase) {}

  /**
   * The schema version the migrations applied (`PRAGMA user_version`): 0 for a database
   * nestjs-audit never migrated.
   * @throws the driver's error when the file is not a SQLite database.
   */
  schemaVersion(): number {
    return Number(this.db.pragma('user_version', { simple: true }));
  }

  /**
   * Whether the database holds a table of this name.
   * @throws the driver's error when the file is not a SQLite database.
   */
  hasTable(name: string): boolean {
    return (
      prepareStatement(this.db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .pluck()
        .get(name) !== undefined
    );
  }

  /** Whether the database holds audit events (written by a `SqliteAuditStore`). */
  hasEvents(): boolean {
    return this.hasTable(EVENTS_TABLE);
  }
}
