import { DEFAULT_FILE_MODE, fileModeProblem } from '../../common/file-mode';
import { describe, type KnownKeys, type OptionChecker } from '../../common/option-checks';
import { storeOptionChecks } from '../store-option-checks';
import { isSqliteDatabase, type SqliteDatabase } from './sqlite-driver';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/** Options of {@link SqliteAuditStore}. */
export interface SqliteAuditStoreOptions {
  /**
   * Database file, relative to the working directory. Missing parent directories are
   * created. `':memory:'` keeps everything in memory (lost on close). Not allowed together
   * with `database`.
   *
   * The store opens the file in a worker thread of its own: commits, fsyncs and queries run
   * there, so they never block the application's event loop.
   * @default './audit.db'
   */
  path?: string;
  /**
   * An open better-sqlite3 `Database`, or a function returning one that is called by
   * `init()`. The store sets WAL mode, migrates the schema (using `PRAGMA user_version`, so
   * give the audit trail a database of its own unless the application shares its connection on
   * purpose, see `closeDatabase`) and closes it in `close()`. Not allowed together with `path`.
   *
   * A better-sqlite3 `Database` cannot move to another thread, so with this option the store
   * runs every statement on the calling thread, as better-sqlite3 does: each commit (and its
   * fsync) blocks the event loop while it runs. Prefer `path` for an application's audit trail.
   * @default undefined (the store opens `path`)
   */
  database?: object | (() => object);
  /**
   * Whether `close()` closes the `database` given. Set `false` when the application keeps using
   * that connection: an ORM's, shared for the ORM integrations' atomic mode (see
   * `sqliteAuditStoreFor()` in `nestjs-audit/typeorm`). The store then also waits, before each
   * call, until no transaction of the application is open on the connection (at most
   * `busyTimeoutMs`), so that its writes never join a transaction that may roll back. Only with
   * `database`.
   * @default true
   */
  closeDatabase?: boolean;
  /**
   * SQLite `synchronous` level. `'FULL'` makes every commit durable across a power loss;
   * `'NORMAL'` is faster and, in WAL mode, can lose the last commits on power loss but never
   * corrupts the database.
   * @default 'FULL'
   */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * How long a write waits for another connection's lock before failing, in milliseconds.
   * With `database`, better-sqlite3 waits synchronously: the event loop is blocked meanwhile.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * Permissions of the database file when the store creates it (SQLite gives its `-wal` and
   * `-shm` files the same): the owner's alone by default; `0o640` lets a group read it. An
   * existing file keeps its own. Only with `path`.
   * @default 0o600
   */
  fileMode?: number;
}

const DEFAULT_PATH = './audit.db';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;
/** Every option: `satisfies` makes an option missing here a compile error. */
const KNOWN_OPTIONS: KnownKeys = {
  path: true,
  database: true,
  closeDatabase: true,
  synchronous: true,
  busyTimeoutMs: true,
  fileMode: true,
} satisfies Record<keyof SqliteAuditStoreOptions, true>;
const check: OptionChecker = storeOptionChecks('SqliteAuditStore');

/** Where the store's database comes from. */
export type DatabaseSource =
  | { kind: 'path'; path: string }
  | { kind: 'instance'; db: SqliteDatabase }
  | { kind: 'factory'; create: () => object };

/** A value as an error message shows it (the store's messages use it beside these checks). */

/** {@link SqliteAuditStoreOptions}, checked, with their defaults. */
export interface ResolvedSqliteOptions {
  source: DatabaseSource;
  /** The database's name for messages, until it is open. */
  location: string;
  synchronous: 'NORMAL' | 'FULL';
  busyTimeoutMs: number;
  closesDatabase: boolean;
  /** Permissions of a database file the store creates. */
  fileMode: number;
}

/**
 * Checks the options of a {@link SqliteAuditStore}.
 * @throws AuditConfigurationError naming the invalid option and how to fix it.
 */
export function resolveSqliteOptions(options: SqliteAuditStoreOptions): ResolvedSqliteOptions {
  if (options === null || typeof options !== 'object') {
    throw new AuditConfigurationError(
      `SqliteAuditStore expects an options object such as { path: './data/audit.db' }, got ${describe(options)}.`,
    );
  }
  check.knownKeys(options, KNOWN_OPTIONS);
  const { path, database, closeDatabase, synchronous = 'FULL', busyTimeoutMs, fileMode } = options;
  if (path !== undefined && database !== undefined) {
    throw new AuditConfigurationError(
      'SqliteAuditStore options "path" and "database" exclude each other: pass a file path, or a database the store should use, not both.',
    );
  }
  const source = sourceOf(path, database);
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    check.fail(
      'synchronous',
      `${describe(synchronous)} is not supported; use 'FULL' (durable across power loss) or 'NORMAL' (faster, may lose the last commits on power loss)`,
    );
  }
  return {
    source,
    location: locationOf(source),
    synchronous,
    busyTimeoutMs: busyTimeoutOf(busyTimeoutMs),
    closesDatabase: closesDatabaseOf(closeDatabase, database),
    fileMode: fileModeOf(fileMode, database),
  };
}

function fileModeOf(fileMode: unknown, database: unknown): number {
  if (fileMode === undefined) return DEFAULT_FILE_MODE;
  const problem = fileModeProblem(fileMode);
  if (problem !== undefined) check.fail('fileMode', problem);
  if (database !== undefined) {
    check.fail(
      'fileMode',
      'it applies to a file the store creates from "path"; a "database" given is already open',
    );
  }
  return fileMode as number;
}

function locationOf(source: DatabaseSource): string {
  if (source.kind === 'path') return source.path;
  return source.kind === 'instance' ? source.db.name : 'database from the "database" factory';
}

function busyTimeoutOf(busyTimeoutMs: unknown): number {
  return check.wholeNumber('busyTimeoutMs', busyTimeoutMs, {
    fallback: DEFAULT_BUSY_TIMEOUT_MS,
    min: 0,
    max: MAX_BUSY_TIMEOUT_MS,
    unit: 'milliseconds',
  });
}

function closesDatabaseOf(closeDatabase: unknown, database: unknown): boolean {
  if (closeDatabase === undefined) return true;
  check.optionalBoolean('closeDatabase', closeDatabase, true);
  if (database === undefined) {
    check.fail(
      'closeDatabase',
      'it applies to a "database" the application gives; a store opened from "path" always closes its own connection',
    );
  }
  return closeDatabase as boolean;
}

function sourceOf(path: unknown, database: unknown): DatabaseSource {
  if (database === undefined) {
    const file = path ?? DEFAULT_PATH;
    if (typeof file !== 'string' || file.length === 0 || file.includes('\0')) {
      check.mismatch('path', "a file path such as './data/audit.db', or ':memory:'", file);
    }
    return { kind: 'path', path: file };
  }
  if (typeof database === 'function') {
    return { kind: 'factory', create: database as () => object };
  }
  if (!isSqliteDatabase(database)) {
    check.mismatch(
      'database',
      'a better-sqlite3 Database instance or a function returning one',
      database,
    );
  }
  if (!database.open) {
    check.fail('database', 'the given database is already closed; pass an open one');
  }
  return { kind: 'instance', db: database };
}
