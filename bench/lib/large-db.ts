import type { AuditChainSource } from '../../src/integrity/chain-source';
import { verifyChain } from '../../src/integrity/verify';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PostgresAuditStore, SqliteAuditStore, type AuditStore } from '../../src';
import { parseAuditQuery, type AuditQuery } from '../../src/query/audit-query';
import { LARGE_DB_SHAPE, LargeDbEvents, prng } from './large-db-events';
import { withClient } from './postgres';
import { mainThreadMicros, postgresCpuMicros } from './proc';
import { median } from './stats';

/** The stores measured at a million events. */
export const LARGE_DB_TARGETS = ['sqlite', 'postgres'] as const;
/** A store of the large-database part. */
export type LargeDbTarget = (typeof LARGE_DB_TARGETS)[number];

/** How the report names each store. */
export const LARGE_DB_LABELS: Readonly<Record<LargeDbTarget, string>> = {
  sqlite: "SQLite, synchronous=FULL (what 'ack' uses)",
  postgres: 'PostgreSQL',
};

/** What the large-database part builds and measures. */
export interface LargeDbSettings {
  /** Events in the database before ingest and queries are measured. */
  events: number;
  /** Events appended (batches of 100) into the full database. */
  ingestEvents: number;
  /** Times each query filter is run (different values each time). */
  queryRuns: number;
  targets: readonly LargeDbTarget[];
  dir: string;
  pgUrl: string;
  pgSchema: string;
}

/** One query filter's timing. */
export interface QueryTiming {
  name: string;
  p50Ms: number;
  maxMs: number;
  /** Median number of events returned (limit 50). */
  rows: number;
}

/**
 * CPU per event of the ingest, in µs: this process (every thread: the SQLite writer or the
 * PostgreSQL seal workers included), its main thread, and every postgres process on the host.
 */
export interface IngestCpu {
  process: number;
  mainThread: number;
  postgres: number;
}

/** One store at a million events. */
export interface LargeDbResult {
  target: LargeDbTarget;
  events: number;
  buildS: number;
  /** Mean JSON size of an event as built (the payload a store keeps). */
  payloadBytes: number;
  /** Database size on disk after the ingest, per event (SQLite file + WAL; PostgreSQL relation). */
  diskBytesPerEvent: number;
  ingestEventsPerS: number;
  ingestBatchMaxMs: number;
  /** CPU per event while ingesting into the full database: where ingest's time goes. */
  ingestCpu: IngestCpu;
  queries: QueryTiming[];
  /** Seconds `verifyChain()` took over the whole chain (issue 11), and whether it found it intact. */
  verify: { seconds: number; events: number; intact: boolean };
}

/** Events per `append()` while building: large, so the build is not a million commits. */
const BUILD_BATCH = 5000;
const INGEST_BATCH = 100;
const WEEK_MS = 7 * 86_400_000;

function openStore(
  target: LargeDbTarget,
  settings: LargeDbSettings,
  building: boolean,
): AuditStore {
  if (target === 'postgres') {
    return new PostgresAuditStore({
      connectionString: settings.pgUrl,
      schema: settings.pgSchema,
      table: 'large_events',
    });
  }
  // The build may skip the fsyncs; what is measured afterwards runs with 'ack''s FULL.
  return new SqliteAuditStore({
    path: join(settings.dir, 'large.db'),
    synchronous: building ? 'NORMAL' : 'FULL',
  });
}

async function build(
  target: LargeDbTarget,
  settings: LargeDbSettings,
  events: LargeDbEvents,
  log: (line: string) => void,
): Promise<{ buildS: number; payloadBytes: number }> {
  const store = openStore(target, settings, true);
  await store.init();
  const started = performance.now();
  let bytes = 0;
  let sampled = 0;
  try {
    for (let from = 0; from < settings.events; from += BUILD_BATCH) {
      const batch = events.batch(from, BUILD_BATCH);
      if (from % 100_000 === 0) {
        for (const e of batch.slice(0, 200)) bytes += Buffer.byteLength(JSON.stringify(e));
        sampled += Math.min(200, batch.length);
      }
      await store.append(batch);
      if ((from + BUILD_BATCH) % 250_000 === 0) log(`${target}: ${from + BUILD_BATCH} events`);
    }
  } finally {
    await store.close();
  }
  return { buildS: (performance.now() - started) / 1000, payloadBytes: bytes / sampled };
}

/** What the ingest into the full database measured; CPU in µs per event (NaN without /proc). */
interface IngestResult {
  perS: number;
  maxMs: number;
  cpu: IngestCpu;
}

async function ingest(
  store: AuditStore,
  settings: LargeDbSettings,
  events: LargeDbEvents,
): Promise<IngestResult> {
  const times: number[] = [];
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadMicros();
  const postgresBefore = postgresCpuMicros();
  const started = performance.now();
  for (let n = 0; n < settings.ingestEvents; n += INGEST_BATCH) {
    // After the newest stored event, still in time order, one millisecond apart.
    const batch = Array.from({ length: INGEST_BATCH }, (_, k) =>
      events.event(settings.events + n + k, events.endMs + n + k + 1),
    );
    const t0 = performance.now();
    await store.append(batch);
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpuBefore);
  const perEvent = (before: number | undefined, after: number | undefined): number =>
    before === undefined || after === undefined
      ? Number.NaN
      : (after - before) / settings.ingestEvents;
  return {
    perS: settings.ingestEvents / seconds,
    maxMs: Math.max(...times),
    cpu: {
      process: (used.user + used.system) / settings.ingestEvents,
      mainThread: perEvent(mainBefore, mainThreadMicros()),
      postgres: perEvent(postgresBefore, postgresCpuMicros()),
    },
  };
}

/** The filters of the query API, each alone and within the last 7 days. */
function queryCases(endMs: number): { name: string; make: (r: () => number) => AuditQuery }[] {
  const s = LARGE_DB_SHAPE;
  const pick = <T>(list: readonly T[], r: () => number): T => list[Math.floor(r() * list.length)]!;
  const actor = (r: () => number): string => `user-${Math.floor(r() * s.actors)}`;
  const base: { name: string; make: (r: () => number) => AuditQuery }[] = [
    { name: 'actor', make: (r) => ({ actorId: actor(r) }) },
    {
      name: 'actor + action',
      make: (r) => ({
        actorId: actor(r),
        action: `${pick(s.resourceTypes, r)}.${pick(s.verbs, r)}`,
      }),
    },
    {
      name: 'resource',
      make: (r) => {
        const record = Math.floor(r() * s.records);
        return {
          resourceType: s.resourceTypes[record % s.resourceTypes.length]!,
          resourceId: String(record),
        };
      },
    },
    {
      name: 'action',
      make: (r) => ({ action: `${pick(s.resourceTypes, r)}.${pick(s.verbs, r)}` }),
    },
    { name: 'outcome', make: (r) => ({ outcome: r() < 0.5 ? 'failure' : 'unknown' }) },
    { name: 'tenant', make: (r) => ({ tenant: `tenant-${Math.floor(r() * s.tenants)}` }) },
  ];
  const from = new Date(endMs - WEEK_MS).toISOString();
  return [
    ...base,
    ...base.map((c) => ({
      name: `${c.name}, last 7 days`,
      make: (r: () => number) => ({ ...c.make(r), from }),
    })),
  ];
}

async function timeQueries(
  store: AuditStore,
  settings: LargeDbSettings,
  endMs: number,
): Promise<QueryTiming[]> {
  const timings: QueryTiming[] = [];
  for (const c of queryCases(endMs)) {
    const r = prng(7);
    const times: number[] = [];
    const rows: number[] = [];
    // One unmeasured run per filter: the first use prepares its statement.
    await store.query(parseAuditQuery(c.make(prng(1))));
    for (let i = 0; i < settings.queryRuns; i += 1) {
      const query = parseAuditQuery(c.make(r));
      const t0 = performance.now();
      const page = await store.query(query);
      times.push(performance.now() - t0);
      rows.push(page.items.length);
    }
    timings.push({
      name: c.name,
      p50Ms: median(times),
      maxMs: Math.max(...times),
      rows: median(rows),
    });
  }
  const times: number[] = [];
  let count = 0;
  for (let i = 0; i <= settings.queryRuns; i += 1) {
    const t0 = performance.now();
    count = (await store.history(LARGE_DB_SHAPE.hot.type, LARGE_DB_SHAPE.hot.id)).length;
    if (i > 0) times.push(performance.now() - t0);
  }
  timings.push({
    name: `history() of a ${count}-event record`,
    p50Ms: median(times),
    maxMs: Math.max(...times),
    rows: count,
  });
  return timings;
}

async function diskBytes(target: LargeDbTarget, settings: LargeDbSettings): Promise<number> {
  if (target === 'sqlite') {
    const file = join(settings.dir, 'large.db');
    return [file, `${file}-wal`].reduce(
      (sum, f) => sum + (existsSync(f) ? statSync(f).size : 0),
      0,
    );
  }
  return withClient(settings.pgUrl, async (client) => {
    const result = await client.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname LIKE 'large_events%'`,
      [settings.pgSchema],
    );
    return Number(result.rows[0]?.bytes ?? 0);
  });
}

/**
 * Builds a database of `settings.events` events per store, then measures what issue 10 asks of
 * it: ingest into the full database, the query filters, history(), and bytes per event.
 */
/** Verifies the whole chain once (after sealing what the ingest left queued, not timed). */
async function timeVerify(store: AuditStore): Promise<LargeDbResult['verify']> {
  if (store instanceof PostgresAuditStore) await store.seal();
  const started = performance.now();
  const result = await verifyChain(store as AuditStore & AuditChainSource);
  return {
    seconds: (performance.now() - started) / 1000,
    events: result.events,
    intact: result.intact,
  };
}

export async function measureLargeDb(
  settings: LargeDbSettings,
  log: (line: string) => void,
): Promise<LargeDbResult[]> {
  const results: LargeDbResult[] = [];
  const endMs = Date.now() - 60_000;
  for (const target of settings.targets) {
    const events = new LargeDbEvents(settings.events, endMs);
    const { buildS, payloadBytes } = await build(target, settings, events, log);
    log(`${target}: ${settings.events} events built in ${buildS.toFixed(0)} s`);
    const store = openStore(target, settings, false);
    await store.init();
    let measured: IngestResult;
    let queries: QueryTiming[];
    let verify: LargeDbResult['verify'];
    try {
      measured = await ingest(store, settings, events);
      queries = await timeQueries(store, settings, endMs);
      verify = await timeVerify(store);
    } finally {
      await store.close();
    }
    const total = settings.events + settings.ingestEvents;
    results.push({
      target,
      events: settings.events,
      buildS,
      payloadBytes,
      diskBytesPerEvent: (await diskBytes(target, settings)) / total,
      ingestEventsPerS: measured.perS,
      ingestBatchMaxMs: measured.maxMs,
      ingestCpu: measured.cpu,
      queries,
      verify,
    });
    log(`${target}: ingest ${Math.round(measured.perS)} events/s at ${settings.events} events`);
  }
  return results;
}
