import type { ChainVerification } from '../../src/integrity/verify';
import { join } from 'node:path';
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
  randomBetween,
  sqliteChainCheck,
  sqliteRecordCounts,
  tempDir,
  totalRecords,
  uniquePgSchema,
  type RecordCounts,
} from './records';
import { killAllServers, SampleServer } from './sample-server';

const CLIENTS = 32;
const DEFAULT_ROUNDS = 20;

function rounds(): number {
  const raw = process.env.KILL_ROUNDS;
  if (raw === undefined || raw === '') return DEFAULT_ROUNDS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new Error(
      `KILL_ROUNDS must be a whole number from 1 to 10000 (got ${JSON.stringify(raw)}).`,
    );
  }
  return n;
}

const ROUNDS = rounds();

interface StoreUnderTest {
  name: 'sqlite' | 'postgres';
  env: Record<string, string>;
  /** Reads the committed records directly from the database (server stopped). */
  counts(): Promise<RecordCounts>;
  /** Verifies the store's hash chain (server stopped), where the test checks it. */
  verify?: () => Promise<ChainVerification>;
  cleanup(): Promise<void>;
}

function sqliteStore(dir: string): StoreUnderTest {
  const path = join(dir, 'audit.db');
  return {
    name: 'sqlite',
    env: { AUDIT_STORE: path },
    counts: () => Promise.resolve(sqliteRecordCounts(path)),
    verify: () => sqliteChainCheck(path),
    cleanup: () => Promise.resolve(),
  };
}

function postgresStore(): StoreUnderTest {
  const schema = uniquePgSchema('kill9');
  return {
    name: 'postgres',
    env: { AUDIT_STORE: PG_URL, AUDIT_PG_SCHEMA: schema },
    counts: () => pgRecordCounts(schema),
    verify: () => pgChainCheck(schema),
    cleanup: () => dropPgSchema(schema),
  };
}

describe(`kill -9 under load (${ROUNDS} rounds per store, ${CLIENTS} clients)`, () => {
  const tmp = tempDir('kill9');
  const cleanups: (() => Promise<void>)[] = [];

  afterAll(async () => {
    await killAllServers();
    for (const cleanup of cleanups) await cleanup();
    tmp.cleanup();
  });

  it.each([['sqlite'], ['postgres']] as const)(
    '%s: every request answered 2xx has exactly one committed record after repeated SIGKILLs',
    async (engine) => {
      const started = Date.now();
      const dir = join(tmp.dir, engine);
      const store = engine === 'sqlite' ? sqliteStore(dir) : postgresStore();
      cleanups.push(() => store.cleanup());
      const acknowledged: string[] = [];
      const sent = new Set<string>();
      const echoMismatches: string[] = [];
      const killDelays: number[] = [];
      let requests = 0;

      for (let round = 1; round <= ROUNDS; round += 1) {
        // Alternate the HTTP platform: both must hold back the response until the commit.
        const platform = round % 2 === 1 ? 'express' : 'fastify';
        const server = await SampleServer.start({
          label: `${engine} round ${round} (${platform})`,
          cwd: tmp.dir,
          env: { ...store.env, PLATFORM: platform },
        });
        // The load runs until the kill, however long the first answer takes on a loaded machine:
        // no time budget of its own that could run out before it.
        const load = new OrderLoad({
          port: server.port,
          clients: CLIENTS,
          prefix: `k9-${engine}-${started}-r${round}`,
          maxRequestsPerClient: 20_000,
          maxDurationMs: Number.POSITIVE_INFINITY,
        });
        // A round killed before its first 2xx would prove nothing: the kill comes a random time
        // after the first answer (by order, not by a guess of how fast a loaded machine starts).
        await load.until2xx(1, Number.POSITIVE_INFINITY);
        // Where the kill lands is drawn at random, on purpose; the checks below hold wherever.
        const delay = randomBetween(0, 1300);
        killDelays.push(delay);
        await sleep(delay);
        const exit = await server.stop('SIGKILL');
        await load.stop();

        expect({ round, signal: exit.signal }).toEqual({ round, signal: 'SIGKILL' });
        acknowledged.push(...load.acknowledged());
        for (const id of load.sent) sent.add(id);
        echoMismatches.push(...load.echoMismatches);
        requests += load.records.length;
      }

      const counts = await store.counts();
      const records = totalRecords(counts);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        `kill -9 [${engine}]: ${ROUNDS} rounds, ${requests} requests sent, ${acknowledged.length} acknowledged (2xx), ` +
          `${records} records (${records - acknowledged.length} committed but cut off before their answer), ` +
          `kill ${Math.min(...killDelays)}-${Math.max(...killDelays)} ms after the first 2xx, ${seconds} s`,
      );

      expect(brief(exactlyOnce(acknowledged, counts, sent))).toEqual(NONE);
      expect(echoMismatches).toEqual([]);
      // Every record committed before a kill is chained once, with no gap and no fork.
      if (store.verify) {
        const chain = await store.verify();
        expect({ intact: chain.intact, events: chain.events, break: chain.break }).toEqual({
          intact: true,
          events: records,
          break: undefined,
        });
      }
    },
    // Only a bound against a hang: a round takes about 3 s on an idle machine.
    ROUNDS * 20_000 + 60_000,
  );
});
