import type { AuditEvent } from '../../src/event/audit-event';
import Database from 'better-sqlite3';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditError } from '../../src/common/audit-error';
import { AuditStateError } from '../../src/common/audit-state.error';
import { AuditStoreError } from '../../src/common/audit-store.error';
import { parseAuditQuery, type AuditQuery } from '../../src/query/audit-query';
import { SqliteAuditStore } from '../../src/stores/sqlite/sqlite-audit.store';
import type { SqliteAuditStoreOptions } from '../../src/stores/sqlite/sqlite-options';
import {
  buildSqliteQuery,
  SQLITE_GET_SQL,
  SQLITE_HISTORY_SQL,
  sqliteEventOf,
} from '../../src/stores/sqlite/sqlite-query';
import { SQLITE_SCHEMA_VERSION } from '../../src/stores/sqlite/sqlite.schema';
import { makeEvent, makeEvents } from '../fixtures/events';
import { describeStoreContract } from './store-contract';

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-sqlite-'));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A store for the contract suite in a directory of its own, removed with it. */
async function contractStore(open: (dir: string) => SqliteAuditStore) {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-contract-'));
  const store = open(dir);
  await store.init();
  return {
    store,
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeStoreContract('sqlite', () =>
  contractStore((dir) => new SqliteAuditStore({ path: join(dir, 'audit.db') })),
);

// An application's connection may read integers as BigInt (`defaultSafeIntegers(true)`, for
// 64-bit ids): the store's own statements still read numbers.
describeStoreContract('sqlite on a connection with safe integers on', () =>
  contractStore((dir) => {
    const db = new Database(join(dir, 'app.db'));
    db.defaultSafeIntegers(true);
    return new SqliteAuditStore({ database: db });
  }),
);

describe('SqliteAuditStore', () => {
  it('names its engine', () => {
    expect(new SqliteAuditStore({ path: ':memory:' }).engine).toBe('sqlite');
  });

  it('keeps the data across close and reopen', async () => {
    const path = join(tempDir(), 'audit.db');
    const events = makeEvents(10);
    const first = new SqliteAuditStore({ path });
    await first.init();
    await first.append(events);
    await first.close();

    const second = new SqliteAuditStore({ path });
    await second.init();
    try {
      const page = await second.query(parseAuditQuery({ limit: 100 }));
      expect(page.items).toHaveLength(10);
      // Read back with its place in the chain: the fifth event appended.
      expect(await second.get(events[4]!.id)).toStrictEqual({ ...events[4], sequence: 5 });
    } finally {
      await second.close();
    }
  });

  it('reads the sequence number before the JSON, and none for a row outside the chain', () => {
    const json = JSON.stringify({ id: 'e-1', message: '12,{"a":1}' });
    expect(sqliteEventOf(`12,${json}`)).toStrictEqual({ ...JSON.parse(json), sequence: 12 });
    expect(sqliteEventOf(`,${json}`)).toStrictEqual(JSON.parse(json));
  });

  it('creates missing parent directories', async () => {
    const path = join(tempDir(), 'a', 'b', 'c', 'audit.db');
    const store = new SqliteAuditStore({ path });
    await store.init();
    await store.close();
    expect(existsSync(path)).toBe(true);
  });

  it('works on an in-memory database', async () => {
    const store = new SqliteAuditStore({ path: ':memory:' });
    await store.init();
    const event = makeEvent();
    await store.append([event]);
    expect(await store.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
    await store.close();
  });

  describe('database settings', () => {
    it('switches the file to WAL mode and creates the versioned schema', async () => {
      const path = join(tempDir(), 'audit.db');
      const store = new SqliteAuditStore({ path });
      await store.init();
      await store.close();

      const db = new Database(path, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
        expect(db.pragma('page_size', { simple: true })).toBe(4096);
        const table = db
          .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'")
          .pluck()
          .get() as string;
        expect(table).not.toMatch(/WITHOUT ROWID/);
      } finally {
        db.close();
      }
    });

    it.each([
      [{}, 2, 5000],
      [{ synchronous: 'NORMAL', busyTimeoutMs: 250 }, 1, 250],
    ] as const)(
      'applies synchronous and busy timeout (%j)',
      async (options, synchronous, timeout) => {
        const db = new Database(join(tempDir(), 'audit.db'));
        const store = new SqliteAuditStore({ ...options, database: db });
        await store.init();
        expect(db.pragma('synchronous', { simple: true })).toBe(synchronous);
        expect(db.pragma('busy_timeout', { simple: true })).toBe(timeout);
        await store.close();
        expect(db.open).toBe(false);
      },
    );

    it('calls a database factory only in init()', async () => {
      const path = join(tempDir(), 'audit.db');
      const factory = jest.fn(() => new Database(path));
      const store = new SqliteAuditStore({ database: factory });
      expect(factory).not.toHaveBeenCalled();
      await store.init();
      await store.init();
      expect(factory).toHaveBeenCalledTimes(1);
      await store.append(makeEvents(2));
      expect((await store.query(parseAuditQuery())).items).toHaveLength(2);
      await store.close();
    });

    it('rejects a factory that does not return a database', async () => {
      const store = new SqliteAuditStore({ database: () => ({ nope: true }) });
      await expect(store.init()).rejects.toThrow(
        /"database" factory returned an object with keys \["nope"\]: return an open better-sqlite3 Database/,
      );
    });
  });

  describe('schema versions', () => {
    it('migrates once: a second init keeps the data', async () => {
      const path = join(tempDir(), 'audit.db');
      const event = makeEvent();
      const first = new SqliteAuditStore({ path });
      await first.init();
      await first.append([event]);
      await first.close();
      const second = new SqliteAuditStore({ path });
      await second.init();
      expect(await second.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
      await second.close();
    });

    it('refuses a database written by a newer release, saying to upgrade', async () => {
      const path = join(tempDir(), 'audit.db');
      const db = new Database(path);
      db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
      db.close();

      const store = new SqliteAuditStore({ path });
      const init = store.init();
      await expect(init).rejects.toThrow(
        `has schema version ${SQLITE_SCHEMA_VERSION + 1}, but this nestjs-audit supports up to version ${SQLITE_SCHEMA_VERSION}`,
      );
      await expect(init).rejects.toThrow(/Upgrade nestjs-audit/);
      await expect(init).rejects.toThrow(path);
      // Thrown in the store's worker thread, and still an AuditError with its code here.
      const error: unknown = await init.catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(AuditError);
      expect(error).toMatchObject({
        name: 'SchemaTooNewError',
        code: 'AUDIT_STORE_SCHEMA_INCOMPATIBLE',
      });
      await store.close();
    });

    it('refuses a file that is not a SQLite database, naming the path and the cause', async () => {
      const path = join(tempDir(), 'notes.txt');
      writeFileSync(path, 'These are my notes, not a database.\n'.repeat(200));
      const store = new SqliteAuditStore({ path });
      const init = store.init();
      await expect(init).rejects.toThrow(`Cannot open the audit database "${path}"`);
      await expect(init).rejects.toThrow(/file is not a database/);
      await expect(init).rejects.toBeInstanceOf(AuditStoreError);
      await expect(init).rejects.toMatchObject({
        code: 'AUDIT_STORE_FAILED',
        cause: { code: 'SQLITE_NOTADB' },
      });
      await store.close();
    });

    it('reports a path it cannot create, naming the directory problem', async () => {
      const file = join(tempDir(), 'file');
      writeFileSync(file, 'x');
      const store = new SqliteAuditStore({ path: join(file, 'sub', 'audit.db') });
      await expect(store.init()).rejects.toThrow(
        /Cannot create the audit database ".*audit\.db" or its directory: .*Create the directory/,
      );
    });
  });

  describe('file permissions', () => {
    const modeOf = (file: string) => statSync(file).mode & 0o777;

    it('creates the database, its -wal and its -shm for the owner alone', async () => {
      const path = join(tempDir(), 'private', 'audit.db');
      const store = new SqliteAuditStore({ path });
      await store.init();
      await store.append(makeEvents(3));
      expect([modeOf(path), modeOf(`${path}-wal`), modeOf(`${path}-shm`)]).toEqual([
        0o600, 0o600, 0o600,
      ]);
      await store.close();
    });

    it('creates them with the fileMode given, whatever the umask', async () => {
      const path = join(tempDir(), 'audit.db');
      const umask = process.umask(0o077);
      try {
        const store = new SqliteAuditStore({ path, fileMode: 0o640 });
        await store.init();
        await store.append(makeEvents(1));
        expect([modeOf(path), modeOf(`${path}-wal`)]).toEqual([0o640, 0o640]);
        await store.close();
      } finally {
        process.umask(umask);
      }
    });

    it('leaves the permissions of an existing database as they are', async () => {
      const path = join(tempDir(), 'audit.db');
      const first = new SqliteAuditStore({ path });
      await first.init();
      await first.close();
      chmodSync(path, 0o644);
      const store = new SqliteAuditStore({ path });
      await store.init();
      expect(modeOf(path)).toBe(0o644);
      await store.close();
    });

    it('refuses a fileMode that lets others write, or the owner not', () => {
      expect(() => new SqliteAuditStore({ fileMode: 0o666 })).toThrow(
        /"fileMode": 0o666 lets other users change the audit trail/,
      );
      expect(() => new SqliteAuditStore({ fileMode: 0o400 })).toThrow(
        /0o400 does not let the owner \(the application\) read and write/,
      );
      expect(() => new SqliteAuditStore({ fileMode: '600' as never })).toThrow(
        /expected permission bits such as 0o600/,
      );
    });
  });

  describe('lifecycle', () => {
    it('rejects reads and writes before init()', async () => {
      const store = new SqliteAuditStore({ path: ':memory:' });
      await expect(store.append([makeEvent()])).rejects.toThrow(
        'SqliteAuditStore.append() was called before init(): await store.init() first',
      );
      await expect(store.query(parseAuditQuery())).rejects.toThrow(
        /query\(\) was called before init/,
      );
      await expect(store.get('x')).rejects.toThrow(/get\(\) was called before init/);
      await expect(store.history('a', 'b')).rejects.toThrow(/history\(\) was called before init/);
    });

    it('rejects use after close(), and close() twice is fine', async () => {
      const path = join(tempDir(), 'audit.db');
      const store = new SqliteAuditStore({ path });
      await store.init();
      await store.close();
      await store.close();
      await expect(store.append([makeEvent()])).rejects.toThrow(
        `SqliteAuditStore.append() was called after close() (database "${path}"). Create a new SqliteAuditStore`,
      );
      await expect(store.query(parseAuditQuery())).rejects.toThrow(/after close/);
      await expect(store.init()).rejects.toThrow(/init\(\) was called after close\(\)/);
      await expect(store.append([makeEvent()])).rejects.toBeInstanceOf(AuditStateError);
      await expect(store.init()).rejects.toMatchObject({ code: 'AUDIT_STATE_INVALID' });
    });

    it('closes a database given as an instance even when init() never ran', async () => {
      const db = new Database(':memory:');
      await new SqliteAuditStore({ database: db }).close();
      expect(db.open).toBe(false);
    });
  });

  describe('driver loading', () => {
    afterEach(() => {
      jest.dontMock('better-sqlite3');
    });

    function storeWithDriver(load: () => unknown): Promise<void> {
      let init: Promise<void> = Promise.resolve();
      jest.isolateModules(() => {
        jest.doMock('better-sqlite3', load);
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module registry is needed to swap the driver
        const fresh = require('../../src/stores/sqlite/sqlite-audit.store') as {
          SqliteAuditStore: typeof SqliteAuditStore;
        };
        init = new fresh.SqliteAuditStore({ path: ':memory:' }).init();
      });
      return init;
    }

    it('names the install command when better-sqlite3 is missing', async () => {
      await expect(
        storeWithDriver(() => {
          throw Object.assign(new Error("Cannot find module 'better-sqlite3' from 'x.js'"), {
            code: 'MODULE_NOT_FOUND',
          });
        }),
      ).rejects.toThrow(/needs the "better-sqlite3" package.*Run `npm install better-sqlite3`/);
    });

    it('names the rebuild command when the native addon does not load', async () => {
      await expect(
        storeWithDriver(() => {
          throw new Error('was compiled against a different Node.js version');
        }),
      ).rejects.toThrow(/built for another Node\.js version .*`npm rebuild better-sqlite3`/);
      await expect(
        storeWithDriver(() => {
          throw new Error('Cannot find module ./lib/database');
        }),
      ).rejects.toThrow(/could not be loaded .*`npm rebuild better-sqlite3`/);
    });
  });

  describe('a database shared with the application (closeDatabase: false)', () => {
    let db: Database.Database;
    let store: SqliteAuditStore;

    beforeEach(async () => {
      db = new Database(join(tempDir(), 'app.db'));
      store = new SqliteAuditStore({ database: db, closeDatabase: false, busyTimeoutMs: 300 });
      await store.init();
    });

    afterEach(async () => {
      await store.close();
      db.close();
    });

    it('leaves the connection open when it closes, and offers it for atomic statements', async () => {
      expect(store.sqlConnection).toBe(db);
      await store.close();
      expect(db.open).toBe(true);
      expect(new SqliteAuditStore({ database: new Database(':memory:') }).sqlConnection).toBe(
        undefined,
      );
    });

    it("waits for the application's transaction, so its rollback never takes an event along", async () => {
      db.exec('CREATE TABLE app_rows (v TEXT)');
      db.exec('BEGIN');
      db.prepare('INSERT INTO app_rows VALUES (?)').run('rolled back');
      const event = makeEvent();
      const appended = store.append([event]);
      // Let the store look a few times: the transaction is still open, nothing is written.
      await new Promise((resolve) => setTimeout(resolve, 20));
      db.exec('ROLLBACK');
      await appended;
      expect(await store.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
      expect(db.prepare('SELECT count(*) FROM app_rows').pluck().get()).toBe(0);
    });

    it('fails a call after busyTimeoutMs of an open transaction, naming the cause', async () => {
      db.exec('BEGIN');
      try {
        await expect(store.append([makeEvent()])).rejects.toThrow(
          /append: a transaction of the application stayed open on the shared connection for 300 ms/,
        );
      } finally {
        db.exec('ROLLBACK');
      }
    });

    it("wraps the driver's refusal in an AuditStoreError, as the worker's calls do", async () => {
      db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.action = 'explode'
        BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`);
      const failure: unknown = await store.append([makeEvent({ action: 'explode' })]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(AuditStoreError);
      expect((failure as Error).message).toMatch(
        /^SqliteAuditStore could not run append \(".*app\.db"\): refused by test trigger\. Retrying/,
      );
      // Read as properties: better-sqlite3 makes its errors in the realm of the test file that
      // loaded it first, where Jest's object matching sees another class.
      expect((failure as AuditStoreError).code).toBe('AUDIT_STORE_FAILED');
      expect((failure as { cause?: { code?: unknown } }).cause?.code).toBe(
        'SQLITE_CONSTRAINT_TRIGGER',
      );
      const event = makeEvent();
      await store.append([event]);
      expect(await store.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
    });

    it('gives statements that insert in a transaction of the application, idempotently', async () => {
      const event = makeEvent();
      const statements = await store.appendStatements([event]);
      const runAll = db.transaction(() => {
        for (const statement of statements) {
          db.prepare(statement.text).run(...(statement.values as (string | number | null)[]));
        }
      });
      runAll();
      runAll();
      // Chained once, by the first run.
      expect(await store.get(event.id)).toStrictEqual({ ...event, sequence: 1 });
      expect(db.prepare('SELECT count(*) FROM audit_payloads').pluck().get()).toBe(1);
    });

    it('keeps what the statements appended in the relay backlog until its lines are confirmed', async () => {
      // Appended in one millisecond, the backlog gives them in id order.
      const [first, second] = [makeEvent(), makeEvent()].sort((a, b) => (a.id < b.id ? -1 : 1)) as [
        AuditEvent,
        AuditEvent,
      ];
      const statements = await store.appendStatements([first, second]);
      db.transaction(() => {
        for (const statement of statements) {
          db.prepare(statement.text).run(...(statement.values as (string | number | null)[]));
        }
      })();
      await store.append([makeEvent()]);
      // Only what an application's transaction appended, and only once old enough.
      expect(await store.unstreamed(60_000, 10)).toEqual([]);
      expect(await store.unstreamed(0, 10)).toEqual([first, second]);
      expect(await store.unstreamed(0, 1)).toEqual([first]);
      await store.markStreamed([first.id]);
      expect(await store.unstreamed(0, 10)).toEqual([second]);
      await store.markStreamed([second.id, 'never-appended']);
      expect(await store.unstreamed(0, 10)).toEqual([]);
    });

    it('refuses statements on a store that has its own connection', async () => {
      const own = new SqliteAuditStore({ path: join(tempDir(), 'own.db') });
      await own.init();
      try {
        await expect(own.appendStatements([makeEvent()])).rejects.toThrow(
          /does not share an open connection of the application/,
        );
      } finally {
        await own.close();
      }
    });
  });

  describe('options validation', () => {
    it.each<[string, unknown, RegExp]>([
      ['options that are not an object', 'audit.db', /expects an options object/],
      ['an unknown option', { file: 'x.db' }, /Unknown SqliteAuditStore option "file"/],
      ['an empty path', { path: '' }, /option "path": expected a file path/],
      ['a path that is not a string', { path: 42 }, /option "path": expected a file path.*got 42/],
      ['path and database together', { path: 'a.db', database: () => ({}) }, /exclude each other/],
      [
        'a database that is not one',
        { database: { prepare: 1 } },
        /option "database": expected a better-sqlite3 Database/,
      ],
      [
        'an unknown synchronous level',
        { synchronous: 'OFF' },
        /option "synchronous": "OFF" is not supported; use 'FULL'/,
      ],
      [
        'a negative busy timeout',
        { busyTimeoutMs: -1 },
        /option "busyTimeoutMs": expected a whole number/,
      ],
      ['a fractional busy timeout', { busyTimeoutMs: 1.5 }, /option "busyTimeoutMs"/],
      ['a busy timeout as a string', { busyTimeoutMs: '100' }, /option "busyTimeoutMs".*got "100"/],
      [
        'closeDatabase without a database',
        { path: 'a.db', closeDatabase: false },
        /option "closeDatabase": it applies to a "database"/,
      ],
      [
        'closeDatabase that is not a boolean',
        { database: () => ({}), closeDatabase: 'no' },
        /option "closeDatabase": expected true or false, got "no"/,
      ],
    ])('rejects %s', (_label, options, message) => {
      expect(() => new SqliteAuditStore(options as SqliteAuditStoreOptions)).toThrow(message);
    });

    it('rejects a database that is already closed', () => {
      const db = new Database(':memory:');
      db.close();
      expect(() => new SqliteAuditStore({ database: db })).toThrow(/already closed/);
    });
  });

  describe('query plans', () => {
    let db: Database.Database;
    let store: SqliteAuditStore;

    beforeAll(async () => {
      db = new Database(':memory:');
      store = new SqliteAuditStore({ database: db });
      await store.init();
      await store.append(
        makeEvents(500, (i) => ({
          actor: { type: 'user', id: `u-${i % 50}`, authenticated: true },
          target: { type: i % 2 ? 'user' : 'order', id: `${i % 40}` },
          request: { id: `req-${i}` },
          tenant: `t-${i % 5}`,
        })),
      );
    });

    afterAll(async () => {
      await store.close();
    });

    function plan(sql: string, params: unknown[]): string {
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      return rows.map((row) => row.detail).join('\n');
    }

    function queryPlan(input: AuditQuery): string {
      const { sql, params } = buildSqliteQuery(parseAuditQuery(input));
      return plan(sql, params);
    }

    const cursor = { cursor: Buffer.from(JSON.stringify([Date.now(), 'z'])).toString('base64url') };

    it.each<[string, AuditQuery, string]>([
      ['actor', { actorId: 'u-1' }, 'audit_events_actor_ts (actor_id=?)'],
      [
        'actor, next page',
        { actorId: 'u-1', ...cursor },
        'audit_events_actor_ts (actor_id=? AND ts<?)',
      ],
      [
        'actor and period',
        { actorId: 'u-1', from: '2026-01-01', to: '2026-02-01' },
        'audit_events_actor_ts (actor_id=? AND ts>? AND ts<?)',
      ],
      [
        'resource',
        { resourceType: 'user', resourceId: '3' },
        'audit_events_resource_ts (resource_type=? AND resource_id=?)',
      ],
      [
        'resource, next page',
        { resourceType: 'user', resourceId: '3', ...cursor },
        'audit_events_resource_ts (resource_type=? AND resource_id=? AND ts<?)',
      ],
      ['period', { from: '2026-01-01', to: '2026-02-01' }, 'audit_events_ts (ts>? AND ts<?)'],
      ['newest events', {}, 'audit_events_ts'],
      ['next page', cursor, 'audit_events_ts (ts<?)'],
      ['action', { action: 'user.update' }, 'audit_events_action_ts (action=?)'],
      ['tenant', { tenant: 't-1' }, 'audit_events_tenant_ts (tenant=?)'],
      ['outcome', { outcome: 'failure' }, 'audit_events_outcome_ts (outcome=?)'],
      [
        'actor and action',
        { actorId: 'u-1', action: 'user.update' },
        'audit_events_actor_ts (actor_id=?)',
      ],
      [
        'outcome and period',
        { outcome: 'failure', from: '2026-01-01', to: '2026-02-01' },
        'audit_events_outcome_ts (outcome=? AND ts>? AND ts<?)',
      ],
    ])('serves the %s query from an index in page order', (_label, input, index) => {
      const detail = queryPlan(input);
      expect(detail).toContain(`USING INDEX ${index}`);
      expectTimeOrder(detail);
    });

    /**
     * The indexes end in ts, not (ts, id): SQLite reads them in time order and sorts only the
     * events of one millisecond by id ("LAST TERM"), never the whole match.
     */
    function expectTimeOrder(detail: string): void {
      expect(detail).not.toMatch(/SCAN audit_events$/m);
      for (const line of detail.split('\n').filter((l) => l.includes('TEMP B-TREE'))) {
        expect(line).toBe('USE TEMP B-TREE FOR LAST TERM OF ORDER BY');
      }
    }

    it('serves the request-id query from its index', () => {
      // Few events share a request id, so sorting them afterwards is cheap.
      expect(queryPlan({ requestId: 'req-1' })).toContain(
        'SEARCH audit_events USING INDEX audit_events_request (request_id=?)',
      );
    });

    it('serves history from the resource index in time order', () => {
      const detail = plan(SQLITE_HISTORY_SQL, ['user', '3']);
      expect(detail).toContain(
        'SEARCH audit_events USING INDEX audit_events_resource_ts (resource_type=? AND resource_id=?)',
      );
      expectTimeOrder(detail);
    });

    it('looks events up by their unique id index, which alone finds the payload row', () => {
      expect(plan(SQLITE_GET_SQL, ['x'])).toContain('USING COVERING INDEX audit_events_id (id=?)');
    });

    it.each<[string, string, unknown[]]>([
      ['query', buildSqliteQuery(parseAuditQuery({ actorId: 'u-1' })).sql, ['u-1', 51]],
      ['history', SQLITE_HISTORY_SQL, ['user', '3']],
      ['get', SQLITE_GET_SQL, ['x']],
    ])('reads the payload of each %s result by its rowid', (_label, sql, params) => {
      expect(plan(sql, params)).toContain(
        'SEARCH audit_payloads USING INTEGER PRIMARY KEY (rowid=?)',
      );
    });
  });
});
