import { join } from 'node:path';
import { ALL_ORM_SERVERS } from './orm-apps/orm-servers';
import { sigtermRound } from './orm-rounds';
import { createShopSchema } from './orm-trail';
import { dropPgSchema, PG_URL, tempDir, uniquePgSchema } from './records';
import { killAllServers, SampleServer } from './sample-server';

const CLIENTS = 20;
const ROUNDS = 5;

describe.each(ALL_ORM_SERVERS.map((orm) => [orm.name, orm] as const))(
  `%s: SIGTERM 20 ms after aborting ${CLIENTS} clients (${ROUNDS} rounds)`,
  (name, orm) => {
    const tmp = tempDir(`orm-sigterm-${name}`);
    const schemas: string[] = [];

    afterAll(async () => {
      await killAllServers();
      for (const schema of schemas) await dropPgSchema(schema);
      tmp.cleanup();
    });

    it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))(
      'round %i: every committed order has its event after a clean exit',
      async (round) => {
        // The orders on PostgreSQL (each write a few round trips, so requests are still in
        // flight when the clients go away), the trail in a SQLite file.
        const schema = uniquePgSchema(`orm_sigterm_${name.toLowerCase()}_${round}`);
        schemas.push(schema);
        await createShopSchema(schema, !orm.createsTable);
        const audit = join(tmp.dir, `audit-${round}.db`);
        const server = await SampleServer.start({
          label: `${name} sigterm round ${round}`,
          cwd: tmp.dir,
          main: orm.main,
          env: {
            ...orm.env,
            AUDIT_STORE: audit,
            SHOP_DB: PG_URL,
            AUDIT_PG_SCHEMA: schema,
            PLATFORM: round % 2 ? 'express' : 'fastify',
          },
        });
        const { exit, orders, missing } = await sigtermRound(server, CLIENTS, schema, audit);
        // Nest's shutdown hooks close the app, then raise the signal again.
        expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
        expect(orders.length).toBeGreaterThan(0);
        expect(missing).toEqual([]);
      },
      60_000,
    );
  },
);
