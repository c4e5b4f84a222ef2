import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../../src/event/audit-event';
import { parseAuditQuery } from '../../src/query/audit-query';
import { verifyChain } from '../../src/integrity/verify';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { SQLITE_SCHEMA_VERSION } from '../../src/stores/sqlite/sqlite.schema';
import { makeEvent } from '../fixtures/events';
import { makeAlarm } from './alarm-fixtures';

const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The DDL of schema version 1 and 2 as released: events in a WITHOUT ROWID table. */
const OLD_EVENTS_DDL = `
  CREATE TABLE audit_events (
    id TEXT NOT NULL PRIMARY KEY, ts INTEGER NOT NULL, action TEXT NOT NULL,
    outcome TEXT NOT NULL, actor_id TEXT, resource_type TEXT, resource_id TEXT,
    request_id TEXT, tenant TEXT, schema_version INTEGER NOT NULL, payload TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX audit_events_actor_ts ON audit_events (actor_id, ts, id) WHERE actor_id IS NOT NULL;
  CREATE INDEX audit_events_resource_ts ON audit_events (resource_type, resource_id, ts, id)
    WHERE resource_type IS NOT NULL;
  CREATE INDEX audit_events_ts ON audit_events (ts, id);
  CREATE INDEX audit_events_request ON audit_events (request_id) WHERE request_id IS NOT NULL;
  CREATE INDEX audit_events_action_ts ON audit_events (action, ts, id);
  CREATE INDEX audit_events_tenant_ts ON audit_events (tenant, ts, id) WHERE tenant IS NOT NULL;
  CREATE TABLE audit_alarms (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, dedup_key TEXT NOT NULL UNIQUE, rule TEXT NOT NULL,
    channel TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL, digest_key TEXT,
    throttle_ms INTEGER, event_id TEXT, created_at INTEGER NOT NULL, message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER, lease_until INTEGER, lease_owner TEXT, settled_at INTEGER,
    last_error TEXT, group_head INTEGER, delivered_with INTEGER
  );
  CREATE INDEX audit_alarms_due ON audit_alarms (next_attempt_at, seq)
    WHERE next_attempt_at IS NOT NULL;
  CREATE INDEX audit_alarms_waiting ON audit_alarms (digest_key, seq)
    WHERE digest_key IS NOT NULL AND group_head IS NULL;
  CREATE INDEX audit_alarms_group ON audit_alarms (group_head, seq) WHERE group_head IS NOT NULL;
  CREATE INDEX audit_alarms_status ON audit_alarms (status, created_at);
  CREATE TABLE audit_alarm_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alarm_seq INTEGER NOT NULL, dedup_key TEXT NOT NULL,
    channel TEXT NOT NULL, attempt INTEGER NOT NULL, at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL, result TEXT NOT NULL, count INTEGER NOT NULL,
    status_code INTEGER, error TEXT
  );
  CREATE INDEX audit_alarm_attempts_key ON audit_alarm_attempts (dedup_key, id);
  CREATE INDEX audit_alarm_attempts_channel ON audit_alarm_attempts (channel, id);
  CREATE TABLE audit_alarm_digests (
    digest_key TEXT NOT NULL PRIMARY KEY, open_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  PRAGMA user_version = 2;
`;

const T0 = Date.parse('2026-02-01T00:00:00.000Z');

/** Events of every shape the old table held: ties on a millisecond, absent optional columns. */
function oldEvents(): AuditEvent[] {
  const events = Array.from({ length: 240 }, (_, i) =>
    makeEvent({
      // Several events share each millisecond, so the (ts, id) order must come from the ids.
      timestamp: new Date(T0 + Math.floor(i / 3) * 1000).toISOString(),
      action: i % 4 === 0 ? 'order.create' : 'user.update',
      outcome: i % 10 === 0 ? 'failure' : 'success',
      actor: { type: 'user', id: i % 7 === 0 ? undefined : `u-${i % 5}`, authenticated: true },
      target: i % 6 === 0 ? undefined : { type: 'order', id: `${i % 4}` },
      request: i % 2 === 0 ? { id: `req-${i}` } : undefined,
      tenant: i % 3 === 0 ? undefined : `t-${i % 2}`,
      message: `event ${i} ${'x'.repeat(i * 7)}`,
    }),
  );
  // As stored: fields left undefined above are absent.
  return JSON.parse(JSON.stringify(events)) as AuditEvent[];
}

function writeOldDatabase(path: string, events: readonly AuditEvent[]): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(OLD_EVENTS_DDL);
  const insert = db.prepare(`INSERT INTO audit_events (id, ts, action, outcome, actor_id,
    resource_type, resource_id, request_id, tenant, schema_version, payload)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  // Inserted out of time order, as concurrent writers leave them.
  for (const e of [...events].reverse()) {
    insert.run(
      e.id,
      Date.parse(e.timestamp),
      e.action,
      e.outcome,
      e.actor.id ?? null,
      e.target?.type ?? null,
      e.target?.id ?? null,
      e.request?.id ?? null,
      e.tenant ?? null,
      e.schemaVersion,
      JSON.stringify(e),
    );
  }
  db.close();
}

function newestFirst(events: readonly AuditEvent[]): AuditEvent[] {
  return [...events].sort((a, b) => {
    const dt = Date.parse(b.timestamp) - Date.parse(a.timestamp);
    return dt !== 0 ? dt : a.id < b.id ? 1 : -1;
  });
}

describe('SqliteAuditStore schema migration to version 3', () => {
  it('moves every event of a version 2 database to the compact table, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-sqlite-migration-'));
    dirs.push(dir);
    const path = join(dir, 'audit.db');
    const events = oldEvents();
    writeOldDatabase(path, events);

    const store = new SqliteAuditStore({ path });
    await store.init();
    // Chained in the order version 3 stored them: oldest first.
    const oldestFirst = newestFirst(events).reverse();
    const numbered = (event: AuditEvent) => ({
      ...event,
      sequence: oldestFirst.indexOf(event) + 1,
    });
    try {
      for (const event of events) {
        expect(await store.get(event.id)).toStrictEqual(numbered(event));
      }
      const read: AuditEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query(parseAuditQuery({ limit: 17, cursor }));
        read.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(read).toStrictEqual(newestFirst(events).map(numbered));
      const history = await store.history('order', '1');
      expect(history).toStrictEqual(
        newestFirst(events.filter((e) => e.target?.id === '1'))
          .reverse()
          .map(numbered),
      );
      // Appending after the migration: ids stay unique, a retried event is still a no-op.
      const next = makeEvent({ timestamp: new Date(T0 + 10_000_000).toISOString() });
      await store.append([next, events[0] as AuditEvent], [makeAlarm(T0)]);
      expect((await store.query(parseAuditQuery({ limit: 1000 }))).items).toHaveLength(241);
      expect(await store.alarmOutbox.list()).toHaveLength(1);
      // The migrated events are chained in the order they were stored, the new one after them.
      expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 241 });
    } finally {
      await store.close();
    }

    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
      const table = check
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'")
        .pluck()
        .get() as string;
      expect(table).not.toMatch(/WITHOUT ROWID/);
      // One payload row per event row, keyed by its rowid, and none left over.
      const count = (sql: string): unknown => check.prepare(sql).pluck().get();
      expect(count('SELECT count(*) FROM audit_payloads')).toBe(241);
      expect(
        count(`SELECT count(*) FROM audit_events e
          LEFT JOIN audit_payloads p ON p.event = e.rowid WHERE p.event IS NULL`),
      ).toBe(0);
      expect(check.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
    } finally {
      check.close();
    }
  });
});
