import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OrderLoad } from './load';
import {
  brief,
  exactlyOnce,
  NONE,
  pgRecordCounts,
  pgUrlVia,
  randomBetween,
  sqliteRecordCounts,
  totalRecords,
  uniquePgSchema,
  type RecordCounts,
} from './records';
import { SampleServer } from './sample-server';
import { relaySuite } from './relay-suite';

const CLIENTS = 32;
const DRAIN_MS = 1_000;

interface Case {
  durability: 'ack' | 'async';
  engine: 'sqlite' | 'postgres';
  platform: 'express' | 'fastify';
}

// Each durability on each engine; the platforms alternate because they close differently
// (Express waits for open connections, Fastify answers 503 to requests arriving while closing).
const CASES: Case[] = [
  { durability: 'ack', engine: 'sqlite', platform: 'express' },
  { durability: 'async', engine: 'sqlite', platform: 'fastify' },
  { durability: 'ack', engine: 'postgres', platform: 'fastify' },
  { durability: 'async', engine: 'postgres', platform: 'express' },
];

describe('SIGTERM under load with shutdown hooks', () => {
  const suite = relaySuite('sigterm');
  const { tmp, schemas } = suite;

  it.each(CASES)(
    "'$durability' on $engine ($platform): every 2xx has its record after a clean exit, nothing queued is lost",
    async ({ durability, engine, platform }) => {
      const name = `${durability}/${engine}/${platform}`;
      let env: Record<string, string>;
      let counts: () => Promise<RecordCounts>;
      if (engine === 'sqlite') {
        const path = join(tmp.dir, `${durability}-${platform}.db`);
        env = { AUDIT_STORE: path };
        counts = () => Promise.resolve(sqliteRecordCounts(path));
      } else {
        const schema = uniquePgSchema(`term_${durability}`);
        schemas.push(schema);
        env = { AUDIT_STORE: pgUrlVia(suite.proxy.port), AUDIT_PG_SCHEMA: schema };
        counts = () => pgRecordCounts(schema);
      }
      const server = await SampleServer.start({
        label: `SIGTERM ${name}`,
        cwd: tmp.dir,
        env: { ...env, AUDIT_DURABILITY: durability, PLATFORM: platform },
      });
      const load = new OrderLoad({
        port: server.port,
        clients: CLIENTS,
        prefix: `term-${durability}-${engine}-${Date.now()}`,
        maxRequestsPerClient: 20_000,
        maxDurationMs: 30_000,
        phase: 'before',
      });
      await load.until2xx(300, 10_000);
      // A slow store keeps a backlog in the async queue, so the shutdown has something to flush.
      if (durability === 'async' && engine === 'postgres') suite.proxy.delayMs = 30;
      await sleep(randomBetween(200, 600));
      const queued = (await server.health()).pending;
      load.phase = 'closing';
      const signalledAt = Date.now();
      const exitedAt = server.exited.then(() => Date.now());
      server.signal('SIGTERM');
      // Clients keep sending for a while, like a load balancer that has not noticed yet. They
      // must then stop: a Node HTTP server keeps serving a busy keep-alive connection after
      // close(), so an endless stream of requests would keep any app from shutting down.
      await sleep(DRAIN_MS);
      await load.stop();
      const exit = await server.waitForExit(15_000, `SIGTERM and ${DRAIN_MS} ms of draining`);
      const exitMs = (await exitedAt) - signalledAt;
      suite.proxy.delayMs = 0;

      const stored = await counts();
      const before = load.tally('before');
      const closing = load.tally('closing');
      console.log(
        `SIGTERM [${name}]: ${load.records.length} requests, ${load.acknowledged().length} acknowledged, ` +
          `${totalRecords(stored)} records, ${queued} queued when SIGTERM was sent; ` +
          `sent before SIGTERM: ${JSON.stringify(before.byStatus)} +${before.errors} errors; ` +
          `sent while closing: ${JSON.stringify(closing.byStatus)} ${JSON.stringify(closing.byError)}; ` +
          `exit ${JSON.stringify(exit)} ${exitMs} ms after SIGTERM`,
      );

      // In-flight requests finish: everything sent before the signal got its answer.
      expect(before.errors).toBe(0);
      expect(brief(exactlyOnce(load.acknowledged(), stored, load.sent))).toEqual(NONE);
      expect(load.echoMismatches).toEqual([]);
      // Nest's shutdown hooks re-raise the signal once the app has closed (or exit 0 with useProcessExit).
      expect(exit.code === 0 || exit.signal === 'SIGTERM').toBe(true);
      expect(server.output()).not.toMatch(
        /lost at shutdown|Error during shutdown|audit\.pipeline_failure/,
      );
    },
    90_000,
  );
});
