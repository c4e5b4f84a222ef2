import { randomBytes } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { Pool } from 'pg';
import { AuditStateError } from '../../src/common/audit-state.error';
import { AuditStoreError } from '../../src/common/audit-store.error';
import { parseAuditQuery } from '../../src/query/audit-query';
import type { PostgresPool } from '../../src/stores/postgres/postgres-driver';
import {
  PostgresAuditStore,
  type PostgresAuditStoreOptions,
} from '../../src/stores/postgres/postgres-audit.store';
import { makeEvent, withoutSequence } from '../fixtures/events';
import { fakeOnly, settlement, turn, until, type Settlement } from '../utils/until';

jest.setTimeout(30_000);

const HOST = '127.0.0.1';
const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? `postgres://postgres@${HOST}:5432/test`;
const upstream = new URL(CONNECTION);

const schemas = new Set<string>();
let schemaCount = 0;

function uniqueSchema(): string {
  const name = `audit_test_${process.pid}_${randomBytes(3).toString('hex')}_${++schemaCount}`;
  schemas.add(name);
  return name;
}

const admin = new Pool({ connectionString: CONNECTION, max: 2 });
const stores: PostgresAuditStore[] = [];

function track(options: PostgresAuditStoreOptions): PostgresAuditStore {
  const store = new PostgresAuditStore(options);
  stores.push(store);
  return store;
}

afterEach(async () => {
  jest.useRealTimers();
  for (const store of stores.splice(0)) await store.close();
});

afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

/**
 * Makes the audit table in `schema` with the default timeouts, so that a store with a statement
 * timeout of a few hundred milliseconds opens it without migrating: on a loaded machine the
 * migration's DDL alone took longer than that, and these tests are about the statements after it.
 */
async function prepareSchema(schema: string): Promise<void> {
  const store = new PostgresAuditStore({ connectionString: CONNECTION, schema });
  try {
    await store.init();
  } finally {
    await store.close();
  }
}

/**
 * Fakes `setTimeout` and `clearTimeout` only: the store's and the driver's timeouts then fire
 * when the test moves the fake clock (`jest.advanceTimersByTime`), never on their own. Sockets,
 * `setImmediate` and the real clock go on as usual.
 */
function fakeTimeouts(): void {
  fakeOnly(['setTimeout', 'clearTimeout']);
}

/** A promise that must reject, watched: whether it has yet, and with what. */
function watch(promise: Promise<unknown>): Settlement & { error: Promise<Error> } {
  const watched = settlement(promise);
  const error = promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason as Error,
  );
  return {
    get settled() {
      return watched.settled;
    },
    error,
  };
}

/**
 * Moves the fake clock `ms` ahead and lets what its timers set off run: a timeout's rejection
 * reaches the caller through the driver's callbacks and promises.
 */
async function advance(ms: number): Promise<void> {
  jest.advanceTimersByTime(ms);
  await turn();
  await turn();
}

/**
 * A TCP proxy in front of PostgreSQL that can stop answering (packets vanish, like a network
 * partition) or cut every connection and refuse new ones (like a server that went away).
 */
class FlakyProxy {
  private mode: 'forward' | 'blackhole' | 'refuse' = 'forward';
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  /** Connections cut at once because the proxy refused them. */
  refused = 0;
  /** Chunks from the client that vanished in the black hole. */
  swallowed = 0;

  async start(): Promise<string> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server?.listen(0, HOST, resolve));
    const { port } = this.server.address() as AddressInfo;
    const url = new URL(CONNECTION);
    url.host = `${HOST}:${port}`;
    return url.toString();
  }

  set(mode: 'forward' | 'blackhole' | 'refuse'): void {
    this.mode = mode;
    if (mode === 'refuse') for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      this.refused += 1;
      client.destroy();
      return;
    }
    const server = connect(Number(upstream.port || 5432), upstream.hostname);
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (data) => {
      if (this.mode === 'forward') server.write(data);
      else this.swallowed += 1;
    });
    server.on('data', (data) => {
      if (this.mode === 'forward') client.write(data);
    });
  }
}

describe('PostgresAuditStore failures', () => {
  it('rejects init() at once and clearly when nothing listens on the port', async () => {
    const store = track({ connectionString: `postgres://postgres@${HOST}:1/test` });
    // No timer can fire: an init that waited for a timeout, a retry or a backoff would hang.
    fakeTimeouts();
    const error = await watch(store.init()).error;
    jest.useRealTimers();
    expect(error.message).toMatch(
      /^PostgresAuditStore could not initialise \(table "public"\."audit_events"\): connect ECONNREFUSED 127\.0\.0\.1:1\. Check that PostgreSQL is reachable/,
    );
    expect(error).toBeInstanceOf(AuditStoreError);
    expect(error).toMatchObject({ code: 'AUDIT_STORE_FAILED' });
    await expect(store.append([makeEvent()])).rejects.toThrow(/called before init\(\)/);
    await expect(store.append([makeEvent()])).rejects.toBeInstanceOf(AuditStateError);
  });

  it('rejects init() within connectionTimeoutMs when the server accepts but never answers', async () => {
    let connections = 0;
    let closedByClient = 0;
    let closing = false;
    const open: Socket[] = [];
    const silent = createServer((socket) => {
      connections += 1;
      open.push(socket);
      // Reads (and drops) what comes, so that the client's hanging up is noticed.
      socket.resume();
      socket.on('close', () => {
        if (!closing) closedByClient += 1;
      });
    });
    await new Promise<void>((resolve) => silent.listen(0, HOST, resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      fakeTimeouts();
      const store = track({
        connectionString: `postgres://postgres@${HOST}:${port}/test`,
        connectionTimeoutMs: 300,
      });
      const init = watch(store.init());
      await until(() => connections === 1);
      // Not a moment before the timeout…
      await advance(299);
      expect(init.settled).toBe(false);
      // …and at it.
      await advance(1);
      expect(init.settled).toBe(true);
      expect((await init.error).message).toMatch(
        /^PostgresAuditStore could not initialise .*: no connection within 300 ms \(connectionTimeoutMs\)/,
      );
      // The server never said a word; the client gave the connection up.
      await until(() => closedByClient === 1);
      expect(connections).toBe(1);
    } finally {
      jest.useRealTimers();
      closing = true;
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('bounds the wait for a pool that never hands out a connection', async () => {
    const stuck: PostgresPool = {
      connect: () => new Promise(() => undefined),
      end: async () => {},
    };
    fakeTimeouts();
    const store = track({ pool: stuck, connectionTimeoutMs: 200 });
    const init = watch(store.init());
    await advance(199);
    expect(init.settled).toBe(false);
    await advance(1);
    expect(init.settled).toBe(true);
    expect((await init.error).message).toContain(
      'PostgresAuditStore could not initialise (table "public"."audit_events"): no connection within 200 ms (connectionTimeoutMs)',
    );
  });

  describe('through a proxy that fails', () => {
    let proxy: FlakyProxy;
    let url: string;

    beforeEach(async () => {
      proxy = new FlakyProxy();
      url = await proxy.start();
    });

    afterEach(async () => {
      await proxy.stop();
    });

    it('rejects append and query when the server goes away, and recovers when it is back', async () => {
      const store = track({
        connectionString: url,
        schema: uniqueSchema(),
        connectionTimeoutMs: 1000,
      });
      await store.init();
      const before = makeEvent();
      await store.append([before]);

      proxy.set('refuse');
      // At once, without waiting on any timer, and without retrying on its own: at most one new
      // connection tried per call.
      fakeTimeouts();
      const error = await watch(store.append([makeEvent(), makeEvent()])).error;
      expect(error.message).toMatch(
        /^PostgresAuditStore could not append 2 events \(table "audit_test_\w+"\."audit_events"\): .+\. Retrying the batch is safe: appends are idempotent by event id\.$/,
      );
      await expect(store.query(parseAuditQuery())).rejects.toThrow(
        /^PostgresAuditStore could not query events .*Check that PostgreSQL is reachable/,
      );
      jest.useRealTimers();
      expect(proxy.refused).toBeLessThanOrEqual(2);

      proxy.set('forward');
      const after = makeEvent();
      await store.append([after]);
      expect((await store.query(parseAuditQuery())).items.map((e) => e.id)).toEqual([
        after.id,
        before.id,
      ]);
    });

    it.each([false, true])(
      'rejects within the timeouts when the server stops answering mid-session (pool passed in: %s)',
      async (external) => {
        const schema = uniqueSchema();
        await prepareSchema(schema);
        // Every timer of the driver and the store is fake from here: only the test moves them.
        fakeTimeouts();
        const pool = external ? new Pool({ connectionString: url, max: 2 }) : undefined;
        const store = track({
          ...(pool ? { pool } : { connectionString: url, poolSize: 2 }),
          schema,
          statementTimeoutMs: 400,
          connectionTimeoutMs: 400,
        });
        try {
          await store.init();
          await store.append([makeEvent()]);

          proxy.set('blackhole');
          const append = watch(store.append([makeEvent()]));
          await until(() => proxy.swallowed > 0);
          // The server cannot enforce its timeout here: the client gives up a second later, at
          // 1400 ms, and not before.
          await advance(1399);
          expect(append.settled).toBe(false);
          await advance(1);
          expect(append.settled).toBe(true);
          expect((await append.error).message).toMatch(
            /^PostgresAuditStore could not append 1 event .*timeout/i,
          );
          // A read during the outage fails too, on the connection or the statement timeout.
          const read = watch(store.get('x'));
          for (let waited = 0; waited < 1400 && !read.settled; waited += 100) await advance(100);
          expect(read.settled).toBe(true);
          expect((await read.error).message).toMatch(/could not read an event/);

          // Still on the fake clock: with one connection of the pool stuck in the outage, a read
          // may have to wait for the one the background sealer holds, however slow it is.
          proxy.set('forward');
          const event = makeEvent();
          await store.append([event]);
          // Sealed in the background: numbered or not yet, the event is the same.
          expect(withoutSequence(await store.get(event.id))).toStrictEqual(event);
        } finally {
          // A seal the background sealer sent into the outage waits on a timeout of the fake
          // clock, which useRealTimers() drops, and close() waits for that seal; a pool without a
          // connection timeout of its own waits for the connection attempt made during the
          // outage. Cutting the proxy first ends both (a loaded run hung here for 30 s).
          proxy.set('refuse');
          jest.useRealTimers();
          await store.close();
          await pool?.end();
        }
      },
    );
  });

  it.each([false, true])(
    'cancels a statement that waits past statementTimeoutMs (pool passed in: %s)',
    async (external) => {
      const schema = uniqueSchema();
      await prepareSchema(schema);
      const pool = external ? new Pool({ connectionString: CONNECTION, max: 1 }) : undefined;
      const store = track({
        ...(pool ? { pool } : { connectionString: CONNECTION }),
        schema,
        statementTimeoutMs: 300,
      });
      const locker = await admin.connect();
      try {
        await store.init();
        await locker.query(`BEGIN; LOCK TABLE "${schema}".audit_events IN ACCESS EXCLUSIVE MODE`);
        // The client's own timeout (a second later) cannot fire: only the server's
        // statement_timeout can end the wait for the lock.
        fakeTimeouts();
        const started = performance.now();
        const error = await watch(store.append([makeEvent()])).error;
        const ms = performance.now() - started;
        jest.useRealTimers();
        // PostgreSQL keeps that time on its own clock: a generous bound, far below the default
        // statement timeout (10 s), tells the configured 300 ms from it.
        expect(ms).toBeLessThan(5_000);
        expect(error.message).toMatch(
          /^PostgresAuditStore could not append 1 event .*: canceling statement due to statement timeout\./,
        );
        await expect(store.query(parseAuditQuery())).rejects.toThrow(/statement timeout/);
        await locker.query('ROLLBACK');
        await store.append([makeEvent()]);
        expect((await store.query(parseAuditQuery())).items).toHaveLength(1);
      } finally {
        await locker.query('ROLLBACK').catch(() => undefined);
        locker.release();
        await store.close();
        await pool?.end();
      }
    },
  );

  describe('driver loading', () => {
    afterEach(() => {
      jest.dontMock('pg');
    });

    function freshStore(options: PostgresAuditStoreOptions): PostgresAuditStore {
      let store: PostgresAuditStore | undefined;
      jest.isolateModules(() => {
        jest.doMock('pg', () => {
          throw Object.assign(new Error("Cannot find module 'pg' from 'x.js'"), {
            code: 'MODULE_NOT_FOUND',
          });
        });
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module registry is needed to swap the driver
        const fresh = require('../../src/stores/postgres/postgres-audit.store') as {
          PostgresAuditStore: typeof PostgresAuditStore;
        };
        store = new fresh.PostgresAuditStore(options);
      });
      stores.push(store as PostgresAuditStore);
      return store as PostgresAuditStore;
    }

    it('names the install command when pg is missing', async () => {
      await expect(freshStore({ connectionString: CONNECTION }).init()).rejects.toThrow(
        /needs the "pg" package, which is not installed\. Run `npm install pg`/,
      );
    });

    it('does not need pg when given a pool', async () => {
      const pool = new Pool({ connectionString: CONNECTION, max: 1 });
      try {
        const store = freshStore({ pool, schema: uniqueSchema() });
        await store.init();
        await store.append([makeEvent()]);
        await store.close();
      } finally {
        await pool.end();
      }
    });
  });
});
