import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AuditStore } from '../stores/audit-store';
import { PostgresAuditStore } from '../stores/postgres/postgres-audit.store';
import { POSTGRES_SCHEMA_VERSION } from '../stores/postgres/postgres.schema';
import { loadPostgresDriver, type OwnedPostgresPool } from '../stores/postgres/postgres-driver';
import { reasonOf } from '../stores/postgres/postgres-errors';
import {
  identifierProblem,
  MAX_SCHEMA_NAME_LENGTH,
  MAX_TABLE_NAME_LENGTH,
  postgresNames,
} from '../stores/postgres/postgres-names';
import { SqliteAuditStore } from '../stores/sqlite/sqlite-audit.store';
import {
  loadSqliteDriver,
  nativeAddonError,
  type SqliteDatabase,
} from '../stores/sqlite/sqlite-driver';
import { SQLITE_SCHEMA_VERSION } from '../stores/sqlite/sqlite.schema';
import { CliError, EXIT_USAGE } from './cli-error';

/** The audit database the user pointed the CLI at. */
export type StoreSelection =
  | {
      /** A SQLite file written by `SqliteAuditStore`. */
      kind: 'sqlite';
      /** Path as given. */
      path: string;
    }
  | {
      /** A PostgreSQL table written by `PostgresAuditStore`. */
      kind: 'postgres';
      /** Connection URI. */
      url: string;
      /** Schema of the events table. */
      schema: string;
      /** Name of the events table. */
      table: string;
    };

/** The global options that choose the database, with where each value came from. */
export interface StoreOptionValues {
  /** `--db`. */
  db?: string;
  /** `--pg` (or `AUDIT_PG_URL`). */
  pg?: string;
  /** `--pg-schema`. */
  pgSchema?: string;
  /** `--pg-table`. */
  pgTable?: string;
  /** Where a value came from: `'cli'`, `'env'`, `'default'`, or `undefined` when unset. */
  sourceOf: (name: 'db' | 'pg') => string | undefined;
}

/** An open store and how to name it in messages. */
export interface OpenedStore {
  /** The store, initialised. Only its read methods are used. */
  store: AuditStore;
  /** `audit.db`, or the PostgreSQL URL without its password, for summaries. */
  label: string;
  /** Closes the store and whatever the CLI opened for it. Safe to call twice. */
  close(): Promise<void>;
}

/** Longest wait for a PostgreSQL connection: an unreachable server fails fast on a terminal. */
const PG_CONNECT_TIMEOUT_MS = 5_000;
/** Longest a read may run before PostgreSQL cancels it. */
const PG_STATEMENT_TIMEOUT_MS = 60_000;
/** How long a read waits for a SQLite writer's lock. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Chooses the database: `--pg` beats `--db`, an explicit `--db` beats `AUDIT_PG_URL`, and
 * without any of them the SQLite file `./audit.db` is read.
 * @throws CliError when `--db` and `--pg` are both given.
 */
export function selectStore(values: StoreOptionValues): StoreSelection {
  const pgSource = values.sourceOf('pg');
  const dbSource = values.sourceOf('db');
  if (pgSource === 'cli' && dbSource === 'cli') {
    throw new CliError(
      '--db and --pg were both given — pass --db <file> for a SQLite database or --pg <url> for PostgreSQL, not both.',
      EXIT_USAGE,
    );
  }
  const usePg = values.pg !== undefined && (pgSource === 'cli' || dbSource !== 'cli');
  if (usePg && values.pg !== undefined) {
    return {
      kind: 'postgres',
      url: values.pg,
      schema: values.pgSchema ?? 'public',
      table: values.pgTable ?? 'audit_events',
    };
  }
  return { kind: 'sqlite', path: values.db ?? './audit.db' };
}

/** The URL with its password replaced by `***`, safe for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * Opens the selected database for reading.
 *
 * It never creates anything: a SQLite file that does not exist is an error (opening it would
 * create an empty one), and the connection is `query_only`, so the CLI cannot write to it. A
 * PostgreSQL table is looked up first, so a wrong schema or table name is reported instead of
 * being created.
 * @throws CliError saying what is wrong and how to fix it.
 */
export async function openStore(selection: StoreSelection): Promise<OpenedStore> {
  return selection.kind === 'sqlite' ? openSqlite(selection.path) : openPostgres(selection);
}

async function openSqlite(path: string): Promise<OpenedStore> {
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
  const table = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'")
    .pluck()
    .get();
  if (table === undefined) {
    throw new CliError(
      `"${path}" is a SQLite database without audit events (no audit_events table) — pass the file your application's SqliteAuditStore writes with --db <file>.`,
    );
  }
  const version = Number(db.pragma('user_version', { simple: true }));
  // Opening it read-only, the store could not migrate it; and a reader must not change the
  // schema under the application anyway.
  if (version < SQLITE_SCHEMA_VERSION) {
    throw olderSchema(`"${path}"`, version, SQLITE_SCHEMA_VERSION);
  }
}

type PostgresSelection = Extract<StoreSelection, { kind: 'postgres' }>;

async function openPostgres(selection: PostgresSelection): Promise<OpenedStore> {
  const label = redactUrl(selection.url);
  checkPostgresSelection(selection, label);
  const pool = postgresPool(selection);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await pool.end();
  };
  try {
    const store = await postgresStore(pool, selection, label);
    return {
      store,
      label,
      close: async () => {
        await store.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Refuses a URL that is not PostgreSQL's and schema or table names a store would refuse. */
function checkPostgresSelection(selection: PostgresSelection, label: string): void {
  if (!/^(postgres|postgresql|socket):/i.test(selection.url)) {
    throw new CliError(
      `--pg ${JSON.stringify(label)} is not a PostgreSQL URL — write it as postgres://user:password@host:5432/database.`,
      EXIT_USAGE,
    );
  }
  for (const [kind, value, max, option] of [
    ['schema', selection.schema, MAX_SCHEMA_NAME_LENGTH, '--pg-schema'],
    ['table', selection.table, MAX_TABLE_NAME_LENGTH, '--pg-table'],
  ] as const) {
    const problem = identifierProblem(kind, value, max);
    if (problem !== undefined) throw new CliError(`${option}: ${problem}.`, EXIT_USAGE);
  }
}

/** A small pool with short timeouts: the CLI reads a little and must never hang. */
function postgresPool(selection: PostgresSelection): OwnedPostgresPool {
  let Pool;
  try {
    Pool = loadPostgresDriver();
  } catch (error) {
    throw new CliError(`${reasonOf(error)}`, undefined, { cause: error });
  }
  const pool: OwnedPostgresPool = new Pool({
    connectionString: selection.url,
    max: 2,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    statement_timeout: PG_STATEMENT_TIMEOUT_MS,
    query_timeout: PG_STATEMENT_TIMEOUT_MS + 1_000,
    idle_in_transaction_session_timeout: PG_STATEMENT_TIMEOUT_MS,
    fallback_application_name: 'nestjs-audit-cli',
    keepAlive: true,
  });
  // An idle connection dropped by the server must not crash the CLI; the next read reports it.
  pool.on('error', () => undefined);
  return pool;
}

/** A read-only store on the selected table, once it is known to exist with a current schema. */
async function postgresStore(
  pool: OwnedPostgresPool,
  selection: PostgresSelection,
  label: string,
): Promise<PostgresAuditStore> {
  const names = postgresNames(selection.schema, selection.table);
  const layout = await tableLayout(pool, names.qualifiedTable, names.qualifiedMigrations, label);
  if (layout === undefined) {
    throw new CliError(
      `no audit table ${names.qualifiedTable} at ${label} — pass the schema and table your application's PostgresAuditStore uses with --pg-schema and --pg-table.`,
    );
  }
  if (layout.version < POSTGRES_SCHEMA_VERSION) {
    throw olderSchema(
      `${names.qualifiedTable} at ${label}`,
      layout.version,
      POSTGRES_SCHEMA_VERSION,
    );
  }
  const store = new PostgresAuditStore({
    pool,
    schema: selection.schema,
    table: selection.table,
    partitioning: layout.partitioning,
    connectionTimeoutMs: PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: PG_STATEMENT_TIMEOUT_MS,
    readOnly: true,
  });
  try {
    await store.init();
  } catch (error) {
    throw new CliError(reasonOf(error), undefined, { cause: error });
  }
  return store;
}

/** The error for a database the application has not migrated to this release's schema yet. */
function olderSchema(where: string, found: number, expected: number): CliError {
  return new CliError(
    `${where} has audit schema version ${found}, older than the version ${expected} this nestjs-audit reads — start the application once with this release (it migrates the schema), or run the nestjs-audit CLI installed with the application.`,
  );
}

/** How the events table is laid out, and its schema version. */
interface TableLayout {
  partitioning: 'none' | 'monthly';
  /** Highest applied migration (0 when the migrations table is missing). */
  version: number;
}

/** The layout of the events table, or `undefined` when there is no such table. */
async function tableLayout(
  pool: OwnedPostgresPool,
  qualifiedTable: string,
  qualifiedMigrations: string,
  label: string,
): Promise<TableLayout | undefined> {
  let client;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new CliError(
      `cannot connect to PostgreSQL at ${label}: ${reasonOf(error)} — check the --pg URL (or AUDIT_PG_URL) and that the server is running and reachable.`,
      undefined,
      { cause: error },
    );
  }
  try {
    const first = async (text: string, values: unknown[] = []) => {
      const result = await client.query({ text, values, rowMode: 'array' });
      return (result.rows[0] as unknown[] | undefined)?.[0];
    };
    const kind = await first('SELECT relkind FROM pg_class WHERE oid = to_regclass($1)', [
      qualifiedTable,
    ]);
    if (kind === undefined) return undefined;
    const hasMigrations = await first('SELECT to_regclass($1) IS NOT NULL', [qualifiedMigrations]);
    const version =
      hasMigrations === true
        ? Number(await first(`SELECT coalesce(max(version), 0) FROM ${qualifiedMigrations}`))
        : 0;
    return { partitioning: kind === 'p' ? 'monthly' : 'none', version };
  } catch (error) {
    throw new CliError(
      `cannot read the catalog of ${label}: ${reasonOf(error)} — check that the role of the --pg URL may read the audit table.`,
      undefined,
      { cause: error },
    );
  } finally {
    client.release();
  }
}
