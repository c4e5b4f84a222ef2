import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import { LargeDbEvents } from './large-db-events';
import { withClient } from './postgres';
import { median, range } from './stats';

/**
 * What sealing the PostgreSQL chain costs the application's thread per event (issue 11's target:
 * at most 5 µs): events are committed into the queue through `appendStatements()` (as an
 * application's own transaction would), then a fresh store seals them all. The thread's CPU
 * comes from Linux's per-thread counters (/proc/self/task/<pid>/stat, the main thread's id is
 * the process id), so the seal worker's own CPU is not counted; elsewhere the event loop's busy
 * time stands in for it.
 */
export const SEAL_PATHS = ['owned', 'pool'] as const;
export type SealPath = (typeof SEAL_PATHS)[number];

const LABELS: Readonly<Record<SealPath, string>> = {
  owned: 'store creates its pool: the seal runs in a worker with its own connection',
  pool: "application's pool: links made in a worker, rows read on the app's thread",
};

/** One path, one round. */
export interface SealCostRound {
  /** Main-thread CPU per event, µs. */
  mainUs: number;
  /** Wall time of the seal per event, µs. */
  wallUs: number;
}

const EVENTS = 20_000;
const QUEUE_BATCH = 1_000;

/** The main thread's CPU in ms, or `undefined` where Linux's per-thread counters are missing. */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function queueEvents(
  url: string,
  store: PostgresAuditStore,
  events: LargeDbEvents,
  from: number,
) {
  await withClient(url, async (client) => {
    for (let i = from; i < from + EVENTS; i += QUEUE_BATCH) {
      const statements = await store.appendStatements(events.batch(i, QUEUE_BATCH));
      await client.query('BEGIN');
      for (const { text, values } of statements) await client.query(text, values);
      await client.query('COMMIT');
    }
  });
}

async function timeSeal(store: PostgresAuditStore): Promise<SealCostRound> {
  await store.init();
  const cpu = mainThreadCpuMs();
  const busy = performance.eventLoopUtilization();
  const started = performance.now();
  await store.seal();
  const wallMs = performance.now() - started;
  const cpuAfter = mainThreadCpuMs();
  const mainMs =
    cpu === undefined || cpuAfter === undefined
      ? performance.eventLoopUtilization(busy).active
      : cpuAfter - cpu;
  return { mainUs: (mainMs * 1000) / EVENTS, wallUs: (wallMs * 1000) / EVENTS };
}

/** Seals {@link EVENTS} queued events per path and round, the paths interleaved. */
export async function measureSealCost(
  pgUrl: string,
  schema: string,
  rounds: number,
): Promise<Map<SealPath, SealCostRound[]>> {
  const results = new Map<SealPath, SealCostRound[]>(SEAL_PATHS.map((p) => [p, []]));
  const table = 'seal_events';
  const writer = new PostgresAuditStore({ connectionString: pgUrl, schema, table });
  await writer.init();
  const events = new LargeDbEvents(EVENTS * 2 * (rounds + 1), Date.now() - 60_000);
  const pool = new Pool({ connectionString: pgUrl, max: 2 });
  let from = 0;
  try {
    for (let round = 0; round <= rounds; round++) {
      for (const path of SEAL_PATHS) {
        await queueEvents(pgUrl, writer, events, from);
        from += EVENTS;
        const store = new PostgresAuditStore(
          path === 'owned' ? { connectionString: pgUrl, schema, table } : { pool, schema, table },
        );
        try {
          const measured = await timeSeal(store);
          if (round > 0) results.get(path)?.push(measured);
        } finally {
          await store.close();
        }
      }
    }
  } finally {
    await writer.close();
    await pool.end();
  }
  return results;
}

/** The results as Markdown lines, with issue 11's target. */
export function sealCostSection(
  results: ReadonlyMap<SealPath, readonly SealCostRound[]>,
): string[] {
  const fmt = (n: number): string => n.toFixed(1);
  const rows = SEAL_PATHS.map((path) => {
    const rounds = results.get(path) ?? [];
    const main = rounds.map((r) => r.mainUs);
    const [low, high] = range(main);
    return `| ${LABELS[path]} | ${fmt(median(main))} | ${fmt(low)}–${fmt(high)} | ${fmt(median(rounds.map((r) => r.wallUs)))} |`;
  });
  const owned = median((results.get('owned') ?? []).map((r) => r.mainUs));
  const pool = median((results.get('pool') ?? []).map((r) => r.mainUs));
  return [
    `PostgreSQL's seal of ${EVENTS} queued events (~1.2 KB each) by a fresh store, per event: CPU of the application's thread (Linux's per-thread counters; the worker's CPU not counted) and the seal's wall time, medians over the rounds.`,
    '',
    "| Store's pool | µs of main-thread CPU per event (median) | min–max | µs of wall time per event |",
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `- Issue 11's target is at most 5 µs of main-thread CPU per event: **${owned <= 5 ? 'met' : 'not met'}** when the store creates its pool (${fmt(owned)} µs), **${pool <= 5 ? 'met' : 'not met'}** with a pool of the application's (${fmt(pool)} µs).`,
  ];
}

/** Inserts the seal section after the chain section of a rendered report. */
export function withSealCostSection(
  report: string,
  results: ReadonlyMap<SealPath, readonly SealCostRound[]>,
): string {
  const block = `\n### PostgreSQL's seal on the application's thread\n\n${sealCostSection(results).join('\n')}\n`;
  const marker = '\n## A route that is not audited, in-process';
  const at = report.indexOf(marker);
  if (at >= 0) return `${report.slice(0, at)}${block}${report.slice(at)}`;
  return `${report.replace(/\n+$/, '')}\n${block}`;
}
