import type { Pool } from 'pg';
import type { AuditEvent } from '../../src/event/audit-event';
import { toEventColumns } from '../../src/event/event-columns';
import type { PostgresNames } from '../../src/stores/postgres/postgres-names';
import { toPostgresTimestamp } from '../../src/stores/postgres/postgres-timestamp';
import {
  POSTGRES_MIGRATIONS,
  type PostgresPartitioning,
} from '../../src/stores/postgres/postgres.schema';

/**
 * Creates the tables as an earlier release left them: the migration steps up to `version`,
 * with their own (never edited) DDL, and their rows in the migrations table.
 */
export async function createLegacyLayout(
  admin: Pool,
  names: PostgresNames,
  partitioning: PostgresPartitioning,
  version: number,
): Promise<void> {
  await admin.query(`CREATE SCHEMA ${names.quotedSchema}`);
  await admin.query(
    `CREATE TABLE ${names.qualifiedMigrations} (version integer PRIMARY KEY,
      description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const step of POSTGRES_MIGRATIONS.filter((s) => s.version <= version)) {
    for (const statement of step.statements(names, partitioning)) await admin.query(statement);
    await admin.query(
      `INSERT INTO ${names.qualifiedMigrations} (version, description) VALUES ($1, $2)`,
      [step.version, step.description],
    );
  }
}

/**
 * Inserts events the way releases with schema versions 1 and 2 did: one multi-row VALUES
 * statement, the payload as jsonb.
 */
export async function insertLegacyEvents(
  admin: Pool,
  names: PostgresNames,
  events: readonly AuditEvent[],
): Promise<void> {
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const event of events) {
    const c = toEventColumns(event);
    const n = values.length;
    values.push(
      c.id,
      toPostgresTimestamp(c.ts),
      c.action,
      c.outcome,
      c.actorId,
      c.resourceType,
      c.resourceId,
      c.requestId,
      c.tenant,
      c.schemaVersion,
      JSON.stringify(event),
    );
    tuples.push(
      `($${n + 1}, $${n + 2}::timestamptz, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9}, $${n + 10}::integer, $${n + 11}::jsonb)`,
    );
  }
  await admin.query(
    `INSERT INTO ${names.qualifiedTable}
      (id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version, payload)
      VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`,
    values,
  );
}
