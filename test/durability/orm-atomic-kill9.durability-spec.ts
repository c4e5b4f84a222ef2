import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import { dropPgSchema, PG_URL, randomBetween, tempDir, uniquePgSchema } from './records';
import { killAllServers, SampleServer } from './sample-server';

const CLIENTS = 16;
const ROUNDS = 5;

/** Order rows, and the orders the events name. */
async function ordersAndChangeEvents(
  schema: string,
): Promise<{ orders: string[]; changeEvents: string[]; requestIds: Set<string> }> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const orders = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM "${schema}".shop_order`,
    );
    const events = await client.query<{ resource_id: string; request_id: string | null }>(
      `SELECT resource_id, request_id FROM "${schema}".audit_events
        WHERE action = 'order.create' AND resource_id IS NOT NULL`,
    );
    const numeric = (a: string, b: string): number => Number(a) - Number(b);
    return {
      orders: orders.rows.map((r) => r.id).sort(numeric),
      // An order is named by its change event and, once answered, by its request's event too.
      changeEvents: [...new Set(events.rows.map((r) => r.resource_id))].sort(numeric),
      requestIds: new Set(events.rows.map((r) => r.request_id ?? '')),
    };
  } finally {
    await client.end();
  }
}

describe(`TypeORM atomic mode: kill -9 mid-burst (${ROUNDS} rounds, ${CLIENTS} clients)`, () => {
  const tmp = tempDir('orm-kill9');
  const schema = uniquePgSchema('orm_kill9');

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

  it('leaves no order without its change event and no change event without its order', async () => {
    const acknowledged: string[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const platform = round % 2 === 1 ? 'express' : 'fastify';
      const server = await SampleServer.start({
        label: `orm atomic round ${round} (${platform})`,
        cwd: tmp.dir,
        env: {
          AUDIT_STORE: PG_URL,
          AUDIT_PG_SCHEMA: schema,
          SHOP_DB: PG_URL,
          AUDIT_ORM_ATOMIC: process.env.ORM_KILL9_ATOMIC ?? '1',
          PLATFORM: platform,
        },
      });
      const load = new OrderLoad({
        port: server.port,
        clients: CLIENTS,
        prefix: `orm-k9-${process.pid}-r${round}`,
        maxRequestsPerClient: 20_000,
        maxDurationMs: 10_000,
      });
      await sleep(randomBetween(300, 1200));
      const exit = await server.stop('SIGKILL', 5_000);
      await load.stop();
      expect({ round, signal: exit.signal }).toEqual({ round, signal: 'SIGKILL' });
      acknowledged.push(...load.acknowledged());
    }
    const { orders, changeEvents, requestIds } = await ordersAndChangeEvents(schema);
    expect(orders.length).toBeGreaterThan(0);
    // Both or neither: the same ids, each once.
    expect(changeEvents).toEqual(orders);
    // Every order a client was told about has its change event, under its request id.
    expect(acknowledged.filter((id) => !requestIds.has(id))).toEqual([]);
  }, 120_000);
});
