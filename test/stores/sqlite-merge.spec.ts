import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '../../src/event/audit-event';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import { SqliteConnection } from '../../src/stores/sqlite/sqlite-connection';
import type { SqliteDatabase } from '../../src/stores/sqlite/sqlite-driver';
import type { SqliteAppend, SqliteEventRow } from '../../src/stores/sqlite/sqlite-protocol';
import { sqliteEventOf } from '../../src/stores/sqlite/sqlite-query';
import { makeEvent, makeEvents, withoutSequence } from '../fixtures/events';

/*
 * The store's worker commits the appends that wait for it together, in one transaction. Whether
 * appends happen to wait together depends on timing, so these tests assert only what holds
 * either way: each append settles to its own outcome, as if it had been committed alone.
 */

jest.setTimeout(60_000);

const dirs: string[] = [];

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-sqlite-merge-'));
  dirs.push(dir);
  return join(dir, 'audit.db');
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function rowOf(event: AuditEvent): SqliteEventRow {
  return [
    event.id,
    Date.parse(event.timestamp),
    event.action,
    event.outcome,
    event.actor.id ?? null,
    event.target?.type ?? null,
    event.target?.id ?? null,
    event.request?.id ?? null,
    event.tenant ?? null,
    event.schemaVersion,
    JSON.stringify(event),
  ];
}

function appendOf(events: readonly AuditEvent[]): SqliteAppend {
  return { rows: events.map(rowOf), alarms: [] };
}

/** Refuses events of one action, from a second connection (the store never sees it coming). */
function refuseAction(path: string, action: string): void {
  const db = new Database(path);
  db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.action = '${action}'
    BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
  db.close();
}

describe('SqliteConnection.appendAll', () => {
  let connection: SqliteConnection;

  beforeEach(() => {
    connection = SqliteConnection.open(
      { kind: 'database', db: new Database(':memory:') as unknown as SqliteDatabase },
      { synchronous: 'FULL', busyTimeoutMs: 100, fileMode: 0o600 },
    );
  });

  afterEach(() => connection.close());

  function stored(id: string): AuditEvent | undefined {
    const text = connection.handle({ op: 'get', id });
    return text === undefined ? undefined : sqliteEventOf(text);
  }

  it('commits several appends in one transaction: all of them or none', () => {
    const first = makeEvents(3);
    const broken = makeEvent();
    const row = rowOf(broken);
    // NOT NULL column: the whole transaction fails on the last row.
    row[2] = null as unknown as string;
    expect(() => connection.appendAll([appendOf(first), { rows: [row], alarms: [] }])).toThrow(
      /NOT NULL/,
    );
    for (const event of first) expect(stored(event.id)).toBeUndefined();

    connection.appendAll([appendOf(first), appendOf([broken])]);
    for (const event of [...first, broken]) expect(stored(event.id)).toBeDefined();
  });

  it('keeps the first version of an id appended twice in one merged commit', () => {
    const event = makeEvent({ message: 'first' });
    connection.appendAll([appendOf([event]), appendOf([{ ...event, message: 'second' }])]);
    expect(stored(event.id)).toStrictEqual({ ...event, sequence: 1 });
  });
});

describe('SqliteAuditStore appends waiting together in the worker', () => {
  it('settles each append to its own outcome, a refused one failing alone', async () => {
    const path = tempPath();
    const store = new SqliteAuditStore({ path });
    await store.init();
    refuseAction(path, 'explode');
    try {
      // A large first commit keeps the worker busy while the others are posted behind it.
      const large = makeEvents(2000);
      const small = Array.from({ length: 10 }, () => makeEvents(20));
      const refused = [makeEvent(), makeEvent({ action: 'explode' })];
      const calls = [
        store.append(large),
        ...small.slice(0, 5).map((events) => store.append(events)),
        store.append(refused),
        ...small.slice(5).map((events) => store.append(events)),
      ];
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        ...Array<string>(6).fill('fulfilled'),
        'rejected',
        ...Array<string>(5).fill('fulfilled'),
      ]);
      expect((outcomes[6] as PromiseRejectedResult).reason).toMatchObject({
        code: 'AUDIT_STORE_FAILED',
        cause: { message: 'refused by test trigger' },
      });
      for (const event of refused) expect(await store.get(event.id)).toBeUndefined();
      // Numbered in the order the worker committed them, which timing decides.
      for (const event of [large[0], large[1999], ...small.flat()]) {
        expect(withoutSequence(await store.get((event as AuditEvent).id))).toStrictEqual(event);
      }
    } finally {
      await store.close();
    }
  });

  it('fails every waiting append with the lock error when another connection holds the lock', async () => {
    const path = tempPath();
    const store = new SqliteAuditStore({ path, busyTimeoutMs: 50 });
    await store.init();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 }, () => store.append(makeEvents(10))),
      );
      for (const outcome of outcomes) {
        expect(outcome).toMatchObject({
          status: 'rejected',
          reason: {
            code: 'AUDIT_STORE_FAILED',
            message: expect.stringMatching(/busy timeout \(busyTimeoutMs\)/) as unknown,
            cause: { code: expect.stringMatching(/^SQLITE_BUSY/) as unknown },
          },
        });
      }
      other.exec('ROLLBACK');
      const event = makeEvent();
      await store.append([event]);
      // The failed appends took no sequence number with them.
      expect(await store.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
    }
  });
});
