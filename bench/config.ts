/**
 * What the driver (run.ts) and the served app (app/main.ts) agree on: the configurations, the
 * handler kinds, the environment contract of the child process and its IPC messages.
 */

/** The configurations of issue 3, in the order they are interleaved. */
export const CONFIG_IDS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
export type ConfigId = (typeof CONFIG_IDS)[number];

export const CONFIG_LABELS: Readonly<Record<ConfigId, string>> = {
  a: 'no audit (baseline)',
  b: 'nestjs-pino request logging',
  c: "nestjs-audit 'async' + SQLite",
  d: "nestjs-audit 'ack' + SQLite",
  e: "nestjs-audit 'ack' + PostgreSQL",
  f: 'naive interceptor: 1 INSERT/request (pg)',
};

export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/**
 * The routes measured. Both updates are `@Audited('item', { load: ItemLoader })`: the loader
 * returns the item's ~1.3 KB state before and after the handler, as a real audited update
 * records. The GET is not audited by the default scope ('mutations'): what the module costs the
 * routes it leaves alone, measured after the audited cells of the same round.
 */
export const HANDLERS = {
  trivial: { method: 'PATCH', path: '/items/7', label: 'trivial update' },
  pg: { method: 'PATCH', path: '/items/7/slow', label: '~1 ms PostgreSQL query update' },
  get: { method: 'GET', path: '/items/7', label: 'unaudited GET' },
} as const;
export type HandlerKind = keyof typeof HANDLERS;

/**
 * What one measured cell does: a handler under as much load as the connections can produce
 * (throughput, and latency at saturation), or the ~1 ms handler at a fixed request rate that every
 * configuration sustains (latency added at the same load, CPU per request without contention).
 */
export const CELLS = {
  trivial: { handler: 'trivial', fixedRate: false },
  pg: { handler: 'pg', fixedRate: false },
  'pg-rate': { handler: 'pg', fixedRate: true },
  get: { handler: 'get', fixedRate: false },
} as const satisfies Record<string, { handler: HandlerKind; fixedRate: boolean }>;
export type CellKind = keyof typeof CELLS;
export const CELL_KINDS = Object.keys(CELLS) as CellKind[];

/** Body every request sends: a small create, like a form post. */
export const REQUEST_BODY = JSON.stringify({ name: 'widget', quantity: 3, note: 'bench' });

/** Tables of the run's schema, one per platform so that each can be counted afterwards. */
export function benchTables(platform: Platform): { audit: string; naive: string } {
  return { audit: `audit_events_${platform}`, naive: `naive_audit_${platform}` };
}

/** Size of the application's own pg pool (TypeORM's and pg's default). */
export const APP_POOL_SIZE = 10;

/**
 * Size of the pool audit writes go through, the same for (e) (`PostgresAuditStore`'s own pool)
 * and (f) (the naive interceptor's own pool): neither gets more connections than the other.
 */
export const AUDIT_POOL_SIZE = 5;

/** Environment of the served app, all strings as the child process receives them. */
export interface ServerEnv {
  BENCH_CONFIG: ConfigId;
  BENCH_PLATFORM: Platform;
  BENCH_PG_URL: string;
  BENCH_PG_SCHEMA: string;
  /** Table of nestjs-audit's PostgreSQL store (e). */
  BENCH_PG_TABLE: string;
  /** Table of the naive interceptor (f), created by the driver. */
  BENCH_NAIVE_TABLE: string;
  /** SQLite file of configurations (c) and (d). */
  BENCH_SQLITE_PATH: string;
}

/** Messages from the driver to the served app. */
export type DriverMessage = { type: 'cpu'; seq: number } | { type: 'stop' };

/** Messages from the served app to the driver. */
export type ServerMessage =
  | { type: 'ready'; port: number }
  | {
      type: 'cpu';
      seq: number;
      userMicros: number;
      systemMicros: number;
      /** CPU time of the main thread alone so far (/proc/thread-self/schedstat), if readable. */
      mainThreadMicros?: number;
      /** Event-loop delay since the previous sample (monitorEventLoopDelay), in ms. */
      loopMaxMs: number;
      loopP99Ms: number;
      /** Lines pino-http wrote so far, in configuration (b). */
      logLines?: number;
      /** nestjs-audit's store transactions and the events they committed so far, in (c)–(e). */
      auditCommits?: number;
      auditCommitted?: number;
    }
  | { type: 'failed'; error: string };

export function isServerMessage(value: unknown): value is ServerMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string'
  );
}

export function isDriverMessage(value: unknown): value is DriverMessage {
  const type = (value as { type?: unknown } | null)?.type;
  return type === 'cpu' || type === 'stop';
}
