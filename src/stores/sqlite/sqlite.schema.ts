import { migrateToChain } from './sqlite-chain';
import type { SqliteDatabase } from './sqlite-driver';
import { SqliteInspector } from './sqlite-inspector';
import { AuditError } from '../../common/audit-error';
import { AuditStoreError } from '../../common/audit-store.error';
import { messageOf } from '../../common/message-of';

/** One step of the SQLite schema; steps run in order, each in its own transaction. */
export interface SqliteMigration {
  /** `PRAGMA user_version` after this step. Steps are numbered 1, 2, 3, ... */
  version: number;
  /** What the step does, used in error messages. */
  description: string;
  /** The DDL of the step (a step has this or `run`). */
  sql?: string;
  /** A step that needs more than DDL: runs inside the step's transaction. */
  run?: (db: SqliteDatabase) => void;
}

/**
 * Every schema step, oldest first. Never edit a released step: add a new one, so that a
 * database created by any earlier release migrates forward.
 */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    description: 'create audit_events and its query indexes',
    // WITHOUT ROWID: the primary key is the table, so a time-ordered id is one append-only
    // b-tree instead of a table plus a UNIQUE index. Secondary indexes carry the id anyway;
    // it is spelled out so each index covers the (ts, id) keyset order. The partial indexes
    // skip events without the column, which no filter on that column can match.
    sql: `
      CREATE TABLE audit_events (
        id TEXT NOT NULL PRIMARY KEY,
        ts INTEGER NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        actor_id TEXT,
        resource_type TEXT,
        resource_id TEXT,
        request_id TEXT,
        tenant TEXT,
        schema_version INTEGER NOT NULL,
        payload TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX audit_events_actor_ts ON audit_events (actor_id, ts, id)
        WHERE actor_id IS NOT NULL;
      CREATE INDEX audit_events_resource_ts ON audit_events (resource_type, resource_id, ts, id)
        WHERE resource_type IS NOT NULL;
      CREATE INDEX audit_events_ts ON audit_events (ts, id);
      CREATE INDEX audit_events_request ON audit_events (request_id)
        WHERE request_id IS NOT NULL;
      CREATE INDEX audit_events_action_ts ON audit_events (action, ts, id);
      CREATE INDEX audit_events_tenant_ts ON audit_events (tenant, ts, id)
        WHERE tenant IS NOT NULL;
    `,
  },
  {
    version: 2,
    description: 'create the alarm outbox, its delivery attempts and digest periods',
    // Times are epoch milliseconds. AUTOINCREMENT: a seq is never reused, so attempts and
    // digest members always point at the entry they were recorded for. next_attempt_at is NULL
    // for what no claim may pick (settled entries, digest members sent with their head): the
    // partial index then holds only what claims scan.
    sql: `
      CREATE TABLE audit_alarms (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        digest_key TEXT,
        throttle_ms INTEGER,
        event_id TEXT,
        created_at INTEGER NOT NULL,
        message TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        lease_until INTEGER,
        lease_owner TEXT,
        settled_at INTEGER,
        last_error TEXT,
        group_head INTEGER,
        delivered_with INTEGER
      );
      CREATE INDEX audit_alarms_due ON audit_alarms (next_attempt_at, seq)
        WHERE next_attempt_at IS NOT NULL;
      CREATE INDEX audit_alarms_waiting ON audit_alarms (digest_key, seq)
        WHERE digest_key IS NOT NULL AND group_head IS NULL;
      CREATE INDEX audit_alarms_group ON audit_alarms (group_head, seq)
        WHERE group_head IS NOT NULL;
      CREATE INDEX audit_alarms_status ON audit_alarms (status, created_at);
      CREATE TABLE audit_alarm_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alarm_seq INTEGER NOT NULL,
        dedup_key TEXT NOT NULL,
        channel TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        result TEXT NOT NULL,
        count INTEGER NOT NULL,
        status_code INTEGER,
        error TEXT
      );
      CREATE INDEX audit_alarm_attempts_key ON audit_alarm_attempts (dedup_key, id);
      CREATE INDEX audit_alarm_attempts_channel ON audit_alarm_attempts (channel, id);
      CREATE TABLE audit_alarm_digests (
        digest_key TEXT NOT NULL PRIMARY KEY,
        open_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'store events compactly: narrow indexed rows, payloads in a table of their own',
    // Version 1 kept each ~1.2 KB payload inline in a WITHOUT ROWID b-tree, where a row that
    // large spills into an overflow page of its own (about 5 KB per event on disk), and every
    // index carried the 36-character id. Now the indexed columns live in a narrow rowid table
    // (~150 bytes a row, dense pages that queries and inserts keep in cache) and each payload in
    // `audit_payloads`, keyed by the event's rowid: both tables only ever grow at their end, and
    // a payload is read once per returned event, never by a filter. Each index ends in the time
    // column, with the 8-byte rowid as its implicit last column. The copy keeps every id, column
    // and payload, inserted in (ts, id) order.
    //
    // Each index serves one promised query path, newest first, without sorting beyond the
    // events of one millisecond:
    // - audit_events_id: get(id), and the unique id that makes a retried append a no-op.
    // - audit_events_ts: newest events, and a time range alone.
    // - audit_events_actor_ts: one actor's events (with or without a time range); `action` is
    //   carried so that actor + action filters on the index without reading the rows (a service
    //   account has tens of thousands of events).
    // - audit_events_resource_ts: a resource's history, and resource filters.
    // - audit_events_action_ts, _outcome_ts, _tenant_ts: those filters alone or with a time
    //   range; a rare value (an outcome of unknown, an action done once a month) would otherwise
    //   scan the newest events until the page is full.
    // - audit_events_request: the few events of one request id.
    // Partial indexes skip events without the column, which no filter on it can match.
    sql: `
      CREATE TABLE audit_events_v3 (
        id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL,
        actor_id TEXT,
        resource_type TEXT,
        resource_id TEXT,
        request_id TEXT,
        tenant TEXT,
        schema_version INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX audit_events_id ON audit_events_v3 (id);
      CREATE TABLE audit_payloads (
        event INTEGER PRIMARY KEY,
        payload TEXT NOT NULL
      );
      INSERT INTO audit_events_v3 (id, ts, action, outcome, actor_id, resource_type,
          resource_id, request_id, tenant, schema_version)
        SELECT id, ts, action, outcome, actor_id, resource_type, resource_id, request_id,
          tenant, schema_version
        FROM audit_events ORDER BY ts, id;
      INSERT INTO audit_payloads (event, payload)
        SELECT n.rowid, o.payload FROM audit_events_v3 n JOIN audit_events o ON o.id = n.id
        ORDER BY n.rowid;
      DROP TABLE audit_events;
      ALTER TABLE audit_events_v3 RENAME TO audit_events;
      CREATE INDEX audit_events_ts ON audit_events (ts);
      CREATE INDEX audit_events_actor_ts ON audit_events (actor_id, ts, action)
        WHERE actor_id IS NOT NULL;
      CREATE INDEX audit_events_resource_ts ON audit_events (resource_type, resource_id, ts)
        WHERE resource_type IS NOT NULL;
      CREATE INDEX audit_events_action_ts ON audit_events (action, ts);
      CREATE INDEX audit_events_outcome_ts ON audit_events (outcome, ts);
      CREATE INDEX audit_events_tenant_ts ON audit_events (tenant, ts) WHERE tenant IS NOT NULL;
      CREATE INDEX audit_events_request ON audit_events (request_id)
        WHERE request_id IS NOT NULL;
    `,
  },
  {
    version: 4,
    description: 'create the stream relay backlog',
    // Events a transaction of the application appended (the ORM integrations' atomic mode) stay
    // here until the application confirms their ECS lines are written; `since` is epoch
    // milliseconds, so that a sweep leaves alone what a running process is about to confirm.
    sql: `
      CREATE TABLE audit_stream_relay (
        event_id TEXT NOT NULL PRIMARY KEY,
        since INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    description:
      'hash-chain the events (sequence number, hash and canonical JSON per payload) and make them append-only',
    // Each payload row gets its event's sequence number, its SHA-256 link to the previous event
    // and the version of its canonical form; stored payloads are rewritten canonically and
    // chained in the order they were inserted. A unique index on `seq` finds the head and a
    // verification's starting point, and makes two writers unable to take one number.
    run: migrateToChain,
  },
  {
    version: 6,
    description: 'index the alarm outbox in claim order (severity, then due time)',
    // Claims take the most severe due alarm first. This index lets a claim read them in that
    // order and stop at its limit; without it, every claim sorted the whole due backlog (15 ms
    // for 100,000 due alarms, inside the write lock). The expression is SEVERITY_RANK_SQL.
    sql: `
      CREATE INDEX IF NOT EXISTS audit_alarms_claim ON audit_alarms (
        (CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END),
        next_attempt_at, seq
      ) WHERE next_attempt_at IS NOT NULL;
    `,
  },
];

/** The schema version this release of nestjs-audit writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

class SchemaTooNewError extends AuditError {
  override readonly name = 'SchemaTooNewError';
  override readonly code = 'AUDIT_STORE_SCHEMA_INCOMPATIBLE';
}

function tooNew(version: number, location: string): Error {
  return new SchemaTooNewError(
    `The audit database at "${location}" has schema version ${version}, but this nestjs-audit supports up to version ${SQLITE_SCHEMA_VERSION}: it was written by a newer release. Upgrade nestjs-audit (npm install nestjs-audit@latest), or point the store at another file.`,
  );
}

/**
 * Brings the schema of `db` to {@link SQLITE_SCHEMA_VERSION}, one transaction per step.
 * Steps take the write lock before re-reading the version, so two processes starting on
 * the same file never run a step twice.
 * @param location path or name of the database, for error messages.
 * @throws an AuditError with code AUDIT_STORE_SCHEMA_INCOMPATIBLE when the database is newer
 *   than this release; AuditStoreError when a step fails.
 */
export function migrateSqliteSchema(db: SqliteDatabase, location: string): void {
  const inspector = new SqliteInspector(db);
  const current = inspector.schemaVersion();
  if (current > SQLITE_SCHEMA_VERSION) throw tooNew(current, location);
  for (const step of SQLITE_MIGRATIONS) {
    if (step.version <= current) continue;
    const run = db.transaction(() => {
      const version = inspector.schemaVersion();
      if (version > SQLITE_SCHEMA_VERSION) throw tooNew(version, location);
      if (version >= step.version) return;
      if (step.sql !== undefined) db.exec(step.sql);
      step.run?.(db);
      db.pragma(`user_version = ${step.version}`);
    });
    try {
      run.immediate();
    } catch (error) {
      if (error instanceof SchemaTooNewError) throw error;
      const reason = messageOf(error);
      throw new AuditStoreError(
        `Migrating the audit database at "${location}" to version ${step.version} (${step.description}) failed: ${reason}. Nothing of this step was applied; fix the cause and start the application again.`,
        { cause: error },
      );
    }
  }
}
