import { join } from 'node:path';
import type { AuditEvent } from '../../src/event/audit-event';
import type { AuditStore } from '../../src/stores/audit-store';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { PG_URL, pgSchema, seedSqlite, tempDir } from './cli-harness';

/** The engines every CLI spec runs against. */
export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** A seeded database and the global options that point the CLI at it. */
export interface SeededDatabase {
  /** `--db <file>` or `--pg <url> --pg-schema <schema>`. */
  args: string[];
  /** Opens a writer on the same database (initialised), as the application would. */
  writer: () => Promise<AuditStore>;
  /** Removes the file or drops the schema. */
  cleanup: () => Promise<void>;
}

/** Creates a database of `engine` holding `events`. */
export async function seedDatabase(
  engine: Engine,
  events: readonly AuditEvent[],
): Promise<SeededDatabase> {
  if (engine === 'sqlite') {
    const { dir, remove } = tempDir();
    const file = join(dir, 'audit.db');
    await seedSqlite(file, events);
    return {
      args: ['--db', file],
      writer: async () => {
        const store = new SqliteAuditStore({ path: file });
        await store.init();
        return store;
      },
      cleanup: () => Promise.resolve(remove()),
    };
  }
  const schema = pgSchema();
  try {
    await schema.seed(events);
  } catch (error) {
    await schema.drop();
    throw error;
  }
  return {
    args: ['--pg', PG_URL, '--pg-schema', schema.schema],
    writer: async () => {
      const store = new PostgresAuditStore({ connectionString: PG_URL, schema: schema.schema });
      await store.init();
      return store;
    },
    cleanup: () => schema.drop(),
  };
}
