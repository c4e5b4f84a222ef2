import { Pool } from 'pg';
import type { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';

/** The test database (trust auth on 127.0.0.1). */
export const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** What a migration suite uses to set up old layouts and look at the result. */
export interface MigrationKit {
  /** A pool of its own, outside every store under test. */
  readonly admin: Pool;
  /** Schemas the suite created: dropped after all its tests. */
  readonly schemas: string[];
  /** Stores the suite opened: closed after all its tests. */
  readonly stores: PostgresAuditStore[];
  /** The first column of every row of `sql`. */
  column<T>(sql: string, values?: unknown[]): Promise<T[]>;
}

/**
 * The admin connection, and cleanup of what a migration suite made, registered with `afterAll`
 * of the calling suite.
 */
export function migrationKit(): MigrationKit {
  const admin = new Pool({ connectionString: CONNECTION, max: 2 });
  const schemas: string[] = [];
  const stores: PostgresAuditStore[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });
  return {
    admin,
    schemas,
    stores,
    column: async <T>(sql: string, values: unknown[] = []): Promise<T[]> => {
      const result = await admin.query({ text: sql, values, rowMode: 'array' });
      return result.rows.map((row: unknown[]) => row[0] as T);
    },
  };
}
