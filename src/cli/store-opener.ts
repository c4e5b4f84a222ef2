import { CliError, EXIT_USAGE } from './cli-error';
import type { OpenedStore } from './opened-store';
import { openPostgres, type PostgresSelection } from './postgres-opener';
import { openSqlite, type SqliteSelection } from './sqlite-opener';

export type { OpenedStore } from './opened-store';
export { redactUrl } from './postgres-opener';

/** The audit database the user pointed the CLI at. */
export type StoreSelection = SqliteSelection | PostgresSelection;

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
