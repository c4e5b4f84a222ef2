import { reasonOf } from '../../common/message-of';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/**
 * The few shapes of the `pg` driver the PostgreSQL store relies on, declared structurally so
 * that `pg` stays an optional dependency and its types never reach the public declarations.
 * A `pg` `Pool` satisfies {@link PostgresPool} as it is.
 */

/** One statement sent through the extended protocol (parameters bound, never interpolated). */
export interface PostgresQueryConfig {
  /** SQL text with `$1`, `$2`, ... placeholders. */
  text: string;
  /** Values in placeholder order. */
  values?: unknown[];
  /** `'array'` returns each row as an array of column values instead of an object. */
  rowMode?: 'array';
  /** Client-side limit in milliseconds, after which the query is failed locally. */
  query_timeout?: number;
  /** Type parsers for this statement only, instead of the pool's. */
  types?: PostgresTypes;
}

/** The type parsers a statement of `pg` may carry, for that statement only. */
export interface PostgresTypes {
  /** The parser of one column type (`oid`) in one format (`'text'` or `'binary'`). */
  getTypeParser(oid: number, format?: string): (value: string) => unknown;
}

/** What a statement returns. */
export interface PostgresQueryResult {
  /** Result rows (arrays when `rowMode: 'array'`). */
  rows: unknown[];
  /** Rows affected or returned; `null` for statements without a count. */
  rowCount: number | null;
}

/** A connection checked out of a {@link PostgresPool}. */
export interface PostgresPoolClient {
  /** Runs one statement (or, without `values`, several separated by semicolons). */
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
  /**
   * Returns the connection to its pool. With an error (or `true`) the pool discards it
   * instead, which is how a connection in an unknown state is never reused.
   */
  release(destroy?: Error | boolean): void;
  /** Listens for connection errors raised while no statement is running. */
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes a listener added with {@link PostgresPoolClient.on}. */
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
}

/** The part of a `pg` `Pool` the store uses. */
export interface PostgresPool {
  /** Checks a connection out. */
  connect(): Promise<PostgresPoolClient>;
  /** Closes every connection. */
  end(): Promise<void>;
}

/** Settings the store passes to the `pg` `Pool` constructor when it creates the pool. */
export interface PostgresPoolConfig {
  /** Connection URI; without it, pg reads the `PG*` environment variables. */
  connectionString?: string;
  /** Most connections open at once. */
  max: number;
  /** Longest wait for a connection, in milliseconds. */
  connectionTimeoutMillis: number;
  /** Server-side limit per statement, in milliseconds, set when each session starts. */
  statement_timeout: number;
  /** Client-side limit per statement, in milliseconds. */
  query_timeout: number;
  /** The server ends a session left idle inside a transaction this long, in milliseconds. */
  idle_in_transaction_session_timeout: number;
  /** `application_name` shown in `pg_stat_activity`, unless the connection string sets one. */
  fallback_application_name: string;
  /** TCP keep-alive, so a silently dead connection is noticed. */
  keepAlive: boolean;
}

/** A pool the store created: it also listens for errors of idle connections. */
export interface OwnedPostgresPool extends PostgresPool {
  /** Listens for errors of idle connections (without a listener, Node.js would crash). */
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The `pg` `Pool` constructor. */
export type PostgresPoolConstructor = new (config: PostgresPoolConfig) => OwnedPostgresPool;

const DRIVER = 'pg';

/** Whether `value` can serve as a {@link PostgresPool} (duck-typed). */
export function isPostgresPool(value: unknown): value is PostgresPool {
  if (value === null || typeof value !== 'object') return false;
  const pool = value as Record<string, unknown>;
  return typeof pool.connect === 'function' && typeof pool.end === 'function';
}

function isMissingDriver(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // A missing dependency *of* pg also reports MODULE_NOT_FOUND; only pg itself missing means
  // "install it".
  return code === 'MODULE_NOT_FOUND' && reasonOf(error).includes(`'${DRIVER}'`);
}

function requireDriver(): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional driver must load only when this store is used
  return require(DRIVER);
}

/** The driver's type parsers (`pg.types`), or `undefined` when `pg` cannot be loaded here. */
export function postgresDriverTypes(): PostgresTypes | undefined {
  let types: unknown;
  try {
    types = (requireDriver() as { types?: unknown } | null)?.types;
  } catch {
    return undefined;
  }
  const parsers = types as Partial<PostgresTypes> | undefined;
  return typeof parsers?.getTypeParser === 'function' ? (parsers as PostgresTypes) : undefined;
}

/**
 * Loads the `pg` driver on first use.
 * @throws AuditConfigurationError naming `npm install pg` when the package is missing.
 */
export function loadPostgresDriver(): PostgresPoolConstructor {
  let loaded: unknown;
  try {
    loaded = requireDriver();
  } catch (error) {
    if (isMissingDriver(error)) {
      throw new AuditConfigurationError(
        `The PostgreSQL audit store needs the "${DRIVER}" package, which is not installed. Run \`npm install ${DRIVER}\`, or pass a pool of your own with the "pool" option.`,
        { cause: error },
      );
    }
    throw new AuditConfigurationError(
      `The "${DRIVER}" package is installed but could not be loaded (${reasonOf(error)}). Reinstall it with \`npm install ${DRIVER}\`.`,
      { cause: error },
    );
  }
  const module = loaded as { Pool?: unknown; default?: { Pool?: unknown } } | null;
  const Pool = module?.Pool ?? module?.default?.Pool;
  if (typeof Pool !== 'function') {
    throw new AuditConfigurationError(
      `The "${DRIVER}" package did not export a Pool constructor. Reinstall it with \`npm install ${DRIVER}\`.`,
    );
  }
  return Pool as PostgresPoolConstructor;
}
