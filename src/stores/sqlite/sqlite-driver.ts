import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { messageOf } from '../../common/message-of';
/**
 * The boundary to better-sqlite3. The store talks to the driver only through these minimal
 * structural types, so the driver's own types never reach the public declarations and the
 * package is loaded only by applications that use the SQLite store.
 */

/** A value bound to a SQL parameter by the store. */
export type SqliteValue = string | number | null | Uint8Array;

/** Parameters of one statement: positional values, or one object of named (`@name`) values. */
type SqliteParams = SqliteValue[] | [Readonly<Record<string, SqliteValue>>];

/** The part of a better-sqlite3 `Statement` the store uses. */
export interface SqliteStatement {
  /**
   * Executes a write; `changes` is the number of rows it changed, `lastInsertRowid` the rowid
   * of the last row inserted (a `bigint` only with the driver's safe integers turned on).
   */
  run(...params: SqliteParams): { changes: number; lastInsertRowid: number | bigint };
  /** First row, or `undefined`. */
  get(...params: SqliteParams): unknown;
  /** Every row. */
  all(...params: SqliteParams): unknown[];
  /** Makes reads return the first column's value instead of a row object. */
  pluck(toggle?: boolean): SqliteStatement;
  /** Makes reads return each row as an array of column values. */
  raw(toggle?: boolean): SqliteStatement;
  /** Makes integer columns read as `bigint` (`true`) or as numbers (`false`). */
  safeIntegers(toggle?: boolean): SqliteStatement;
}

/**
 * Compiles one of the store's statements, reading integers as numbers whatever the connection's
 * default: an application's connection may read them as `bigint` (`defaultSafeIntegers(true)`),
 * which would turn the chain's sequence numbers and the outbox's counters into values the store
 * does not expect (a verified chain would read as broken).
 */
export function prepareStatement(db: SqliteDatabase, sql: string): SqliteStatement {
  return db.prepare(sql).safeIntegers(false);
}

/** A function wrapped in a transaction by better-sqlite3's `db.transaction()`. */
export interface SqliteTransaction<A extends unknown[], R = void> {
  /** Runs in `BEGIN` (deferred). */
  (...args: A): R;
  /** Runs in `BEGIN IMMEDIATE`: takes the write lock up front, so the busy timeout applies. */
  immediate(...args: A): R;
}

/** The part of a better-sqlite3 `Database` the store uses. */
export interface SqliteDatabase {
  /** Whether the connection is open. */
  readonly open: boolean;
  /** File name the connection was opened with. */
  readonly name: string;
  /** Whether a transaction is open on the connection. */
  readonly inTransaction: boolean;
  /** Compiles one statement. */
  prepare(sql: string): SqliteStatement;
  /** Runs one or more statements without parameters. */
  exec(sql: string): unknown;
  /** Runs a PRAGMA; `simple` returns the first column of the first row. */
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  /** Wraps `fn` so that each call runs in one transaction (rolled back when it throws). */
  transaction<A extends unknown[], R = void>(fn: (...args: A) => R): SqliteTransaction<A, R>;
  /** Registers a SQL function implemented in JavaScript on this connection. */
  function(
    name: string,
    options: { deterministic?: boolean },
    implementation: (...args: never[]) => unknown,
  ): unknown;
  /** Closes the connection. */
  close(): unknown;
}

/** The better-sqlite3 `Database` constructor. */
export type SqliteDriver = new (filename: string, options?: { timeout?: number }) => SqliteDatabase;

const DRIVER = 'better-sqlite3';

/** Whether `value` looks like an open-able better-sqlite3 `Database` (duck-typed). */
export function isSqliteDatabase(value: unknown): value is SqliteDatabase {
  if (value === null || typeof value !== 'object') return false;
  const db = value as Record<string, unknown>;
  return (
    typeof db.prepare === 'function' &&
    typeof db.exec === 'function' &&
    typeof db.pragma === 'function' &&
    typeof db.transaction === 'function' &&
    typeof db.close === 'function'
  );
}

function isMissingDriver(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  // A missing dependency *of* the driver also reports MODULE_NOT_FOUND; only the driver
  // itself missing means "install it".
  return code === 'MODULE_NOT_FOUND' && error.message.includes(`'${DRIVER}'`);
}

/** What a failed load of the driver's native addon says, in the words of Node.js and `bindings`. */
const ADDON_FOR_OTHER_NODE = /NODE_MODULE_VERSION|compiled against a different Node\.js version/;
const ADDON_NOT_BUILT = /Could not locate the bindings file/;

/**
 * The error to report when `error` says the native addon of better-sqlite3 cannot be loaded by
 * this process: built for another Node.js version (`NODE_MODULE_VERSION`), another platform
 * (`ERR_DLOPEN_FAILED`: wrong architecture, missing system library), or never built. Its message
 * names `npm rebuild better-sqlite3` first (a path or permission hint would mislead) and keeps
 * `error` as its `cause`; `undefined` for any other error.
 *
 * better-sqlite3 loads its addon when the first `Database` is constructed, not when the package
 * is required, so each place that constructs one maps its errors through this.
 */
export function nativeAddonError(error: unknown): Error | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  let problem: string;
  if (ADDON_FOR_OTHER_NODE.test(text)) {
    problem = `was built for another Node.js version than this one (${process.version}, NODE_MODULE_VERSION ${process.versions.modules})`;
  } else if (code === 'ERR_DLOPEN_FAILED') {
    problem = `was built for another Node.js version or platform and cannot be loaded here (${process.version} on ${process.platform}-${process.arch})`;
  } else if (ADDON_NOT_BUILT.test(text)) {
    problem = 'was never built (npm install ran with --ignore-scripts, or its build failed)';
  } else {
    return undefined;
  }
  // One line: the CLI prints the first line of a message, and Node's own text spans four.
  const reason = text.replace(/\s+/g, ' ').trim();
  return new AuditConfigurationError(
    `The native module ${DRIVER} ${problem}; run \`npm rebuild ${DRIVER}\` with the Node.js that runs this process, then start again. Loading it failed with: ${reason}`,
    { cause: error },
  );
}

/**
 * Loads better-sqlite3 on first use.
 * @throws AuditConfigurationError naming `npm install better-sqlite3` when the package is missing, or
 *   `npm rebuild better-sqlite3` when its native addon does not load.
 */
export function loadSqliteDriver(): SqliteDriver {
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional driver must load only when this store is used
    loaded = require(DRIVER);
  } catch (error) {
    if (isMissingDriver(error)) {
      throw new AuditConfigurationError(
        `The SQLite audit store needs the "${DRIVER}" package, which is not installed. Run \`npm install ${DRIVER}\`, or configure another audit store.`,
        { cause: error },
      );
    }
    const addon = nativeAddonError(error);
    if (addon !== undefined) throw addon;
    const reason = messageOf(error);
    throw new AuditConfigurationError(
      `The "${DRIVER}" package is installed but could not be loaded (${reason}). Its native addon is built for one Node.js version: run \`npm rebuild ${DRIVER}\`.`,
      { cause: error },
    );
  }
  const driver =
    typeof loaded === 'function' ? loaded : (loaded as { default?: unknown } | null)?.default;
  if (typeof driver !== 'function') {
    throw new AuditConfigurationError(
      `The "${DRIVER}" package did not export a Database constructor. Reinstall it with \`npm install ${DRIVER}\`.`,
    );
  }
  return driver as SqliteDriver;
}
