import { join } from 'node:path';
import { createShopSchema } from './orm-trail';
import { sigtermRound } from './orm-rounds';
import { dropPgSchema, PG_URL, tempDir, uniquePgSchema } from './records';
import { killAllServers, SampleServer } from './sample-server';

const CLIENTS = 20;
const ROUNDS = 5;

describe(`TypeORM: SIGTERM 20 ms after aborting ${CLIENTS} clients (${ROUNDS} rounds)`, () => {
  const tmp = tempDir('orm-sigterm');
  const schemas: string[] = [];

  afterAll(async () => {
    await killAllServers();
    for (const schema of schemas) await dropPgSchema(schema);
    tmp.cleanup();
  });

  it.each(Array.from({ length: ROUNDS }, (_, i) => i + 1))(
    'round %i: every committed order has its event after a clean exit',
    async (round) => {
      // The shop's orders on PostgreSQL (each save a few round trips, so requests are still
      // in flight when the clients go away), the trail in a SQLite file.
      const schema = uniquePgSchema(`orm_sigterm_${round}`);
      schemas.push(schema);
      // TypeORM synchronises the table itself.
      await createShopSchema(schema, false);
      const audit = join(tmp.dir, `audit-${round}.db`);
      const server = await SampleServer.start({
        label: `orm sigterm round ${round}`,
        cwd: tmp.dir,
        env: {
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
});
