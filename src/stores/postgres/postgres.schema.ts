import { chainMigration } from './postgres-chain';
import { reasonOf } from '../../common/message-of';
import { PostgresInspector, type PostgresPartitioning } from './postgres-inspector';
import type { PostgresNames } from './postgres-names';
import type { PostgresSql } from './postgres-session';
import { AuditError } from '../../common/audit-error';

export type { PostgresPartitioning } from './postgres-inspector';

/** One step of the PostgreSQL schema; steps run in order. */
export interface PostgresMigration {
  /** Version after this step. Steps are numbered 1, 2, 3, ... */
  version: number;
  /** What the step does, stored with it and used in error messages. */
  description: string;
  /** The DDL of the step, for one table. */
  statements(names: PostgresNames, partitioning: PostgresPartitioning): string[];
}

/**
 * The query indexes of schema version 3, besides the primary key (`get()`, idempotent inserts)
 * and `(ts, id)` (the newest events and periods in page order, and the filters below when their
 * value is common), both of version 1 and both appended to in time order.
 *
 * Each is one query filter followed by `ts`, so a page is read in order under LIMIT (ties in ts
 * are sorted by id after the index: they are few). Without `id` they are half the size of
 * version 1's: the actor and resource indexes take inserts all over their length, so their size
 * decides how much of them stays cached while writing. Partial where the column may be empty,
 * since no filter matches a NULL.
 */
const POSTGRES_QUERY_INDEXES: readonly ((names: PostgresNames) => string)[] = [
  // Who did what; also actor + action (an actor's events are few to filter).
  (n) =>
    `CREATE INDEX ${n.object('actor_ts')} ON ${n.qualifiedTable} (actor_id, ts)
      WHERE actor_id IS NOT NULL`,
  // A resource's page, and history() in time order.
  (n) =>
    `CREATE INDEX ${n.object('resource_ts')} ON ${n.qualifiedTable}
      (resource_type, resource_id, ts) WHERE resource_type IS NOT NULL`,
  // An action; a few dozen values, so inserts land on a few hot pages.
  (n) => `CREATE INDEX ${n.object('action_ts')} ON ${n.qualifiedTable} (action, ts)`,
  // A tenant; as few values as tenants.
  (n) =>
    `CREATE INDEX ${n.object('tenant_ts')} ON ${n.qualifiedTable} (tenant, ts)
      WHERE tenant IS NOT NULL`,
  // The events of one request: a handful per id, sorted after the lookup, so no ts.
  (n) =>
    `CREATE INDEX ${n.object('request')} ON ${n.qualifiedTable} (request_id)
      WHERE request_id IS NOT NULL`,
  // Failures and unknown outcomes. Successes, the bulk of events, are found through (ts, id)
  // with a filter that rarely rejects a row, so they are left out of this index.
  (n) =>
    `CREATE INDEX ${n.object('outcome_ts')} ON ${n.qualifiedTable} (outcome, ts)
      WHERE outcome <> 'success'`,
];

/**
 * Every schema step, oldest first. Never edit a released step: add a new one, so that a
 * table created by any earlier release migrates forward.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'create the events table and its query indexes',
    statements: (names, partitioning) => {
      const table = names.qualifiedTable;
      const monthly = partitioning === 'monthly';
      // COLLATE "C" compares bytes, which is both the cheapest b-tree comparison and the order
      // SQLite uses, so ids that share a timestamp page in the same order on every engine.
      // A partitioned table's unique keys must contain the partition key: (id, ts) still makes
      // an event id unique, as one event always carries the same timestamp.
      // Secondary indexes end with (ts, id) so each serves its filter in keyset page order;
      // the partial ones skip rows without the column, which no filter on it can match.
      return [
        `CREATE TABLE ${table} (
          id text COLLATE "C" NOT NULL,
          ts timestamptz NOT NULL,
          action text COLLATE "C" NOT NULL,
          outcome text COLLATE "C" NOT NULL,
          actor_id text COLLATE "C",
          resource_type text COLLATE "C",
          resource_id text COLLATE "C",
          request_id text COLLATE "C",
          tenant text COLLATE "C",
          schema_version integer NOT NULL,
          payload jsonb NOT NULL,
          CONSTRAINT ${names.object('pkey')} PRIMARY KEY ${monthly ? '(id, ts)' : '(id)'}
        )${monthly ? ' PARTITION BY RANGE (ts)' : ''}`,
        `CREATE INDEX ${names.object('actor_ts')} ON ${table} (actor_id, ts, id)
          WHERE actor_id IS NOT NULL`,
        `CREATE INDEX ${names.object('resource_ts')} ON ${table}
          (resource_type, resource_id, ts, id) WHERE resource_type IS NOT NULL`,
        `CREATE INDEX ${names.object('action_ts')} ON ${table} (action, ts, id)`,
        `CREATE INDEX ${names.object('request_ts')} ON ${table} (request_id, ts, id)
          WHERE request_id IS NOT NULL`,
        `CREATE INDEX ${names.object('tenant_ts')} ON ${table} (tenant, ts, id)
          WHERE tenant IS NOT NULL`,
        `CREATE INDEX ${names.object('ts')} ON ${table} (ts, id)`,
      ];
    },
  },
  {
    version: 2,
    description: 'create the alarm outbox, its delivery attempts and digest periods',
    // Never partitioned, whatever the events table does: entries are claimed by seq and updated
    // in place, and retention of events must not drop alarms still to be sent.
    // next_attempt_at is NULL for what no claim may pick (settled entries, digest members sent
    // with their head), so the partial "due" index holds only what claims scan. fillfactor
    // leaves room for the lease updates to stay on their page (HOT: no index writes).
    statements: (names) => {
      const alarms = names.qualifiedAlarms;
      return [
        `CREATE TABLE ${alarms} (
          seq bigint GENERATED ALWAYS AS IDENTITY,
          dedup_key text COLLATE "C" NOT NULL,
          rule text NOT NULL,
          channel text NOT NULL,
          kind text NOT NULL,
          severity text NOT NULL,
          digest_key text COLLATE "C",
          throttle_ms bigint,
          event_id text,
          created_at timestamptz NOT NULL,
          message jsonb NOT NULL,
          status text NOT NULL DEFAULT 'pending',
          attempts integer NOT NULL DEFAULT 0,
          next_attempt_at timestamptz,
          lease_until timestamptz,
          lease_owner text,
          settled_at timestamptz,
          last_error text,
          group_head bigint,
          delivered_with bigint,
          CONSTRAINT ${names.object('alarms_pkey')} PRIMARY KEY (seq),
          CONSTRAINT ${names.object('alarms_key')} UNIQUE (dedup_key)
        ) WITH (fillfactor = 80)`,
        `CREATE INDEX ${names.object('alarms_due')} ON ${alarms} (next_attempt_at, seq)
          WHERE next_attempt_at IS NOT NULL`,
        `CREATE INDEX ${names.object('alarms_wait')} ON ${alarms} (digest_key, seq)
          WHERE digest_key IS NOT NULL AND group_head IS NULL`,
        `CREATE INDEX ${names.object('alarms_grp')} ON ${alarms} (group_head, seq)
          WHERE group_head IS NOT NULL`,
        `CREATE INDEX ${names.object('alarms_st')} ON ${alarms} (status, created_at)`,
        `CREATE TABLE ${names.qualifiedAlarmAttempts} (
          id bigint GENERATED ALWAYS AS IDENTITY,
          alarm_seq bigint NOT NULL,
          dedup_key text COLLATE "C" NOT NULL,
          channel text NOT NULL,
          attempt integer NOT NULL,
          at timestamptz NOT NULL,
          duration_ms integer NOT NULL,
          result text NOT NULL,
          count integer NOT NULL,
          status_code integer,
          error text,
          CONSTRAINT ${names.object('tries_pkey')} PRIMARY KEY (id)
        )`,
        `CREATE INDEX ${names.object('tries_key')} ON ${names.qualifiedAlarmAttempts} (dedup_key, id)`,
        `CREATE INDEX ${names.object('tries_chan')} ON ${names.qualifiedAlarmAttempts} (channel, id)`,
        `CREATE TABLE ${names.qualifiedAlarmDigests} (
          digest_key text COLLATE "C" NOT NULL,
          open_at timestamptz NOT NULL,
          CONSTRAINT ${names.object('keys_pkey')} PRIMARY KEY (digest_key)
        )`,
      ];
    },
  },
  {
    version: 3,
    description: 'store the payload as json and narrow the query indexes',
    statements: (names) => [
      // The wide indexes go first, so that the rewrite below does not rebuild them.
      `DROP INDEX ${['actor_ts', 'resource_ts', 'action_ts', 'request_ts', 'tenant_ts']
        .map((suffix) => `${names.quotedSchema}.${names.object(suffix)}`)
        .join(', ')}`,
      // json keeps the text as written: no parse into a binary form on insert (jsonb cost a
      // third of the server's time per event) and none back to text on read, and SQL readers
      // still get JSON. Only an empty table changes type: rewriting one that holds events would
      // lock it for minutes at startup (206 s for 1M events here). Such a table keeps jsonb,
      // which inserts accept by assignment cast; the README says how to convert it offline.
      `DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM ${names.qualifiedTable} LIMIT 1) THEN
          ALTER TABLE ${names.qualifiedTable} ALTER COLUMN payload TYPE json USING payload::json;
        END IF;
      END $$`,
      ...POSTGRES_QUERY_INDEXES.map((index) => index(names)),
    ],
  },
  {
    version: 4,
    description: 'create the stream relay backlog',
    // Events a transaction of the application appended (the ORM integrations' atomic mode) stay
    // here until the application confirms their ECS lines are written. Rows live for
    // milliseconds, so the table stays a few pages however many events pass through it.
    statements: (names) => [
      `CREATE TABLE ${names.qualifiedRelay} (
        event_id text COLLATE "C" NOT NULL,
        since timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ${names.object('relay_pkey')} PRIMARY KEY (event_id)
      )`,
    ],
  },
  {
    version: 5,
    description: 'hash-chain the events and make them append-only',
    // Stored events are queued and chained, oldest first, by the first seal after the
    // migration, outside its transaction (a large table does not hold the startup lock).
    statements: (names) => chainMigration(names),
  },
  {
    version: 6,
    description: 'index the alarm outbox in claim order (severity, then due time)',
    // Claims take the most severe due alarm first; this index lets a claim read them in that
    // order and stop at its limit instead of sorting the whole due backlog. The expression is
    // SEVERITY_RANK_SQL.
    statements: (names) => [
      `CREATE INDEX IF NOT EXISTS ${names.object('alarms_claim')} ON ${names.qualifiedAlarms} (
        (CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END),
        next_attempt_at, seq
      ) WHERE next_attempt_at IS NOT NULL`,
    ],
  },
  {
    version: 7,
    description: 'carry the action in the actor index, so actor + action filters in the index',
    // (actor_id, ts) made actor + action read every event of the actor from the table to check
    // its action: ~100 random heap pages for an actor of a 1M-event table (8.6 ms p50, and
    // without statistics yet the planner ANDed in the action's bitmap of ~30,000 entries). With
    // the action a key column after ts, the btree checks `action = $n` on the index entry
    // itself (an index condition, not a filter), so only the matching events are fetched, still
    // in ts order; one actor's page and its time ranges read the index as before. Replaced, not
    // added: one index to maintain per insert, as before, a few bytes wider.
    statements: (names) => [
      `DROP INDEX ${names.quotedSchema}.${names.object('actor_ts')}`,
      `CREATE INDEX ${names.object('actor_ts')} ON ${names.qualifiedTable} (actor_id, ts, action)
        WHERE actor_id IS NOT NULL`,
    ],
  },
];

/** The schema version this release of nestjs-audit writes. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/**
 * The table cannot be brought to the layout this release expects: it was migrated by a newer
 * release, it has another layout than configured, or a migration step failed.
 */
export class PostgresSchemaError extends AuditError {
  override readonly name = 'PostgresSchemaError';
  override readonly code = 'AUDIT_STORE_SCHEMA_INCOMPATIBLE';
}

function tooNew(version: number, names: PostgresNames): PostgresSchemaError {
  return new PostgresSchemaError(
    `The audit table ${names.qualifiedTable} has schema version ${version}, but this nestjs-audit supports up to version ${POSTGRES_SCHEMA_VERSION}: it was migrated by a newer release. Upgrade nestjs-audit (npm install nestjs-audit@latest), or configure another "schema" or "table".`,
  );
}

async function checkLayout(
  inspector: PostgresInspector,
  names: PostgresNames,
  partitioning: PostgresPartitioning,
): Promise<void> {
  const layout = await inspector.layout();
  if (layout === undefined) {
    throw new PostgresSchemaError(
      `The audit table ${names.qualifiedTable} is missing although ${names.qualifiedMigrations} records its migrations. Drop ${names.qualifiedMigrations} so that the store creates the table again, or restore the table.`,
    );
  }
  if (layout === 'monthly' && partitioning === 'none') {
    throw new PostgresSchemaError(
      `The audit table ${names.qualifiedTable} is partitioned by month, but the store is configured with partitioning: 'none'. Set partitioning: 'monthly' to keep using it.`,
    );
  }
  if (layout === 'none' && partitioning === 'monthly') {
    throw new PostgresSchemaError(
      `The audit table ${names.qualifiedTable} is not partitioned, but the store is configured with partitioning: 'monthly'. PostgreSQL cannot partition an existing table in place: keep partitioning: 'none', or set "table" to a new name and copy the rows into it.`,
    );
  }
}

/**
 * Brings the table to {@link POSTGRES_SCHEMA_VERSION}. Run inside one transaction: it takes a
 * transaction-level advisory lock first, so instances starting together migrate one after the
 * other and each later one finds the work done. A table that is up to date gets no DDL at all,
 * so the application's role needs no CREATE privilege once the schema exists.
 * @throws PostgresSchemaError when the table is newer than this release, has another layout
 *   than `partitioning`, or a step fails (the transaction then rolls back: nothing is applied);
 *   the error of the connection when the checks themselves fail.
 */
export async function migratePostgresSchema(
  sql: PostgresSql,
  names: PostgresNames,
  partitioning: PostgresPartitioning,
): Promise<void> {
  await sql('SELECT pg_advisory_xact_lock($1::bigint)', [names.lockKey]);
  const inspector = new PostgresInspector(sql, names);
  let version = await inspector.schemaVersion();
  if (version > POSTGRES_SCHEMA_VERSION) throw tooNew(version, names);
  if (version < POSTGRES_SCHEMA_VERSION) {
    // CREATE SCHEMA checks the database privilege even with IF NOT EXISTS, so only ask for it
    // when the schema is really missing.
    if (!(await inspector.hasSchema())) {
      await sql(`CREATE SCHEMA IF NOT EXISTS ${names.quotedSchema}`);
    }
    await sql(
      `CREATE TABLE IF NOT EXISTS ${names.qualifiedMigrations} (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    for (const step of POSTGRES_MIGRATIONS) {
      if (step.version <= version) continue;
      try {
        for (const statement of step.statements(names, partitioning)) await sql(statement);
      } catch (error) {
        throw new PostgresSchemaError(
          `Migrating the audit table ${names.qualifiedTable} to version ${step.version} (${step.description}) failed: ${reasonOf(error)}. Nothing was applied; fix the cause (or configure another "schema" or "table") and start the application again.`,
          { cause: error },
        );
      }
      await sql(`INSERT INTO ${names.qualifiedMigrations} (version, description) VALUES ($1, $2)`, [
        step.version,
        step.description,
      ]);
      version = step.version;
    }
  }
  await checkLayout(inspector, names, partitioning);
}

/**
 * For a store opened `readOnly`: checks, without changing anything, that the table is at the
 * version this release reads, and has the configured layout.
 * @throws PostgresSchemaError naming what to do when the table is missing, older (not migrated
 *   yet: its reads would miss the hash chain) or newer than this release.
 */
export async function checkPostgresSchema(
  sql: PostgresSql,
  names: PostgresNames,
  partitioning: PostgresPartitioning,
): Promise<void> {
  const inspector = new PostgresInspector(sql, names);
  const version = await inspector.schemaVersion();
  if (version > POSTGRES_SCHEMA_VERSION) throw tooNew(version, names);
  if (version < POSTGRES_SCHEMA_VERSION) {
    const found =
      version === 0
        ? 'has no migrations table (it was never created by nestjs-audit, or it is another schema or table)'
        : `has schema version ${version}`;
    throw new PostgresSchemaError(
      `The audit table ${names.qualifiedTable} ${found}, but this nestjs-audit reads version ${POSTGRES_SCHEMA_VERSION}, and a store opened readOnly migrates nothing. Start the application once (with a role that may migrate it), or check the "schema" and "table" options.`,
    );
  }
  await checkLayout(inspector, names, partitioning);
}
