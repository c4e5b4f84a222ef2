import type { ChainVerification } from '../../src/integrity/verify';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import {
  dropPgSchema,
  PG_URL,
  randomBetween,
  sqliteChainCheck,
  tempDir,
  uniquePgSchema,
} from './records';
import { killAllServers, SampleServer, waitUntil } from './sample-server';

const CLIENTS = 16;
const ROUNDS = 5;

interface EventRow {
  resource_id: string;
  request_id: string | null;
}

interface OrdersAndEvents {
  orders: string[];
  changeEvents: string[];
  requestIds: Set<string>;
  /** Ids of the change events (written in the orders' own transactions). */
  changeEventIds: string[];
  /** Events still in the store's relay backlog (their ECS lines not confirmed). */
  unstreamed: number;
}

const ORDER_EVENTS = `SELECT resource_id, request_id FROM audit_events
  WHERE action = 'order.create' AND resource_id IS NOT NULL`;

/** A change event has no response: the request's own event records that. */
const CHANGE_EVENT_IDS = {
  postgres: `SELECT id FROM audit_events WHERE action = 'order.create' AND payload->'response' IS NULL`,
  sqlite: `SELECT e.id FROM audit_events e JOIN audit_payloads p ON p.event = e.rowid
    WHERE e.action = 'order.create' AND json_extract(p.payload, '$.response') IS NULL`,
};

function ordersAndEvents(
  orderIds: readonly string[],
  events: readonly EventRow[],
  lines: Pick<OrdersAndEvents, 'changeEventIds' | 'unstreamed'>,
): OrdersAndEvents {
  const numeric = (a: string, b: string): number => Number(a) - Number(b);
  return {
    orders: [...orderIds].sort(numeric),
    // An order is named by its change event and, once answered, by its request's event too.
    changeEvents: [...new Set(events.map((r) => r.resource_id))].sort(numeric),
    requestIds: new Set(events.map((r) => r.request_id ?? '')),
    ...lines,
  };
}

/** The `event.id` of every whole ECS line in a file (a line torn by kill -9 names nothing). */
function streamedIds(file: string): Set<string> {
  const ids = new Set<string>();
  if (!existsSync(file)) return ids;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const id = (JSON.parse(line) as { event?: { id?: unknown } }).event?.id;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // torn or empty
    }
  }
  return ids;
}

/** Order rows, and the orders the events name, in the PostgreSQL schema. */
async function postgresOrdersAndEvents(schema: string): Promise<OrdersAndEvents> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    const orders = await client.query<{ id: string }>('SELECT id::text AS id FROM shop_order');
    const events = await client.query<EventRow>(ORDER_EVENTS);
    const changeEventIds = await client.query<{ id: string }>(CHANGE_EVENT_IDS.postgres);
    const backlog = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_events_relay',
    );
    return ordersAndEvents(
      orders.rows.map((r) => r.id),
      events.rows,
      {
        changeEventIds: changeEventIds.rows.map((r) => r.id),
        unstreamed: backlog.rows[0]?.n ?? -1,
      },
    );
  } finally {
    await client.end();
  }
}

/** Order rows, and the orders the events name, in the shop's SQLite file. */
function sqliteOrdersAndEvents(file: string): OrdersAndEvents {
  const db = new Database(file, { readonly: true });
  try {
    const orders = db.prepare('SELECT CAST(id AS TEXT) FROM shop_order').pluck().all() as string[];
    return ordersAndEvents(orders, db.prepare(ORDER_EVENTS).all() as EventRow[], {
      changeEventIds: db.prepare(CHANGE_EVENT_IDS.sqlite).pluck().all() as string[],
      unstreamed: db.prepare('SELECT count(*) FROM audit_stream_relay').pluck().get() as number,
    });
  } finally {
    db.close();
  }
}

/** Where the shop and its audit trail live: one database, in one of the two engines. */
interface Engine {
  name: string;
  env: Record<string, string>;
  read(): Promise<OrdersAndEvents>;
  /** Verifies the audit trail's hash chain (server stopped), where the test checks it. */
  verify?: () => Promise<ChainVerification>;
}

describe(`TypeORM atomic mode: kill -9 mid-burst (${ROUNDS} rounds, ${CLIENTS} clients)`, () => {
  const tmp = tempDir('orm-kill9');
  const schema = uniquePgSchema('orm_kill9');
  const shopFile = join(tmp.dir, 'shop.db');
  const engines: Engine[] = [
    {
      name: 'PostgreSQL',
      env: { AUDIT_STORE: PG_URL, AUDIT_PG_SCHEMA: schema, SHOP_DB: PG_URL },
      read: () => postgresOrdersAndEvents(schema),
    },
    {
      // The audit store shares the shop's own better-sqlite3 connection.
      name: 'SQLite',
      env: { AUDIT_STORE: 'shop-db', SHOP_DB: shopFile },
      read: () => Promise.resolve(sqliteOrdersAndEvents(shopFile)),
      verify: () => sqliteChainCheck(shopFile),
    },
  ];

  beforeAll(async () => {
    const client = new Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.end();
  });

  afterAll(async () => {
    await killAllServers();
    await dropPgSchema(schema);
    tmp.cleanup();
  });

  it.each(engines.map((engine) => [engine.name, engine] as const))(
    '%s: leaves no order without its change event and no change event without its order or its ECS line',
    async (_name, engine) => {
      const acknowledged: string[] = [];
      let leftByKills = 0;
      const stream = join(tmp.dir, `ecs-${engine.name}.ndjson`);
      const env = {
        ...engine.env,
        AUDIT_ORM_ATOMIC: process.env.ORM_KILL9_ATOMIC ?? '1',
        AUDIT_STREAM: stream,
        AUDIT_RELAY_AFTER_MS: '300',
      };
      for (let round = 1; round <= ROUNDS; round += 1) {
        const platform = round % 2 === 1 ? 'express' : 'fastify';
        const server = await SampleServer.start({
          label: `orm atomic ${engine.name} round ${round} (${platform})`,
          cwd: tmp.dir,
          env: { ...env, PLATFORM: platform },
        });
        const load = new OrderLoad({
          port: server.port,
          clients: CLIENTS,
          prefix: `orm-k9-${engine.name}-${process.pid}-r${round}`,
          maxRequestsPerClient: 20_000,
          maxDurationMs: 10_000,
        });
        // Mid-burst: a random time after the first answer, so that every round writes orders.
        await load.until2xx(1, 60_000);
        await sleep(randomBetween(0, 1000));
        const exit = await server.stop('SIGKILL', 5_000);
        await load.stop();
        expect({ round, signal: exit.signal }).toEqual({ round, signal: 'SIGKILL' });
        acknowledged.push(...load.acknowledged());
        leftByKills += (await engine.read()).unstreamed;
      }
      // A restarted instance writes the lines the kills cut off, from the stored events.
      const restarted = await SampleServer.start({
        label: `orm atomic ${engine.name} relay`,
        cwd: tmp.dir,
        env: { ...env, PLATFORM: 'express' },
      });
      await waitUntil(
        'an empty relay backlog',
        async () => (await engine.read()).unstreamed === 0,
        30_000,
      );
      // Nest closes the app, then ends the process with the same signal.
      expect(await restarted.stop('SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
      const { orders, changeEvents, requestIds, changeEventIds } = await engine.read();
      expect(orders.length).toBeGreaterThan(0);
      // Both or neither: the same ids, each once.
      expect(changeEvents).toEqual(orders);
      // Every order a client was told about has its change event, under its request id.
      expect(acknowledged.filter((id) => !requestIds.has(id))).toEqual([]);
      // Every committed change has its ECS line.
      const lines = streamedIds(stream);
      expect({
        changes: changeEventIds.length,
        withoutLine: changeEventIds.filter((id) => !lines.has(id)),
      }).toEqual({ changes: orders.length, withoutLine: [] });
      // The kills left lines to relay (otherwise the relay was not tested).
      expect(leftByKills).toBeGreaterThan(0);
      if (engine.verify) {
        // Events written by the shop's own transactions are chained once each, with no gap.
        const chain = await engine.verify();
        expect({ intact: chain.intact, break: chain.break }).toEqual({
          intact: true,
          break: undefined,
        });
        expect(chain.events).toBeGreaterThanOrEqual(changeEventIds.length);
      }
    },
    180_000,
  );
});
