import { Pool } from 'pg';
import type { AuditEvent } from '../../src/event/audit-event';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import type { PostgresNames } from '../../src/stores/postgres/postgres-names';
import type { PostgresPartitioning } from '../../src/stores/postgres/postgres.schema';
import { createLegacyLayout, insertLegacyEvents } from './postgres-legacy-layout';

/** The test database (trust auth on 127.0.0.1). */
const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * What a migration suite uses to set up old layouts and look at the result, through a pool of
 * its own outside every store under test.
 */
export interface MigrationKit {
  /** The first column of every row of `sql`. */
  column<T>(sql: string, values?: unknown[]): Promise<T[]>;
  /**
   * The table as the release with schema `version` left it (with its January 2026 partition
   * when partitioned monthly), holding `events` as that release wrote them.
   */
  legacyTable(
    names: PostgresNames,
    partitioning: PostgresPartitioning,
    version: number,
    events: readonly AuditEvent[],
  ): Promise<void>;
  /** A store on `schema`, initialised: the migration under test runs here. */
  openStore(schema: string, partitioning: PostgresPartitioning): Promise<PostgresAuditStore>;
}

/** Events newest first, as every query pages them (ties by id, descending). */
export function newestFirst<E extends AuditEvent>(list: readonly E[]): E[] {
  return [...list].sort((a, b) =>
    a.timestamp === b.timestamp ? (a.id < b.id ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1,
  );
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
    column: async <T>(sql: string, values: unknown[] = []): Promise<T[]> => {
      const result = await admin.query({ text: sql, values, rowMode: 'array' });
      return result.rows.map((row: unknown[]) => row[0] as T);
    },
    legacyTable: async (names, partitioning, version, events) => {
      schemas.push(names.schema);
      await createLegacyLayout(admin, names, partitioning, version);
      if (partitioning === 'monthly') {
        await admin.query(
          `CREATE TABLE ${names.qualified('audit_events_y2026m01')} PARTITION OF ${names.qualifiedTable}
            FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
        );
      }
      await insertLegacyEvents(admin, names, events);
    },
    openStore: async (schema, partitioning) => {
      const store = new PostgresAuditStore({ connectionString: CONNECTION, schema, partitioning });
      stores.push(store);
      await store.init();
      return store;
    },
  };
}
