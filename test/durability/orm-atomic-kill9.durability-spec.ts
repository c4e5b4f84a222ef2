import type { ChainVerification } from '../../src/integrity/verify';
import { join } from 'node:path';
import {
  createShopSchema,
  postgresOrdersAndEvents,
  sqliteOrdersAndEvents,
  type OrdersAndEvents,
} from './orm-trail';
import { atomicKillRounds, expectOrdersMatchChanges, relayAfterKills } from './orm-rounds';
import { dropPgSchema, PG_URL, sqliteChainCheck, tempDir, uniquePgSchema } from './records';
import { killAllServers } from './sample-server';

const CLIENTS = 16;
const ROUNDS = 5;

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

  beforeAll(() => createShopSchema(schema, false));

  afterAll(async () => {
    await killAllServers();
    await dropPgSchema(schema);
    tmp.cleanup();
  });

  it.each(engines.map((engine) => [engine.name, engine] as const))(
    '%s: leaves no order without its change event and no change event without its order or its ECS line',
    async (_name, engine) => {
      const stream = join(tmp.dir, `ecs-${engine.name}.ndjson`);
      const options = {
        name: engine.name,
        rounds: ROUNDS,
        clients: CLIENTS,
        server: {
          cwd: tmp.dir,
          env: {
            ...engine.env,
            AUDIT_ORM_ATOMIC: process.env.ORM_KILL9_ATOMIC ?? '1',
            AUDIT_STREAM: stream,
            AUDIT_RELAY_AFTER_MS: '300',
          },
        },
        read: engine.read,
      };
      const run = await atomicKillRounds(options);
      const final = await relayAfterKills(options);
      expectOrdersMatchChanges(final, run, stream);
      if (engine.verify) {
        // Events written by the shop's own transactions are chained once each, with no gap.
        const chain = await engine.verify();
        expect({ intact: chain.intact, break: chain.break }).toEqual({
          intact: true,
          break: undefined,
        });
        expect(chain.events).toBeGreaterThanOrEqual(final.changeEventIds.length);
      }
    },
    180_000,
  );
});
