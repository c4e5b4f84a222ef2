import Database from 'better-sqlite3';
import { Client } from 'pg';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import { dropPgSchema, PG_URL, randomBetween, tempDir, uniquePgSchema } from './records';
import { killAllServers, SampleServer } from './sample-server';

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
}

const ORDER_EVENTS = `SELECT resource_id, request_id FROM audit_events
  WHERE action = 'order.create' AND resource_id IS NOT NULL`;

function ordersAndEvents(
  orderIds: readonly string[],
  events: readonly EventRow[],
): OrdersAndEvents {
  const numeric = (a: string, b: string): number => Number(a) - Number(b);
  return {
    orders: [...orderIds].sort(numeric),
    // An order is named by its change event and, once answered, by its request's event too.
    changeEvents: [...new Set(events.map((r) => r.resource_id))].sort(numeric),
    requestIds: new Set(events.map((r) => r.request_id ?? '')),
  };
}

/** Order rows, and the orders the events name, in the PostgreSQL schema. */
async function postgresOrdersAndEvents(schema: string): Promise<OrdersAndEvents> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    const orders = await client.query<{ id: string }>('SELECT id::text AS id FROM shop_order');
    const events = await client.query<EventRow>(ORDER_EVENTS);
    return ordersAndEvents(
      orders.rows.map((r) => r.id),
      events.rows,
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
    return ordersAndEvents(orders, db.prepare(ORDER_EVENTS).all() as EventRow[]);
  } finally {
    db.close();
  }
}

/** Where the shop and its audit trail live: one database, in one of the two engines. */
interface Engine {
  name: string;
  env: Record<string, string>;
  read(): Promise<OrdersAndEvents>;
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
    '%s: leaves no order without its change event and no change event without its order',
    async (_name, engine) => {
      const acknowledged: string[] = [];
      for (let round = 1; round <= ROUNDS; round += 1) {
        const platform = round % 2 === 1 ? 'express' : 'fastify';
        const server = await SampleServer.start({
          label: `orm atomic ${engine.name} round ${round} (${platform})`,
          cwd: tmp.dir,
          env: {
            ...engine.env,
            AUDIT_ORM_ATOMIC: process.env.ORM_KILL9_ATOMIC ?? '1',
            PLATFORM: platform,
          },
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
      }
      const { orders, changeEvents, requestIds } = await engine.read();
      expect(orders.length).toBeGreaterThan(0);
      // Both or neither: the same ids, each once.
      expect(changeEvents).toEqual(orders);
      // Every order a client was told about has its change event, under its request id.
      expect(acknowledged.filter((id) => !requestIds.has(id))).toEqual([]);
    },
    120_000,
  );
});
