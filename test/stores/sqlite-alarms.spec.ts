import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALARM_SEVERITIES } from '../../src/stores/alarm-message';
import { SEVERITY_RANK_SQL, severityRank } from '../../src/stores/alarm-leases';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import {
  SQLITE_ALARM_ANY_DUE_EXCLUDING_SQL,
  SQLITE_ALARM_ANY_DUE_SQL,
  SQLITE_ALARM_LEASE_EXCLUDING_SQL,
  SQLITE_ALARM_LEASE_SQL,
  SQLITE_ALARM_MEMBERS_SQL,
  SQLITE_ALARM_WAITING_KEYS_EXCLUDING_SQL,
  SQLITE_ALARM_WAITING_KEYS_SQL,
} from '../../src/stores/sqlite/sqlite-alarm-outbox';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../../src/stores/sqlite/sqlite.schema';
import { makeEvent, makeEvents } from '../fixtures/events';
import { compileChild } from './sqlite-child-build';
import { claimAt, makeAlarm, settlementOf } from './alarm-fixtures';

jest.setTimeout(60_000);

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const ROOT = join(__dirname, '..', '..');
const dirs: string[] = [];

function tempDir(prefix = 'nestjs-audit-sqlite-alarms-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function openStore(path: string): Promise<SqliteAuditStore> {
  const store = new SqliteAuditStore({ path });
  await store.init();
  return store;
}

describe('SqliteAuditStore alarm outbox', () => {
  it('refuses outbox work before init() and after close(), naming the operation', async () => {
    const store = new SqliteAuditStore({ path: join(tempDir(), 'audit.db') });
    const outbox = store.alarmOutbox;
    await expect(outbox.claim(claimAt(T0))).rejects.toThrow(
      'SqliteAuditStore.alarmOutbox.claim() was called before init(): await store.init() first',
    );
    await expect(outbox.stats()).rejects.toThrow(/alarmOutbox\.stats\(\) was called before init/);
    await store.init();
    expect(store.alarmOutbox).toBe(outbox);
    await expect(outbox.stats()).resolves.toEqual({ pending: 0, delivered: 0, dead: 0 });
    await store.close();
    await expect(outbox.list()).rejects.toThrow(
      /^SqliteAuditStore\.alarmOutbox\.list\(\) was called after close\(\)/,
    );
  });

  it('migrates a database written by schema version 1, keeping its events', async () => {
    const path = join(tempDir(), 'audit.db');
    // The database as the previous release left it: step 1 only, with one event.
    const old = makeEvent({ timestamp: '2026-01-15T00:00:00.000Z' });
    const db = new Database(path);
    db.exec(SQLITE_MIGRATIONS[0]?.sql ?? '');
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO audit_events (id, ts, action, outcome, actor_id, resource_type, resource_id,
        request_id, tenant, schema_version, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      old.id,
      Date.parse(old.timestamp),
      old.action,
      old.outcome,
      old.actor.id ?? null,
      old.target?.type ?? null,
      old.target?.id ?? null,
      null,
      null,
      old.schemaVersion,
      JSON.stringify(old),
    );
    db.close();

    const store = await openStore(path);
    try {
      expect(await store.get(old.id)).toStrictEqual({ ...old, sequence: 1 });
      const alarm = makeAlarm(T0, { eventId: old.id });
      await store.append([makeEvent()], [alarm]);
      const [claim] = await store.alarmOutbox.claim(claimAt(T0));
      expect(claim?.alarm.dedupKey).toBe(alarm.dedupKey);
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
      expect(SQLITE_SCHEMA_VERSION).toBe(6);
      const tables = check
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      expect(tables).toEqual([
        'audit_alarm_attempts',
        'audit_alarm_digests',
        'audit_alarms',
        'audit_events',
        'audit_payloads',
        'audit_stream_relay',
        'sqlite_sequence',
      ]);
    } finally {
      check.close();
    }
  });

  describe('atomicity inside SQLite', () => {
    // better-sqlite3 builds its errors in the realm of the first test file that loaded it, so
    // they are matched by message here rather than with toThrow (an instanceof Error check).
    function withTrigger(path: string, table: string, column: string, value: string): void {
      const db = new Database(path);
      db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON ${table} WHEN NEW.${column} = '${value}'
        BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
      db.close();
    }

    it('rolls the events back when an alarm insert fails', async () => {
      const path = join(tempDir(), 'audit.db');
      await (await openStore(path)).close();
      withTrigger(path, 'audit_alarms', 'rule', 'explode');
      const store = await openStore(path);
      try {
        const events = makeEvents(3);
        await expect(
          store.append(events, [makeAlarm(T0), makeAlarm(T0, { rule: 'explode' })]),
        ).rejects.toMatchObject({
          code: 'AUDIT_STORE_FAILED',
          cause: { message: 'refused by test trigger' },
        });
        for (const event of events) expect(await store.get(event.id)).toBeUndefined();
        expect(await store.alarmOutbox.list()).toEqual([]);
      } finally {
        await store.close();
      }
    });

    it('rolls the alarms back when an event insert fails', async () => {
      const path = join(tempDir(), 'audit.db');
      await (await openStore(path)).close();
      withTrigger(path, 'audit_events', 'action', 'explode');
      const store = await openStore(path);
      try {
        await expect(
          store.append([makeEvent(), makeEvent({ action: 'explode' })], [makeAlarm(T0)]),
        ).rejects.toMatchObject({
          code: 'AUDIT_STORE_FAILED',
          cause: { message: 'refused by test trigger' },
        });
        expect(await store.alarmOutbox.list()).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });

  it('never leases a message twice to two connections on one file', async () => {
    const path = join(tempDir(), 'audit.db');
    const first = await openStore(path);
    const second = await openStore(path);
    try {
      await first.append(
        [],
        Array.from({ length: 50 }, (_, i) => makeAlarm(T0 + i)),
      );
      const a = await first.alarmOutbox.claim(claimAt(T0 + 100, { limit: 30 }));
      const b = await second.alarmOutbox.claim(claimAt(T0 + 100, { limit: 30 }));
      expect(a).toHaveLength(30);
      expect(b).toHaveLength(20);
      const keys = [...a, ...b].map((c) => c.alarm.dedupKey);
      expect(new Set(keys).size).toBe(50);
      await second.alarmOutbox.settle(a.map((c) => settlementOf(c, T0 + 200, 'delivered')));
      expect((await first.alarmOutbox.stats()).delivered).toBe(30);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('takes no write lock for a claim whose only due entries are of excluded channels', async () => {
    const path = join(tempDir(), 'audit.db');
    const store = new SqliteAuditStore({ path, busyTimeoutMs: 200 });
    await store.init();
    const writer = new Database(path);
    try {
      await store.append(
        [],
        [makeAlarm(T0, { channel: 'slack' }), makeAlarm(T0 + 1, { channel: 'slack' })],
      );
      writer.exec('BEGIN IMMEDIATE');
      expect(
        await store.alarmOutbox.claim(claimAt(T0 + 10, { excludeChannels: ['slack'] })),
      ).toEqual([]);
      // Matched on the message: better-sqlite3's error class can come from another module
      // registry of the same worker, which toThrow() does not recognise as an Error.
      await expect(store.alarmOutbox.claim(claimAt(T0 + 10))).rejects.toMatchObject({
        message: expect.stringMatching(/locked|busy/i) as unknown,
      });
      writer.exec('ROLLBACK');
      expect(await store.alarmOutbox.claim(claimAt(T0 + 10))).toHaveLength(2);
    } finally {
      writer.close();
      await store.close();
    }
  });

  describe('four processes claiming from one file', () => {
    let child: string;
    let build: string;

    /** Compiles the child and every source file it imports, the way jest compiles them. */
    beforeAll(async () => {
      build = tempDir('nestjs-audit-claim-build-');
      child = await compileChild(join(ROOT, 'test/stores/fixtures/sqlite-claim-child.ts'), build);
    });

    it('hands each of 600 entries to exactly one process', async () => {
      const path = join(tempDir(), 'audit.db');
      const store = await openStore(path);
      const now = Date.now();
      const alarms = Array.from({ length: 600 }, (_, i) => makeAlarm(now - 1000 + (i % 10)));
      await store.append([], alarms);
      await store.close();

      const procs = ['p1', 'p2', 'p3', 'p4'].map((owner) => {
        const proc = spawn(process.execPath, [child, path, owner], {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
        });
        const ready = new Promise<void>((resolve) => {
          const onData = (chunk: Buffer) => {
            if (!chunk.toString('utf8').includes('ready')) return;
            proc.stdout.off('data', onData);
            resolve();
          };
          proc.stdout.on('data', onData);
        });
        return { owner, proc, ready };
      });
      // A loaded machine starts processes hundreds of ms apart: release them together.
      await Promise.all(procs.map((p) => p.ready));
      for (const { proc } of procs) proc.stdin.end('go\n');
      const runs = procs.map(async ({ owner, proc }) => {
        let out = '';
        let err = '';
        proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        const [code] = (await once(proc, 'exit')) as [number | null];
        expect({ owner, code, err }).toEqual({ owner, code: 0, err: '' });
        return out
          .split('\n')
          .filter((line) => line.startsWith('claimed '))
          .map((line) => line.slice('claimed '.length));
      });
      const claimed = await Promise.all(runs);
      const all = claimed.flat();
      expect(all).toHaveLength(600);
      expect(new Set(all)).toEqual(new Set(alarms.map((a) => a.dedupKey)));
      // More than one process got work, so the claims did overlap.
      expect(claimed.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);

      const check = await openStore(path);
      try {
        expect(await check.alarmOutbox.stats()).toEqual({ pending: 0, delivered: 600, dead: 0 });
        expect(await check.alarmOutbox.listAttempts({ limit: 1000 })).toHaveLength(600);
      } finally {
        await check.close();
      }
    });
  });

  describe('query plans', () => {
    let db: Database.Database;

    beforeAll(async () => {
      db = new Database(':memory:');
      const store = new SqliteAuditStore({ database: db });
      await store.init();
      await store.append(
        [],
        Array.from({ length: 300 }, (_, i) =>
          makeAlarm(T0 + i, i % 3 ? {} : { digestKey: `k${i % 4}`, throttleMs: 1000 }),
        ),
      );
      db.exec('ANALYZE');
    });

    afterAll(() => db.close());

    function plan(sql: string, params: unknown[]): string {
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      return rows.map((row) => row.detail).join('\n');
    }

    it.each<[string, string, unknown[], string]>([
      ['the idle check', SQLITE_ALARM_ANY_DUE_SQL, [T0, T0], 'audit_alarms_due'],
      ['waiting digest keys', SQLITE_ALARM_WAITING_KEYS_SQL, [T0, 10], 'audit_alarms_due'],
      ['the lease', SQLITE_ALARM_LEASE_SQL, [T0 + 1, 'x', T0, T0, 10], 'audit_alarms_claim'],
      ['digest members', SQLITE_ALARM_MEMBERS_SQL, [1, 10], 'audit_alarms_group'],
      [
        'the idle check with excluded channels',
        SQLITE_ALARM_ANY_DUE_EXCLUDING_SQL,
        [T0, T0, '["slack"]'],
        'audit_alarms_due',
      ],
      [
        'waiting digest keys with excluded channels',
        SQLITE_ALARM_WAITING_KEYS_EXCLUDING_SQL,
        [T0, '["slack"]', 10],
        'audit_alarms_due',
      ],
      [
        'the lease with excluded channels',
        SQLITE_ALARM_LEASE_EXCLUDING_SQL,
        [T0 + 1, 'x', T0, T0, '["slack","chat"]', 10],
        'audit_alarms_claim',
      ],
    ])('serves %s from an index', (_label, sql, params, index) => {
      const detail = plan(sql, params);
      expect(detail).toContain(index);
      expect(detail).not.toMatch(/SCAN audit_alarms(?! USING)/);
      // A lease reads in claim order and stops at its limit: it never sorts the due backlog.
      if (index === 'audit_alarms_claim') expect(detail).not.toContain('TEMP B-TREE');
    });

    it('leases in claim order from the claim index on a database never analyzed', async () => {
      const fresh = new Database(':memory:');
      try {
        const store = new SqliteAuditStore({ database: fresh });
        await store.init();
        await store.append(
          [],
          Array.from({ length: 50 }, (_, i) => makeAlarm(T0 + i)),
        );
        const rows = fresh
          .prepare(`EXPLAIN QUERY PLAN ${SQLITE_ALARM_LEASE_SQL}`)
          .all(T0 + 1, 'x', T0, T0, 10) as { detail: string }[];
        const detail = rows.map((row) => row.detail).join('\n');
        expect(detail).toContain('audit_alarms_claim');
        expect(detail).not.toContain('TEMP B-TREE');
      } finally {
        fresh.close();
      }
    });

    it('ranks severities in SQL as the stores do in code (the claim index expression)', () => {
      const rank = db.prepare(`SELECT ${SEVERITY_RANK_SQL} FROM (SELECT ? AS severity)`).pluck();
      for (const severity of [...ALARM_SEVERITIES, 'unknown']) {
        expect([severity, rank.get(severity)]).toEqual([severity, severityRank(severity)]);
      }
      expect(SQLITE_MIGRATIONS.at(-1)?.sql).toContain(SEVERITY_RANK_SQL);
    });
  });
});
