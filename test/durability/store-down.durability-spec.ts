import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import {
  brief,
  exactlyOnce,
  NONE,
  pgChainCheck,
  pgRecordCounts,
  pgUrlVia,
  totalRecords,
  uniquePgSchema,
  type RecordCounts,
} from './records';
import { SampleServer, waitUntil } from './sample-server';
import { relaySuite } from './relay-suite';

const CLIENTS = 32;
const OUTAGE_MS = 1_500;

/*
 * PostgreSQL "goes down" by cutting the app off at a TCP relay: the shared server keeps running
 * for everybody else, and the app sees exactly what an outage looks like from its side (open
 * connections reset mid-query, new ones refused).
 */
describe('PostgreSQL down under load (through a TCP relay)', () => {
  const suite = relaySuite('store-down', { resetEach: true });
  const { tmp, schemas } = suite;

  function storeEnv(purpose: string): { schema: string; env: Record<string, string> } {
    const schema = uniquePgSchema(purpose);
    schemas.push(schema);
    return { schema, env: { AUDIT_STORE: pgUrlVia(suite.proxy.port), AUDIT_PG_SCHEMA: schema } };
  }

  function summary(name: string, load: OrderLoad, counts: RecordCounts): void {
    const phases = ['before', 'outage', 'after'].map((p) => {
      const t = load.tally(p);
      return `${p} ${JSON.stringify(t.byStatus)}${t.errors ? ` +${t.errors} errors` : ''}`;
    });
    // Refused or cut-off requests whose record exists anyway: the commit reached the database but
    // its answer did not reach the app. Allowed (never a 2xx without a record), shown for insight.
    const unconfirmed = load.records.filter(
      (r) => !(r.status && r.status < 300) && counts.has(r.requestId),
    ).length;
    console.log(
      `store down [${name}]: ${load.records.length} requests (${phases.join(', ')}), ${load.acknowledged().length} acknowledged, ` +
        `${totalRecords(counts)} records (${unconfirmed} of requests not answered 2xx)`,
    );
  }

  it("'fail': no audited request gets a 2xx without its record; requests during the outage get 503", async () => {
    const { schema, env } = storeEnv('fail');
    const server = await SampleServer.start({
      label: 'fail policy',
      cwd: tmp.dir,
      env: { ...env, AUDIT_ON_STORE_FAILURE: 'fail' },
    });
    const load = new OrderLoad({
      port: server.port,
      clients: CLIENTS,
      prefix: `down-fail-${Date.now()}`,
      maxRequestsPerClient: 20_000,
      maxDurationMs: 30_000,
      phase: 'before',
    });
    await load.until2xx(200, 10_000, 'before');
    load.phase = 'outage';
    suite.proxy.down();
    await sleep(OUTAGE_MS);
    load.phase = 'after';
    suite.proxy.up();
    // The pool must reconnect on its own once the database answers again.
    await load.until2xx(200, 15_000, 'after');
    await load.stop();
    const health = await server.health();
    const exit = await server.stop('SIGTERM');

    const counts = await pgRecordCounts(schema);
    summary('fail', load, counts);
    expect(brief(exactlyOnce(load.acknowledged(), counts, load.sent))).toEqual(NONE);
    // Chained once each, with no gap and no fork, whoever sealed them.
    const chain = await pgChainCheck(schema);
    expect({ intact: chain.intact, events: chain.events, break: chain.break }).toEqual({
      intact: true,
      events: totalRecords(counts),
      break: undefined,
    });
    expect(load.echoMismatches).toEqual([]);
    const outage = load.tally('outage');
    expect(outage.byStatus[503] ?? 0).toBeGreaterThan(0);
    // The server stayed up: every request got an answer, and every refusal is the audit's 503.
    expect(load.tally().errors).toBe(0);
    const statuses = Object.keys(load.tally().byStatus).map(Number);
    expect(statuses.filter((s) => s < 200 || (s >= 300 && s !== 503))).toEqual([]);
    expect(JSON.parse(load.sampleBodies.get(503) ?? '{}')).toMatchObject({
      statusCode: 503,
      code: 'AUDIT_UNAVAILABLE',
    });
    expect(health.failed).toBeGreaterThan(0);
    expect(exit).toMatchObject({ signal: 'SIGTERM' });
  }, 90_000);

  it("'spool': every 2xx request's record is in PostgreSQL exactly once after it comes back", async () => {
    const { schema, env } = storeEnv('spool');
    const server = await SampleServer.start({
      label: 'spool policy',
      cwd: tmp.dir,
      env: {
        ...env,
        AUDIT_ON_STORE_FAILURE: 'spool',
        AUDIT_SPOOL_PATH: join(tmp.dir, 'spool-live', 'audit.spool'),
        AUDIT_RETRY_MS: '100',
      },
    });
    const load = new OrderLoad({
      port: server.port,
      clients: CLIENTS,
      prefix: `down-spool-${Date.now()}`,
      maxRequestsPerClient: 20_000,
      maxDurationMs: 30_000,
      phase: 'before',
    });
    await load.until2xx(200, 10_000, 'before');
    load.phase = 'outage';
    suite.proxy.down();
    await sleep(OUTAGE_MS);
    load.phase = 'after';
    suite.proxy.up();
    await load.until2xx(200, 15_000, 'after');
    await load.stop();
    await waitUntil(
      'the spool to be replayed and emptied',
      async () => {
        const h = await server.health();
        return h.status === 'up' && h.pending === 0 && (h.spool?.events ?? 0) === 0;
      },
      20_000,
    );
    const health = await server.health();
    await server.stop('SIGTERM');

    const counts = await pgRecordCounts(schema);
    summary('spool', load, counts);
    expect(brief(exactlyOnce(load.acknowledged(), counts, load.sent))).toEqual(NONE);
    // Chained once each, with no gap and no fork, whoever sealed them.
    const chain = await pgChainCheck(schema);
    expect({ intact: chain.intact, events: chain.events, break: chain.break }).toEqual({
      intact: true,
      events: totalRecords(counts),
      break: undefined,
    });
    expect(load.echoMismatches).toEqual([]);
    // The spool lets requests proceed: nothing is refused while it has room.
    expect(load.tally()).toMatchObject({ errors: 0, ok2xx: load.records.length });
    // The outage really went through the spool and back.
    expect(health.spooled).toBeGreaterThan(0);
    expect(health.replayed).toBeGreaterThan(0);
  }, 90_000);

  /**
   * Runs the spool policy under load, takes PostgreSQL away, SIGKILLs the app in the middle of
   * the outage and brings PostgreSQL back: what the app acknowledged is then only in its spool.
   */
  async function killDuringOutage(purpose: string) {
    const { schema, env } = storeEnv(purpose);
    const spoolEnv = {
      ...env,
      AUDIT_ON_STORE_FAILURE: 'spool',
      AUDIT_SPOOL_PATH: join(tmp.dir, purpose, 'audit.spool'),
      AUDIT_RETRY_MS: '100',
    };
    const first = await SampleServer.start({
      label: `${purpose}: before the kill`,
      cwd: tmp.dir,
      env: spoolEnv,
    });
    const load = new OrderLoad({
      port: first.port,
      clients: CLIENTS,
      prefix: `down-${purpose}-${Date.now()}`,
      maxRequestsPerClient: 20_000,
      maxDurationMs: 30_000,
      phase: 'before',
    });
    await load.until2xx(200, 10_000, 'before');
    load.phase = 'outage';
    suite.proxy.down();
    await sleep(OUTAGE_MS);
    const spooledBeforeKill = (await first.health()).spooled;
    await first.stop('SIGKILL');
    await load.stop();
    suite.proxy.up();
    expect(spooledBeforeKill).toBeGreaterThan(0);
    expect(load.tally('outage').ok2xx).toBeGreaterThan(0);
    return { schema, spoolEnv, load, spooledBeforeKill };
  }

  async function replayed(server: SampleServer): Promise<number> {
    await waitUntil(
      `${server.label} to replay the spool`,
      async () => {
        const h = await server.health();
        return h.status === 'up' && (h.spool?.events ?? 0) === 0 && h.replayed > 0;
      },
      20_000,
    );
    return (await server.health()).replayed;
  }

  it("'spool': the app is SIGKILLed while PostgreSQL is down; restarted after it is back, it replays the spool exactly once", async () => {
    const { schema, spoolEnv, load, spooledBeforeKill } = await killDuringOutage('spool_kill');
    const second = await SampleServer.start({
      label: 'restarted server',
      cwd: tmp.dir,
      env: spoolEnv,
    });
    const replayedBySecond = await replayed(second);
    await second.stop('SIGTERM');

    const counts = await pgRecordCounts(schema);
    summary('spool + SIGKILL while down', load, counts);
    console.log(
      `store down [spool + SIGKILL while down]: ${spooledBeforeKill} spooled before the kill, ${replayedBySecond} replayed by the restarted server`,
    );
    expect(brief(exactlyOnce(load.acknowledged(), counts, load.sent))).toEqual(NONE);
    // Chained once each, with no gap and no fork, whoever sealed them.
    const chain = await pgChainCheck(schema);
    expect({ intact: chain.intact, events: chain.events, break: chain.break }).toEqual({
      intact: true,
      events: totalRecords(counts),
      break: undefined,
    });
    expect(load.echoMismatches).toEqual([]);
  }, 90_000);

  it("'spool': a SIGKILL in the middle of the replay duplicates nothing and loses nothing", async () => {
    const { schema, spoolEnv, load } = await killDuringOutage('spool_replay_kill');
    // A slow store stretches the replay over seconds, so the kill lands between two batches or
    // inside one (committed but not yet acknowledged in the spool).
    suite.proxy.delayMs = 100;
    const second = await SampleServer.start({
      label: 'replaying server',
      cwd: tmp.dir,
      env: spoolEnv,
    });
    await waitUntil(
      'the replay to be under way',
      async () => {
        const h = await second.health();
        return h.replayed > 0 && (h.spool?.events ?? 0) > 0;
      },
      20_000,
      20,
    );
    const partly = await second.health();
    await second.stop('SIGKILL');
    suite.proxy.delayMs = 0;
    const third = await SampleServer.start({
      label: 'server restarted after the replay kill',
      cwd: tmp.dir,
      env: spoolEnv,
    });
    const replayedByThird = await replayed(third);
    await third.stop('SIGTERM');

    const counts = await pgRecordCounts(schema);
    summary('spool + SIGKILL during replay', load, counts);
    console.log(
      `store down [spool + SIGKILL during replay]: killed after ${partly.replayed} replayed with ${partly.spool?.events ?? 0} still spooled; ` +
        `${replayedByThird} replayed after the restart`,
    );
    expect(brief(exactlyOnce(load.acknowledged(), counts, load.sent))).toEqual(NONE);
    // Chained once each, with no gap and no fork, whoever sealed them.
    const chain = await pgChainCheck(schema);
    expect({ intact: chain.intact, events: chain.events, break: chain.break }).toEqual({
      intact: true,
      events: totalRecords(counts),
      break: undefined,
    });
    expect(load.echoMismatches).toEqual([]);
  }, 90_000);
});
