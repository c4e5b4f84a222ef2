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
/** Acknowledged requests each instance must have served before the load stops. */
const ANSWERS_PER_APP = 300;

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
    // No time budget: the load runs until both instances have answered enough (a count, however
    // slow the machine), and no request counts as failed for being slow.
    const loads = apps.map(
      (app, i) =>
        new OrderLoad({
          port: app.port,
          clients: CLIENTS_PER_APP,
          prefix: `two-apps-${started}-app${i}`,
          maxRequestsPerClient: 50_000,
          maxDurationMs: Number.POSITIVE_INFINITY,
          requestTimeoutMs: 0,
        }),
    );
    await Promise.all(
      loads.map((load) => load.until2xx(ANSWERS_PER_APP, Number.POSITIVE_INFINITY)),
    );
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
    for (const load of loads) expect(load.tally().ok2xx).toBeGreaterThanOrEqual(ANSWERS_PER_APP);
  }, 180_000);
});
