import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { reasonOf } from '../common/message-of';
import { SqliteAuditStore } from '../stores/sqlite/sqlite-audit.store';
import {
  loadSqliteDriver,
  nativeAddonError,
  type SqliteDatabase,
} from '../stores/sqlite/sqlite-driver';
import { SqliteInspector } from '../stores/sqlite/sqlite-inspector';
import { SQLITE_SCHEMA_VERSION } from '../stores/sqlite/sqlite.schema';
import { CliError } from './cli-error';
import { olderSchema, type OpenedStore } from './opened-store';

/** A SQLite file written by `SqliteAuditStore`. */
export interface SqliteSelection {
  /** The engine. */
  kind: 'sqlite';
  /** Path as given. */
  path: string;
}

/** How long a read waits for a SQLite writer's lock. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Opens an existing SQLite audit database for reading: a file that does not exist is an error
 * (opening it would create an empty one), and the connection is `query_only`, so the CLI cannot
 * write to it.
 * @throws CliError saying what is wrong and how to fix it.
 */
export async function openSqlite(path: string): Promise<OpenedStore> {
  const db = openSqliteFile(path);
  try {
    db.pragma('query_only = ON');
    checkSqliteSchema(db, path);
  } catch (error) {
    db.close();
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read "${path}": ${reasonOf(error)} — pass a SQLite database written by nestjs-audit with --db <file>.`,
      undefined,
      { cause: error },
    );
  }
  const store = new SqliteAuditStore({ database: db, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS });
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw new CliError(reasonOf(error), undefined, { cause: error });
  }
  return { store, label: path, close: () => store.close() };
}

/** A connection to an existing SQLite file; never creates one. */
function openSqliteFile(path: string): SqliteDatabase {
  const file = resolve(path);
  if (!existsSync(file)) {
    throw new CliError(
      `no such file "${path}" — pass the audit database with --db <file> (the "path" of SqliteAuditStore), or --pg <url> for PostgreSQL.`,
    );
  }
  if (!statSync(file).isFile()) {
    throw new CliError(
      `"${path}" is not a file — pass the SQLite audit database with --db <file>.`,
    );
  }
  const Driver = loadSqliteDriver() as unknown as new (
    filename: string,
    options: { fileMustExist: boolean; timeout: number },
  ) => SqliteDatabase;
  try {
    // Not `readonly: true`: SQLite cannot remove the -wal and -shm files of a WAL database when
    // a read-only connection closes, so every run would leave them beside the file. query_only
    // (set by the caller) keeps this connection from writing; closing as the last connection, it
    // removes them as the application does. A file this user may not write SQLite opens read-only.
    return new Driver(file, { fileMustExist: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
  } catch (error) {
    const addon = nativeAddonError(error);
    if (addon !== undefined) throw new CliError(addon.message, undefined, { cause: error });
    throw new CliError(
      `cannot open "${path}": ${reasonOf(error)} — check the path and that you may read it.`,
      undefined,
      { cause: error },
    );
  }
}

/** Refuses a SQLite file without audit events, or with a schema older than this release's. */
function checkSqliteSchema(db: SqliteDatabase, path: string): void {
  const inspector = new SqliteInspector(db);
  if (!inspector.hasEvents()) {
    throw new CliError(
      `"${path}" is a SQLite database without audit events (no audit_events table) — pass the file your application's SqliteAuditStore writes with --db <file>.`,
    );
  }
  const version = inspector.schemaVersion();
  // Opening it read-only, the store could not migrate it; and a reader must not change the
  // schema under the application anyway.
  if (version < SQLITE_SCHEMA_VERSION) {
    throw olderSchema(`"${path}"`, version, SQLITE_SCHEMA_VERSION);
  }
}
