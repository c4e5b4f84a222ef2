import type { DataSource } from 'typeorm';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { SqliteAuditStore } from '../../stores/sqlite/sqlite-audit.store';
import type { SqliteAuditStoreOptions } from '../../stores/sqlite/sqlite-options';
import { sqliteConnectionOf } from './typeorm-row-state';

/** Options of {@link sqliteAuditStoreFor}: the store's, but for where it writes. */
export type SqliteAuditStoreForOptions = Omit<
  SqliteAuditStoreOptions,
  'path' | 'database' | 'closeDatabase'
>;

/**
 * A {@link SqliteAuditStore} on a better-sqlite3 `DataSource`'s own connection: the audit trail
 * lives in the application's SQLite file, and `AuditTypeOrmModule.forRoot({ atomic: true })`
 * inserts each change's event in the change's own transaction. The store leaves the connection
 * open when it closes, and runs its own writes between the application's transactions. Its
 * settings (WAL mode, `synchronous`, `busyTimeoutMs`) apply to that connection.
 *
 * @example
 * ```ts
 * AuditModule.forRootAsync({
 *   inject: [DataSource],
 *   useFactory: (dataSource: DataSource) => ({ store: sqliteAuditStoreFor(dataSource) }),
 * }),
 * AuditTypeOrmModule.forRoot({ atomic: true }),
 * ```
 * @throws AuditConfigurationError when the data source is not a better-sqlite3 one.
 */
export function sqliteAuditStoreFor(
  dataSource: DataSource,
  options: SqliteAuditStoreForOptions = {},
): SqliteAuditStore {
  const type: string = dataSource.options.type;
  if (type !== 'better-sqlite3') {
    throw new AuditConfigurationError(
      `nestjs-audit/typeorm: sqliteAuditStoreFor() needs a "better-sqlite3" DataSource, got "${type}". For PostgreSQL, use PostgresAuditStore on the same database.`,
    );
  }
  return new SqliteAuditStore({
    ...options,
    closeDatabase: false,
    database: () => {
      const connection = sqliteConnectionOf(dataSource);
      if (connection === undefined || !dataSource.isInitialized) {
        throw new AuditConfigurationError(
          'nestjs-audit/typeorm: sqliteAuditStoreFor(): the DataSource is not initialised yet. Inject it (forRootAsync, inject: [DataSource]) so that the store opens after TypeORM connected.',
        );
      }
      return connection;
    },
  });
}
