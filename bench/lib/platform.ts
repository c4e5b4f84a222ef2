import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchTables,
  CELL_KINDS,
  CELLS,
  CONFIG_LABELS,
  HANDLERS,
  type CellKind,
  type ConfigId,
  type Platform,
  type ServerEnv,
} from '../config';
import { runLoad, type LoadResult } from './load';
import { runPaced } from './paced';
import { countRows } from './postgres';
import { postgresCpuMicros } from './proc';
import {
  cellKey,
  pairKey,
  type CellRound,
  type GetPair,
  type RowCheck,
  type RunSettings,
} from './summary';
import { ServerProcess, type ServerSample } from './server';

const SERVER_START_TIMEOUT_MS = 30_000;

/** Where the run's servers and their files are. */
export interface PlatformContext {
  entry: string;
  dir: string;
  pgUrl: string;
  schema: string;
  log: (line: string) => void;
}

function serverEnv(platform: Platform, config: ConfigId, ctx: PlatformContext): ServerEnv {
  const tables = benchTables(platform);
  return {
    BENCH_CONFIG: config,
    BENCH_PLATFORM: platform,
    BENCH_PG_URL: ctx.pgUrl,
    BENCH_PG_SCHEMA: ctx.schema,
    BENCH_PG_TABLE: tables.audit,
    BENCH_NAIVE_TABLE: tables.naive,
    BENCH_SQLITE_PATH: join(ctx.dir, `${platform}-${config}.db`),
  };
}

function sqliteRows(path: string): number {
  if (!existsSync(path)) return 0;
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) FROM audit_events').pluck().get() as number) ?? 0;
  } finally {
    db.close();
  }
}

function describeCell(r: LoadResult, cell: CellRound): string {
  const problems = r.non2xx + r.errors > 0 ? ` non-2xx ${r.non2xx} errors ${r.errors}` : '';
  return `${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${Math.round(cell.cpuUsPerReq)} µs CPU/req (main thread ${Math.round(cell.mainCpuUsPerReq)}), loop delay max ${cell.loopMaxMs.toFixed(1)} ms${problems}`;
}

/** One cell's figures from the load result and the server's counters around it. */
function cellOf(
  result: LoadResult,
  before: ServerSample,
  after: ServerSample,
  pg: [number | undefined, number | undefined],
): CellRound {
  const perReq = (delta: number): number => (result.ok > 0 ? delta / result.ok : Number.NaN);
  const main =
    before.mainThreadMicros === undefined || after.mainThreadMicros === undefined
      ? Number.NaN
      : perReq(after.mainThreadMicros - before.mainThreadMicros);
  return {
    rps: result.rps,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    cpuUsPerReq: perReq(after.cpuMicros - before.cpuMicros),
    mainCpuUsPerReq: main,
    loopMaxMs: after.loopMaxMs,
    loopP99Ms: after.loopP99Ms,
    pgCpuUsPerReq: pg[0] === undefined || pg[1] === undefined ? undefined : perReq(pg[1] - pg[0]),
    eventsPerCommit:
      before.audit && after.audit && after.audit.commits > before.audit.commits
        ? (after.audit.committed - before.audit.committed) /
          (after.audit.commits - before.audit.commits)
        : undefined,
    ok: result.ok,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Requests each configuration answered: all of them, and those of audited routes. */
class Answered {
  readonly all = new Map<ConfigId, number>();
  readonly audited = new Map<ConfigId, number>();
  readonly cells = new Map<ConfigId, number>();

  add(config: ConfigId, kind: CellKind, ok: number): void {
    const bump = (m: Map<ConfigId, number>, n: number): void => {
      m.set(config, (m.get(config) ?? 0) + n);
    };
    bump(this.all, ok);
    if (CELLS[kind].handler !== 'get') bump(this.audited, ok);
    bump(this.cells, 1);
  }
}

function platformName(platform: Platform): string {
  return platform === 'express' ? 'Express' : 'Fastify';
}

/** The cells of one platform: its servers, kept up across rounds, and what they answered. */
class PlatformRun {
  readonly servers = new Map<ConfigId, ServerProcess>();
  readonly answered = new Answered();
  readonly firstLines = new Map<ConfigId, number>();
  readonly lastLines = new Map<ConfigId, number>();

  constructor(
    readonly platform: Platform,
    readonly settings: RunSettings,
    readonly ctx: PlatformContext,
  ) {}

  /** Runs one load; `durationS` defaults to the cell's (saturation or fixed-rate) duration. */
  async load(config: ConfigId, kind: CellKind, durationS?: number): Promise<LoadResult> {
    const server = this.servers.get(config)!;
    const cell = CELLS[kind];
    const handler = HANDLERS[cell.handler];
    const s = this.settings;
    const target = {
      port: server.port,
      method: handler.method,
      path: handler.path,
      connections: s.connections,
      durationS: durationS ?? (cell.fixedRate ? s.rateDurationS : s.durationS),
    };
    const result = cell.fixedRate
      ? await runPaced({ ...target, rate: s.fixedRate })
      : await runLoad(target);
    this.answered.add(config, kind, result.ok);
    return result;
  }

  /** One at a time: boots are CPU-heavy and would otherwise slow each other into timeouts. */
  async start(): Promise<void> {
    for (const config of this.settings.configs) {
      const server = await ServerProcess.start(
        this.ctx.entry,
        `${this.platform}/${config}`,
        serverEnv(this.platform, config, this.ctx),
        SERVER_START_TIMEOUT_MS,
      );
      this.servers.set(config, server);
      const { logLines } = await server.sample();
      if (logLines !== undefined) this.firstLines.set(config, logLines);
      this.ctx.log(
        `${this.platform}: (${config}) ${CONFIG_LABELS[config]} listening on 127.0.0.1:${server.port} (pid ${server.pid})`,
      );
    }
  }

  async cell(
    config: ConfigId,
    kind: CellKind,
    durationS?: number,
  ): Promise<{ result: LoadResult; cell: CellRound }> {
    const server = this.servers.get(config)!;
    // Resets the server's event-loop histogram: the next sample holds this cell's delays only.
    const before = await server.sample();
    const pgBefore = postgresCpuMicros();
    const result = await this.load(config, kind, durationS);
    // Work the cell queued (an async flush, a commit in progress) belongs to it.
    await sleep(this.settings.settleMs);
    const after = await server.sample();
    const pgAfter = postgresCpuMicros();
    if (after.logLines !== undefined) this.lastLines.set(config, after.logLines);
    return { result, cell: cellOf(result, before, after, [pgBefore, pgAfter]) };
  }

  async rowChecks(): Promise<RowCheck[]> {
    const { platform, settings, ctx, answered } = this;
    const tables = benchTables(platform);
    const checks: RowCheck[] = [];
    const check = (config: ConfigId, what: string, rows: number): void => {
      // pino-http logs every request; the audit and (f) only the updates.
      const counted = config === 'b' ? answered.all : answered.audited;
      checks.push({
        what: `${platformName(platform)} (${config}) ${what}`,
        answered: counted.get(config) ?? 0,
        rows,
        inFlightSlack: (answered.cells.get(config) ?? 0) * settings.connections,
      });
    };
    const first = this.firstLines.get('b');
    const last = this.lastLines.get('b');
    if (first !== undefined && last !== undefined) check('b', 'pino-http log lines', last - first);
    for (const config of ['c', 'd'] as const) {
      if (this.servers.has(config)) {
        const path = serverEnv(platform, config, ctx).BENCH_SQLITE_PATH;
        check(config, 'SQLite audit_events rows', sqliteRows(path));
      }
    }
    if (this.servers.has('e')) {
      const rows = await countRows(ctx.pgUrl, ctx.schema, tables.audit);
      check('e', `PostgreSQL ${tables.audit} rows`, rows);
    }
    if (this.servers.has('f')) {
      const rows = await countRows(ctx.pgUrl, ctx.schema, tables.naive);
      check('f', `PostgreSQL ${tables.naive} rows`, rows);
    }
    return checks;
  }
}

/** The configurations with the module, whose unaudited GET is compared with (a)'s in pairs. */
const MODULE_CONFIGS: readonly ConfigId[] = ['c', 'd', 'e'];

/**
 * After the rounds: unaudited-GET cells of (a) and of each configuration with the module, one
 * right after the other (which one goes first alternates), so that both sides of a ratio see the
 * same state of this shared machine. Between rounds a GET cell's throughput moved by a third here,
 * ten times the 3% the target allows; two cells seconds apart move together.
 */
async function measureGetPairs(run: PlatformRun, pairs: Map<string, GetPair[]>): Promise<void> {
  const { platform, settings, ctx } = run;
  for (const config of MODULE_CONFIGS.filter((c) => run.servers.has(c))) {
    const list: GetPair[] = [];
    for (let i = 0; i < settings.getPairs; i += 1) {
      const cells = new Map<ConfigId, CellRound>();
      const order: ConfigId[] = i % 2 === 0 ? ['a', config] : [config, 'a'];
      for (const c of order) {
        cells.set(c, (await run.cell(c, 'get', settings.getPairDurationS)).cell);
      }
      const pair = { baseline: cells.get('a')!, withModule: cells.get(config)! };
      list.push(pair);
      ctx.log(
        `${platform} GET pair ${i + 1}/${settings.getPairs}: (a) ${Math.round(pair.baseline.rps)} req/s, (${config}) ${Math.round(pair.withModule.rps)} req/s, ×${(pair.withModule.rps / pair.baseline.rps).toFixed(3)}`,
      );
    }
    pairs.set(pairKey(platform, config), list);
  }
}

/**
 * Every configuration of one platform in interleaved rounds: (a) b c d e f, (a) b c …, each
 * running all its cells; the unaudited GET runs last in each round, after audited requests.
 */
export async function measurePlatform(
  platform: Platform,
  settings: RunSettings,
  ctx: PlatformContext,
  http: Map<string, CellRound[]>,
  getPairs: Map<string, GetPair[]>,
): Promise<RowCheck[]> {
  const run = new PlatformRun(platform, settings, ctx);
  const kinds = CELL_KINDS.filter((kind) => !CELLS[kind].fixedRate || settings.fixedRate > 0);
  try {
    await run.start();
    if (settings.warmupS > 0) {
      for (const config of run.servers.keys()) {
        for (const kind of kinds) {
          if (!CELLS[kind].fixedRate) await run.load(config, kind, settings.warmupS);
        }
      }
      ctx.log(`${platform}: warmed up`);
    }
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [config, server] of run.servers) {
        for (const kind of kinds) {
          const { result, cell } = await run.cell(config, kind);
          const key = cellKey(platform, kind, config);
          http.set(key, [...(http.get(key) ?? []), cell]);
          ctx.log(
            `${platform} round ${round}/${settings.rounds} (${config}) ${kind}: ${describeCell(result, cell)}`,
          );
          if (result.non2xx + result.errors > 0 && server.stderrTail) {
            ctx.log(`  server stderr: ${server.stderrTail.slice(-800)}`);
          }
        }
      }
    }
    await measureGetPairs(run, getPairs);
  } finally {
    // Clean stops flush the async queue and close the stores before rows are counted.
    for (const server of run.servers.values()) await server.stop();
  }
  return run.rowChecks();
}
