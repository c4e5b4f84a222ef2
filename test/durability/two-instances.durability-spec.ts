import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import {
  brief,
  dropPgSchema,
  exactlyOnce,
  NONE,
  PG_URL,
  pgChainCheck,
  pgRecordCounts,
  tempDir,
  totalRecords,
  uniquePgSchema,
} from './records';
import { killAllServers, SampleServer } from './sample-server';

const CLIENTS_PER_APP = 16;
const LOAD_MS = 3_000;

describe('two app processes writing to one PostgreSQL table under load', () => {
  const tmp = tempDir('two-apps');
  const schema = uniquePgSchema('two_apps');

  afterAll(async () => {
    await killAllServers();
    await dropPgSchema(schema);
    tmp.cleanup();
  });

  it('keeps every acknowledged record, none duplicated', async () => {
    const env = { AUDIT_STORE: PG_URL, AUDIT_PG_SCHEMA: schema };
    // Started together on a schema that does not exist yet: both migrate it at the same moment.
    const apps = await Promise.all(
      (['express', 'fastify'] as const).map((platform) =>
        SampleServer.start({
          label: `instance on ${platform}`,
          cwd: tmp.dir,
          env: { ...env, PLATFORM: platform },
        }),
      ),
    );
    const started = Date.now();
    const loads = apps.map(
      (app, i) =>
        new OrderLoad({
          port: app.port,
          clients: CLIENTS_PER_APP,
          prefix: `two-apps-${started}-app${i}`,
          maxRequestsPerClient: 50_000,
          maxDurationMs: 20_000,
        }),
    );
    await sleep(LOAD_MS);
    await Promise.all(loads.map((load) => load.stop()));
    await Promise.all(apps.map((app) => app.stop('SIGTERM')));

    const counts = await pgRecordCounts(schema);
    const acknowledged = loads.flatMap((load) => load.acknowledged());
    const sent = new Set(loads.flatMap((load) => [...load.sent]));
    console.log(
      `two instances: ${loads.map((l, i) => `app${i} ${l.acknowledged().length}/${l.records.length}`).join(', ')} acknowledged/sent, ` +
        `${totalRecords(counts)} records in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(brief(exactlyOnce(acknowledged, counts, sent))).toEqual(NONE);
    // Chained once each, with no gap and no fork, whoever sealed them.
    const chain = await pgChainCheck(schema);
    expect({ intact: chain.intact, events: chain.events, break: chain.break }).toEqual({
      intact: true,
      events: totalRecords(counts),
      break: undefined,
    });
    for (const load of loads) {
      expect(load.tally()).toMatchObject({ errors: 0, ok2xx: load.records.length });
      expect(load.echoMismatches).toEqual([]);
    }
    expect(totalRecords(counts)).toBe(acknowledged.length);
  }, 60_000);
});
