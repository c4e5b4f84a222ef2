import { join } from 'node:path';
import { ORM_SERVERS } from './orm-apps/orm-servers';
import { atomicKillRounds, expectOrdersMatchChanges, relayAfterKills } from './orm-rounds';
import { createShopSchema, postgresOrdersAndEvents } from './orm-trail';
import { dropPgSchema, PG_URL, tempDir, uniquePgSchema } from './records';
import { killAllServers } from './sample-server';

const CLIENTS = 16;
const ROUNDS = 5;

describe(`Prisma and MikroORM atomic mode: kill -9 mid-burst (${ROUNDS} rounds, ${CLIENTS} clients)`, () => {
  const tmp = tempDir('orm-kill9-apps');
  const schemas: string[] = [];

  afterAll(async () => {
    await killAllServers();
    for (const schema of schemas) await dropPgSchema(schema);
    tmp.cleanup();
  });

  it.each(ORM_SERVERS.map((orm) => [orm.name, orm] as const))(
    '%s: leaves no order without its change event and no change event without its order or its ECS line',
    async (name, orm) => {
      // The orders and the PostgresAuditStore in one schema of the same database.
      const schema = uniquePgSchema(`orm_kill9_${name.toLowerCase()}`);
      schemas.push(schema);
      await createShopSchema(schema, true);
      const stream = join(tmp.dir, `ecs-${name}.ndjson`);
      const options = {
        name,
        rounds: ROUNDS,
        clients: CLIENTS,
        server: {
          cwd: tmp.dir,
          main: orm.main,
          env: {
            ...orm.env,
            AUDIT_STORE: PG_URL,
            AUDIT_PG_SCHEMA: schema,
            SHOP_DB: PG_URL,
            AUDIT_ORM_ATOMIC: process.env.ORM_KILL9_ATOMIC ?? '1',
            AUDIT_STREAM: stream,
            AUDIT_RELAY_AFTER_MS: '300',
          },
        },
        read: () => postgresOrdersAndEvents(schema),
      };
      const run = await atomicKillRounds(options);
      expectOrdersMatchChanges(await relayAfterKills(options), run, stream);
    },
    180_000,
  );
});
