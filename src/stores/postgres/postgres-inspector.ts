import type { PostgresNames } from './postgres-names';
import type { PostgresSql } from './postgres-session';

/** How the events table is laid out. */
export type PostgresPartitioning = 'none' | 'monthly';

/**
 * Read-only questions about the catalogue of one PostgreSQL audit table: which schema version
 * its migrations reached, whether it exists and how it is laid out. The migrations ask them
 * before changing anything, and the CLI asks them to decide whether it can read a table at
 * all; neither repeats the catalogue queries. Nothing here writes or takes a lock, so it runs on
 * a role that may only read.
 */
export class PostgresInspector {
  /**
   * @param sql runs the statements: inside the caller's transaction, or one by one.
   * @param names the table's names.
   */
  constructor(
    private readonly sql: PostgresSql,
    private readonly names: PostgresNames,
  ) {}

  /**
   * The highest applied migration: 0 when the migrations table is missing (nestjs-audit never
   * created this table, or it is another schema or table).
   */
  async schemaVersion(): Promise<number> {
    const { sql, names } = this;
    const [exists] = await sql('SELECT to_regclass($1) IS NOT NULL', [names.qualifiedMigrations]);
    if (exists?.[0] !== true) return 0;
    const [row] = await sql(`SELECT coalesce(max(version), 0) FROM ${names.qualifiedMigrations}`);
    return Number(row?.[0] ?? 0);
  }

  /**
   * How the events table is laid out: `'monthly'` for a partitioned table, `'none'` for a plain
   * one, `undefined` when there is no such table.
   */
  async layout(): Promise<PostgresPartitioning | undefined> {
    const [row] = await this.sql('SELECT relkind FROM pg_class WHERE oid = to_regclass($1)', [
      this.names.qualifiedTable,
    ]);
    const kind = row?.[0];
    if (kind === undefined) return undefined;
    return kind === 'p' ? 'monthly' : 'none';
  }

  /** Whether the table's schema (namespace) exists. */
  async hasSchema(): Promise<boolean> {
    const [row] = await this.sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      this.names.schema,
    ]);
    return row !== undefined;
  }
}
