import type { AuditSqlStatement } from '../../stores/sql-append';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/** The part of a `pg` client the statements need. */
interface PgClient {
  query(text: string, values: unknown[]): Promise<unknown>;
}

/** The part of a knex transaction (MikroORM 6's transaction context) that leads to its client. */
interface KnexTransaction {
  client?: { acquireConnection?: () => Promise<unknown> };
}

function isPgClient(value: unknown): value is PgClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<PgClient>).query === 'function'
  );
}

/**
 * Runs the audit store's statements on the very connection of a MikroORM (knex) transaction.
 * The statements use PostgreSQL's own `$1…` placeholders and are sent with their values as
 * they are, through the `pg` client the transaction holds (knex's transaction client hands out
 * that one connection), rather than through knex's `?` bindings, which rewrite the text and
 * expand array values.
 */
export async function runAtomicStatements(
  transaction: unknown,
  statements: readonly AuditSqlStatement[],
): Promise<void> {
  if (statements.length === 0) return;
  const acquire = (transaction as KnexTransaction | null)?.client?.acquireConnection;
  const connection: unknown = acquire
    ? await acquire.call((transaction as Required<KnexTransaction>).client)
    : undefined;
  if (!isPgClient(connection)) {
    throw new AuditConfigurationError(
      'nestjs-audit/mikro-orm: atomic mode could not reach the PostgreSQL connection of the transaction. It supports @mikro-orm/postgresql 6 (knex-based); use atomic: false with other drivers.',
    );
  }
  for (const statement of statements) await connection.query(statement.text, statement.values);
}
