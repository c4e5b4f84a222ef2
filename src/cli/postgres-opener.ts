import { PostgresAuditStore } from '../stores/postgres/postgres-audit.store';
import { loadPostgresDriver, type OwnedPostgresPool } from '../stores/postgres/postgres-driver';
import { reasonOf } from '../common/message-of';
import {
  PostgresInspector,
  type PostgresPartitioning,
} from '../stores/postgres/postgres-inspector';
import {
  identifierProblem,
  MAX_SCHEMA_NAME_LENGTH,
  MAX_TABLE_NAME_LENGTH,
  postgresNames,
  type PostgresNames,
} from '../stores/postgres/postgres-names';
import { PostgresSession } from '../stores/postgres/postgres-session';
import { POSTGRES_SCHEMA_VERSION } from '../stores/postgres/postgres.schema';
import { CliError, EXIT_USAGE } from './cli-error';
import { olderSchema, type OpenedStore } from './opened-store';

/** A PostgreSQL table written by `PostgresAuditStore`. */
export interface PostgresSelection {
  /** The engine. */
  kind: 'postgres';
  /** Connection URI. */
  url: string;
  /** Schema of the events table. */
  schema: string;
  /** Name of the events table. */
  table: string;
}

/** Longest wait for a PostgreSQL connection: an unreachable server fails fast on a terminal. */
const PG_CONNECT_TIMEOUT_MS = 5_000;
/** Longest a read may run before PostgreSQL cancels it. */
const PG_STATEMENT_TIMEOUT_MS = 60_000;
/** The PostgreSQL time limits, as the store's sessions take them. */
const PG_TIMEOUTS = {
  statementTimeoutMs: PG_STATEMENT_TIMEOUT_MS,
  queryTimeoutMs: PG_STATEMENT_TIMEOUT_MS + 1_000,
};

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
 * Opens an existing PostgreSQL audit table for reading. The table is looked up first, so a
 * wrong schema or table name is reported instead of being created, and the store is opened
 * `readOnly`.
 * @throws CliError saying what is wrong and how to fix it.
 */
export async function openPostgres(selection: PostgresSelection): Promise<OpenedStore> {
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
    query_timeout: PG_TIMEOUTS.queryTimeoutMs,
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
  const layout = await tableLayout(pool, names, label);
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

/** How the events table is laid out, and its schema version. */
interface TableLayout {
  partitioning: PostgresPartitioning;
  /** Highest applied migration (0 when the migrations table is missing). */
  version: number;
}

/** The layout of the events table, or `undefined` when there is no such table. */
async function tableLayout(
  pool: OwnedPostgresPool,
  names: PostgresNames,
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
    const session = new PostgresSession(client, PG_TIMEOUTS);
    const inspector = new PostgresInspector(session.sql, names);
    const partitioning = await inspector.layout();
    if (partitioning === undefined) return undefined;
    return { partitioning, version: await inspector.schemaVersion() };
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
