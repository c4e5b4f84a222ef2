import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANONICAL_FORMAT, canonicalEventJson } from '../../src/integrity/canonical';
import { chainLink } from '../../src/integrity/chain-link';
import { verifyChain, type ChainBreakKind } from '../../src/integrity/verify';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { makeEvents } from '../fixtures/events';
import { verifySqliteFile } from '../utils/chain-check';

jest.setTimeout(60_000);

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-sqlite-chain-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function events(n: number, from = 0) {
  return makeEvents(n, (i) => ({
    timestamp: new Date(T0 + (from + i) * 1000).toISOString(),
    actor: { type: 'user', id: `u-${(from + i) % 5}`, authenticated: true },
    target: { type: 'order', id: String((from + i) % 9) },
  }));
}

/** A database file with `n` events, appended through the store's worker in batches of 10. */
async function trail(n: number): Promise<string> {
  const path = join(tempDir(), 'audit.db');
  const store = new SqliteAuditStore({ path });
  await store.init();
  try {
    for (let i = 0; i < n; i += 10) await store.append(events(Math.min(10, n - i), i));
  } finally {
    await store.close();
  }
  return path;
}

const verifyFile = (path: string) => verifySqliteFile(path);

/**
 * Tampers with a copy of `path` as someone with write access to the file would: through a plain
 * connection, after dropping the append-only triggers.
 */
function tampered(path: string, attack: (db: Database.Database) => void): string {
  const copy = join(tempDir(), 'tampered.db');
  copyFileSync(path, copy);
  const db = new Database(copy);
  try {
    const triggers = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
      .pluck()
      .all() as string[];
    for (const name of triggers) db.exec(`DROP TRIGGER ${name}`);
    attack(db);
  } finally {
    db.close();
  }
  return copy;
}

/** The rowid of the event with sequence number `seq`. */
function rowidOf(db: Database.Database, seq: number): number {
  return db.prepare('SELECT event FROM audit_payloads WHERE seq = ?').pluck().get(seq) as number;
}

describe('SqliteAuditStore hash chain', () => {
  let path: string;

  beforeAll(async () => {
    path = await trail(100);
  });

  it('chains every event: gapless sequence numbers, canonical JSON, each hash linked to the one before', async () => {
    const db = new Database(path, { readonly: true });
    try {
      const rows = db
        .prepare('SELECT seq, hash, format, payload FROM audit_payloads ORDER BY event')
        .all() as { seq: number; hash: Buffer; format: number; payload: string }[];
      expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      let previous: Buffer | null = null;
      for (const row of rows) {
        expect(row.format).toBe(CANONICAL_FORMAT);
        expect(row.payload).toBe(canonicalEventJson(row.payload));
        previous = chainLink(previous, row.payload);
        expect(row.hash.equals(previous)).toBe(true);
      }
    } finally {
      db.close();
    }
    expect(await verifyFile(path)).toMatchObject({ intact: true, verifiedTo: 100, events: 100 });
  });

  it('refuses UPDATE and DELETE of events and payloads through a plain connection', () => {
    const db = new Database(path);
    try {
      for (const sql of [
        "UPDATE audit_events SET outcome = 'failure' WHERE rowid = 1",
        'DELETE FROM audit_events WHERE rowid = 1',
        "UPDATE audit_payloads SET payload = '{}' WHERE event = 1",
        'DELETE FROM audit_payloads WHERE event = 1',
      ]) {
        expect(() => db.exec(sql)).toThrow(/append-only/);
      }
    } finally {
      db.close();
    }
  });

  it.each<[string, (db: Database.Database) => void, ChainBreakKind, number | undefined]>([
    [
      'the actor edited in one payload',
      (db) =>
        db
          .prepare(
            'UPDATE audit_payloads SET payload = replace(payload, \'"u-1"\', \'"u-4"\') WHERE seq = 42',
          )
          .run(),
      'modified',
      42,
    ],
    [
      'the outcome column edited',
      (db) =>
        db
          .prepare("UPDATE audit_events SET outcome = 'failure' WHERE rowid = ?")
          .run(rowidOf(db, 42)),
      'modified',
      42,
    ],
    [
      'the outcome edited alike in the column and the payload',
      (db) => {
        const rowid = rowidOf(db, 42);
        db.prepare("UPDATE audit_events SET outcome = 'failure' WHERE rowid = ?").run(rowid);
        db.prepare(
          'UPDATE audit_payloads SET payload = replace(payload, \'"outcome":"success"\', \'"outcome":"failure"\') WHERE event = ?',
        ).run(rowid);
      },
      'modified',
      42,
    ],
    [
      'one event deleted',
      (db) => {
        const rowid = rowidOf(db, 42);
        db.prepare('DELETE FROM audit_payloads WHERE event = ?').run(rowid);
        db.prepare('DELETE FROM audit_events WHERE rowid = ?').run(rowid);
      },
      'deleted',
      42,
    ],
    [
      'a forged event inserted without a link',
      (db) => {
        const [forged] = events(1, 500);
        const row = db
          .prepare(
            `INSERT INTO audit_events (id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version)
             VALUES (?, ?, 'user.delete', 'success', 'u-1', 'user', '7', NULL, NULL, 1)`,
          )
          .run(forged!.id, T0 + 41_500);
        db.prepare('INSERT INTO audit_payloads (event, payload) VALUES (?, ?)').run(
          row.lastInsertRowid,
          JSON.stringify({ ...forged, action: 'user.delete' }),
        );
      },
      'inserted',
      101,
    ],
    [
      'two events that exchanged places',
      (db) => {
        const [a, b] = [rowidOf(db, 42), rowidOf(db, 43)];
        const read = db.prepare('SELECT payload FROM audit_payloads WHERE event = ?').pluck();
        const [pa, pb] = [read.get(a), read.get(b)];
        const cols =
          'id, ts, action, outcome, actor_id, resource_type, resource_id, request_id, tenant, schema_version';
        const rowA = db
          .prepare(`SELECT ${cols} FROM audit_events WHERE rowid = ?`)
          .raw()
          .get(a) as unknown[];
        const rowB = db
          .prepare(`SELECT ${cols} FROM audit_events WHERE rowid = ?`)
          .raw()
          .get(b) as unknown[];
        db.prepare('DELETE FROM audit_events WHERE rowid IN (?, ?)').run(a, b);
        const insert = db.prepare(
          `INSERT INTO audit_events (rowid, ${cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        insert.run(a, ...rowB);
        insert.run(b, ...rowA);
        const write = db.prepare('UPDATE audit_payloads SET payload = ? WHERE event = ?');
        write.run(pb, a);
        write.run(pa, b);
      },
      'reordered',
      42,
    ],
  ])('detects %s', async (_name, attack, kind, seq) => {
    const result = await verifyFile(tampered(path, attack));
    expect(result.intact).toBe(false);
    expect(result.break).toMatchObject({ kind, seq });
    expect(result.verifiedTo).toBe(seq === undefined ? 100 : seq - 1);
  });

  it('names an event row stored without any payload as outside the chain', async () => {
    const copy = tampered(path, (db) => {
      const [forged] = events(1, 600);
      db.prepare(
        `INSERT INTO audit_events (id, ts, action, outcome, schema_version) VALUES (?, ?, 'user.delete', 'success', 1)`,
      ).run(forged!.id, T0);
    });
    const result = await verifyFile(copy);
    expect(result).toMatchObject({ intact: false, verifiedTo: 100 });
    expect(result.break?.kind).toBe('inserted');
    expect(result.break?.message).toMatch(/outside the chain/);
  });

  it('keeps one chain when two stores append to one file at the same time', async () => {
    const shared = join(tempDir(), 'shared.db');
    const [a, b] = [new SqliteAuditStore({ path: shared }), new SqliteAuditStore({ path: shared })];
    await a.init();
    await b.init();
    try {
      await Promise.all([
        (async () => {
          for (let i = 0; i < 200; i += 5) await a.append(events(5, i));
        })(),
        (async () => {
          for (let i = 0; i < 200; i += 5) await b.append(events(5, 1000 + i));
        })(),
      ]);
      expect(await verifyChain(a)).toMatchObject({ intact: true, verifiedTo: 400, events: 400 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('verifies the chain on an application connection that reads integers as BigInt', async () => {
    const db = new Database(join(tempDir(), 'app.db'));
    db.defaultSafeIntegers(true);
    const store = new SqliteAuditStore({ database: db, closeDatabase: false });
    await store.init();
    try {
      await store.append(events(3));
      await store.append(events(2, 3));
      expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 5, events: 5 });
      expect(await store.chainHead()).toMatchObject({ seq: 5 });
    } finally {
      await store.close();
      db.close();
    }
  });

  it('chains the events an application transaction appends on the shared connection', async () => {
    const db = new Database(join(tempDir(), 'app.db'));
    const store = new SqliteAuditStore({ database: db, closeDatabase: false });
    await store.init();
    try {
      await store.append(events(3));
      const statements = await store.appendStatements(events(4, 10));
      db.transaction(() => {
        for (const { text, values } of statements) db.prepare(text).run(...(values as never[]));
      })();
      // A transaction rolled back leaves no link behind.
      const rolledBack = await store.appendStatements(events(2, 20));
      expect(() =>
        db.transaction(() => {
          for (const { text, values } of rolledBack) db.prepare(text).run(...(values as never[]));
          throw new Error('rollback');
        })(),
      ).toThrow('rollback');
      await store.append(events(3, 30));
      expect(await verifyChain(store)).toMatchObject({ intact: true, verifiedTo: 10, events: 10 });
    } finally {
      await store.close();
      db.close();
    }
  });
});
