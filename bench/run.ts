import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  benchTables,
  CONFIG_IDS,
  CONFIG_LABELS,
  CELL_KINDS,
  CELLS,
  HANDLERS,
  PLATFORMS,
  type CellKind,
  type ConfigId,
  type Platform,
  type ServerEnv,
} from './config';
import { measureEventBuild } from './lib/event-build';
import { measureUnauditedRoute } from './lib/unaudited-route';
import { measureOrmUpdate, withOrmUpdateSection } from './lib/orm-update';
import {
  ingestRound,
  INGEST_TARGETS,
  makeEvents,
  meanEventBytes,
  openIngestStore,
  type IngestRound,
  type IngestTarget,
} from './lib/ingest';
import { runLoad, type LoadResult } from './lib/load';
import { runPaced } from './lib/paced';
import { countRows, createBenchSchema, dropBenchSchema, uniqueSchemaName } from './lib/postgres';
import { postgresCpuMicros } from './lib/proc';
import {
  cellKey,
  renderReport,
  type CellRound,
  type RowCheck,
  type RunSettings,
} from './lib/report';
import { killAllServers, ServerProcess } from './lib/server';

/** The repository root, from dist-bench/bench/run.js. */
const ROOT = resolve(__dirname, '..', '..');
const SERVER_ENTRY = join(__dirname, 'app', 'main.js');
const SERVER_START_TIMEOUT_MS = 30_000;

/** A wrong setting: reported by its message alone, the stack would only hide it. */
class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(
      `${name}=${raw} is invalid: expected a whole number from ${min} to ${max} (default ${fallback}).`,
    );
  }
  return value;
}

function listSetting<T extends string>(name: string, allowed: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...allowed];
  const wanted = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const item of wanted) {
    if (!allowed.includes(item as T)) {
      throw new SettingsError(
        `${name}=${raw} is invalid: "${item}" is not one of ${allowed.join(', ')}.`,
      );
    }
  }
  // Keep the canonical order, whatever order was given, so rounds always interleave the same way.
  return allowed.filter((a) => wanted.includes(a));
}

function readSettings(): RunSettings & { pgUrl: string; out: string } {
  const configs = listSetting('BENCH_CONFIGS', CONFIG_IDS);
  if (!configs.includes('a')) {
    throw new SettingsError(
      'BENCH_CONFIGS must include "a": every figure is a ratio to the no-audit baseline of the same run.',
    );
  }
  return {
    // Defaults: 2 platforms × 6 configurations × 3 cells × 3 rounds × 4 s = 7.2 min of load,
    // plus warm-up, pauses, ingest and boots: about 9 minutes in all.
    durationS: intSetting('BENCH_DURATION', 4, 1, 600),
    rounds: intSetting('BENCH_ROUNDS', 3, 1, 50),
    connections: intSetting('BENCH_CONNECTIONS', 32, 1, 1000),
    warmupS: intSetting('BENCH_WARMUP', 2, 0, 60),
    // Low enough for every configuration, even (f) on Express, to sustain with the ~1 ms handler.
    fixedRate: intSetting('BENCH_RATE', 1000, 0, 1_000_000),
    settleMs: 300,
    platforms: listSetting('BENCH_PLATFORMS', PLATFORMS),
    configs,
    ingestEvents: intSetting('BENCH_INGEST_EVENTS', 20_000, 100, 1_000_000),
    pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    out: resolve(ROOT, process.env.BENCH_OUT ?? 'bench/results/latest.md'),
  };
}

/** Version of an installed package, or of this checkout when `name` is undefined. */
function packageVersion(name?: string): string {
  const file =
    name === undefined
      ? join(ROOT, 'package.json')
      : join(ROOT, 'node_modules', name, 'package.json');
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: string };
    return pkg.version ?? '?';
  } catch {
    return 'not installed';
  }
}

/** The commit measured, and whether the working tree differed from it (read-only git calls). */
function checkoutFacts(): string {
  try {
    const git = (args: string[]): string =>
      execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return `commit ${git(['rev-parse', '--short', 'HEAD'])}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

function machineFacts(): string[] {
  const list = cpus();
  const model = list[0]?.model.trim() ?? 'unknown CPU';
  const speed = list[0]?.speed ? ` @ ${list[0].speed} MHz` : '';
  return [
    `CPU: ${list.length} × ${model}${speed} (shared with other workloads)`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free at start`,
    `OS: ${type()} ${release()}; load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `Temporary files (SQLite databases): ${tmpdir()}`,
  ];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function serverEnv(
  platform: Platform,
  config: ConfigId,
  dir: string,
  pgUrl: string,
  schema: string,
): ServerEnv {
  const tables = benchTables(platform);
  return {
    BENCH_CONFIG: config,
    BENCH_PLATFORM: platform,
    BENCH_PG_URL: pgUrl,
    BENCH_PG_SCHEMA: schema,
    BENCH_PG_TABLE: tables.audit,
    BENCH_NAIVE_TABLE: tables.naive,
    BENCH_SQLITE_PATH: join(dir, `${platform}-${config}.db`),
    BENCH_SPOOL_PATH: join(dir, `${platform}-${config}.spool`),
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

function describeCell(r: LoadResult, cpuUs: number): string {
  const problems = r.non2xx + r.errors > 0 ? ` non-2xx ${r.non2xx} errors ${r.errors}` : '';
  return `${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${Math.round(cpuUs)} µs CPU/req${problems}`;
}

/** Everything the run created, so that any exit path can undo it. */
interface Resources {
  dir?: string;
  schema?: string;
  pgUrl: string;
}

async function cleanup(resources: Resources): Promise<void> {
  killAllServers();
  if (resources.schema) {
    const schema = resources.schema;
    resources.schema = undefined;
    try {
      await dropBenchSchema(resources.pgUrl, schema);
    } catch (error) {
      log(
        `warning: could not drop schema ${schema}: ${String(error)}. Drop it by hand: DROP SCHEMA "${schema}" CASCADE;`,
      );
    }
  }
  if (resources.dir) {
    rmSync(resources.dir, { recursive: true, force: true });
    resources.dir = undefined;
  }
}

async function measureIngest(
  settings: RunSettings,
  dir: string,
  pgUrl: string,
  schema: string,
): Promise<{ ingest: Map<IngestTarget, IngestRound[]>; eventBytes: number }> {
  const ingest = new Map<IngestTarget, IngestRound[]>();
  const stores = new Map(
    INGEST_TARGETS.map((t) => [
      t,
      openIngestStore(t, { events: settings.ingestEvents, dir, pgUrl, pgSchema: schema }),
    ]),
  );
  let eventBytes = 0;
  try {
    for (const store of stores.values()) await store.init();
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [target, store] of stores) {
        // Fresh ids every time: a batch of ids already stored would be skipped, not written.
        const events = makeEvents(settings.ingestEvents);
        if (eventBytes === 0) eventBytes = meanEventBytes(events);
        const result = await ingestRound(store, events);
        ingest.set(target, [...(ingest.get(target) ?? []), result]);
        log(
          `ingest round ${round} ${target}: ${Math.round(result.eventsPerS)} events/s, ${result.batchMedianMs.toFixed(2)} ms per batch`,
        );
      }
    }
  } finally {
    for (const store of stores.values()) await store.close();
  }
  return { ingest, eventBytes };
}

async function measurePlatform(
  platform: Platform,
  settings: RunSettings,
  dir: string,
  pgUrl: string,
  schema: string,
  http: Map<string, CellRound[]>,
): Promise<RowCheck[]> {
  const servers = new Map<ConfigId, ServerProcess>();
  const answered = new Map<ConfigId, number>();
  const cellsRun = new Map<ConfigId, number>();
  const firstLines = new Map<ConfigId, number>();
  const lastLines = new Map<ConfigId, number>();
  const load = async (
    server: ServerProcess,
    config: ConfigId,
    kind: CellKind,
    durationS: number,
  ): Promise<LoadResult> => {
    const cell = CELLS[kind];
    const target = {
      port: server.port,
      path: HANDLERS[cell.handler].path,
      connections: settings.connections,
      durationS,
    };
    const result = cell.fixedRate
      ? await runPaced({ ...target, rate: settings.fixedRate })
      : await runLoad(target);
    answered.set(config, (answered.get(config) ?? 0) + result.ok);
    cellsRun.set(config, (cellsRun.get(config) ?? 0) + 1);
    return result;
  };
  const kinds = CELL_KINDS.filter((kind) => !CELLS[kind].fixedRate || settings.fixedRate > 0);
  try {
    // One at a time: boots are CPU-heavy and would otherwise slow each other into timeouts.
    for (const config of settings.configs) {
      const server = await ServerProcess.start(
        SERVER_ENTRY,
        `${platform}/${config}`,
        serverEnv(platform, config, dir, pgUrl, schema),
        SERVER_START_TIMEOUT_MS,
      );
      servers.set(config, server);
      const { logLines } = await server.sample();
      if (logLines !== undefined) firstLines.set(config, logLines);
      log(
        `${platform}: (${config}) ${CONFIG_LABELS[config]} listening on 127.0.0.1:${server.port} (pid ${server.pid})`,
      );
    }
    if (settings.warmupS > 0) {
      for (const [config, server] of servers) {
        for (const kind of kinds) {
          if (!CELLS[kind].fixedRate) await load(server, config, kind, settings.warmupS);
        }
      }
      log(`${platform}: warmed up`);
    }
    for (let round = 1; round <= settings.rounds; round++) {
      for (const [config, server] of servers) {
        for (const kind of kinds) {
          const before = await server.sample();
          const pgBefore = postgresCpuMicros();
          const result = await load(server, config, kind, settings.durationS);
          // Work the cell queued (an async flush, a commit in progress) belongs to it.
          await sleep(settings.settleMs);
          const after = await server.sample();
          const pgAfter = postgresCpuMicros();
          if (after.logLines !== undefined) lastLines.set(config, after.logLines);
          const perReq = (delta: number): number =>
            result.ok > 0 ? delta / result.ok : Number.NaN;
          const cell: CellRound = {
            rps: result.rps,
            p50Ms: result.p50Ms,
            p99Ms: result.p99Ms,
            cpuUsPerReq: perReq(after.cpuMicros - before.cpuMicros),
            pgCpuUsPerReq:
              pgBefore === undefined || pgAfter === undefined
                ? undefined
                : perReq(pgAfter - pgBefore),
            eventsPerCommit:
              before.audit && after.audit && after.audit.commits > before.audit.commits
                ? (after.audit.committed - before.audit.committed) /
                  (after.audit.commits - before.audit.commits)
                : undefined,
            ok: result.ok,
            non2xx: result.non2xx,
            errors: result.errors,
          };
          const key = cellKey(platform, kind, config);
          http.set(key, [...(http.get(key) ?? []), cell]);
          log(
            `${platform} round ${round}/${settings.rounds} (${config}) ${kind}: ${describeCell(result, cell.cpuUsPerReq)}`,
          );
          if (result.non2xx + result.errors > 0 && server.stderrTail) {
            log(`  server stderr: ${server.stderrTail.slice(-800)}`);
          }
        }
      }
    }
  } finally {
    // Clean stops flush the async queue and close the stores before rows are counted.
    for (const server of servers.values()) await server.stop();
  }

  const tables = benchTables(platform);
  const checks: RowCheck[] = [];
  const check = (config: ConfigId, what: string, rows: number): void => {
    checks.push({
      what: `${platformName(platform)} (${config}) ${what}`,
      answered: answered.get(config) ?? 0,
      rows,
      inFlightSlack: (cellsRun.get(config) ?? 0) * settings.connections,
    });
  };
  const first = firstLines.get('b');
  const last = lastLines.get('b');
  if (first !== undefined && last !== undefined) check('b', 'pino-http log lines', last - first);
  for (const config of ['c', 'd'] as const) {
    if (servers.has(config)) {
      const path = serverEnv(platform, config, dir, pgUrl, schema).BENCH_SQLITE_PATH;
      check(config, 'SQLite audit_events rows', sqliteRows(path));
    }
  }
  if (servers.has('e')) {
    check('e', `PostgreSQL ${tables.audit} rows`, await countRows(pgUrl, schema, tables.audit));
  }
  if (servers.has('f')) {
    check('f', `PostgreSQL ${tables.naive} rows`, await countRows(pgUrl, schema, tables.naive));
  }
  return checks;
}

function platformName(platform: Platform): string {
  return platform === 'express' ? 'Express' : 'Fastify';
}

async function main(): Promise<void> {
  const settings = readSettings();
  const startedAt = new Date();
  const machineAtStart = machineFacts();
  const checkout = checkoutFacts();
  const servers = settings.platforms.length * settings.configs.length;
  const kinds = settings.fixedRate > 0 ? CELL_KINDS.length : CELL_KINDS.length - 1;
  const cellS = settings.durationS + settings.settleMs / 1000 + 0.2;
  const expectedS =
    servers * (kinds * settings.rounds * cellS + 2 * settings.warmupS + 2) +
    settings.rounds * 3 * 2 +
    settings.platforms.length * (settings.rounds * 3 * 6 + 10) + // the ORM update path
    10;
  log(
    `nestjs-audit bench: ${settings.platforms.join(', ')} × configurations ${settings.configs.join(', ')} × ${kinds} cells, ${settings.rounds} rounds of ${settings.durationS} s, ${settings.connections} connections${settings.fixedRate > 0 ? `, fixed rate ${settings.fixedRate} req/s` : ''}; about ${Math.ceil(expectedS / 60)} min.`,
  );
  if (!existsSync(SERVER_ENTRY))
    throw new Error(
      `${SERVER_ENTRY} is missing: build with "tsc -p bench/tsconfig.json" first (npm run bench does).`,
    );

  const resources: Resources = { pgUrl: settings.pgUrl };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping servers and cleaning up`);
    void cleanup(resources).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort on any exit path (a throw outside main, process.exit): no server may survive us.
  process.on('exit', killAllServers);

  try {
    resources.dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-bench-'));
    const schema = uniqueSchemaName();
    let pgVersion: string;
    try {
      pgVersion = await createBenchSchema(settings.pgUrl, schema, settings.platforms);
    } catch (error) {
      throw new SettingsError(
        `Cannot prepare PostgreSQL at ${settings.pgUrl} (${String(error)}). Start it (pg_ctlcluster --skip-systemctl-redirect <version> main start) or point BENCH_PG_URL at a server where the user may create a schema.`,
      );
    }
    resources.schema = schema;
    log(`schema ${schema}, temporary files in ${resources.dir}`);

    const { ingest, eventBytes } = await measureIngest(
      settings,
      resources.dir,
      settings.pgUrl,
      schema,
    );
    // In-process like ingest, and before any server starts, so the driver's loop is quiet.
    const eventBuild = measureEventBuild(settings.rounds);
    log('event build measured');
    const unaudited = await measureUnauditedRoute(settings.platforms, settings.rounds);
    log('unaudited route measured');
    // In the run's schema (dropped with it), before any server starts.
    const ormUpdate = await measureOrmUpdate(settings.platforms, settings.rounds, {
      pgUrl: settings.pgUrl,
      schema,
    });
    log('ORM update path measured');
    const http = new Map<string, CellRound[]>();
    const rowChecks: RowCheck[] = [];
    for (const platform of settings.platforms) {
      rowChecks.push(
        ...(await measurePlatform(platform, settings, resources.dir, settings.pgUrl, schema, http)),
      );
    }

    const rendered = renderReport({
      settings,
      facts: {
        startedAt,
        finishedAt: new Date(),
        machine: [
          ...machineAtStart,
          `Load average at the end: ${loadavg()
            .map((l) => l.toFixed(2))
            .join(' ')} (other sessions share this machine)`,
        ],
        versions: [
          `Node ${process.version}; NestJS ${packageVersion('@nestjs/core')} (platform-express ${packageVersion('@nestjs/platform-express')}, platform-fastify ${packageVersion('@nestjs/platform-fastify')}, fastify ${packageVersion('fastify')}, express ${packageVersion('express')})`,
          `nestjs-audit ${packageVersion()} (this checkout, ${checkout}); nestjs-pino ${packageVersion('nestjs-pino')}, pino-http ${packageVersion('pino-http')}, pino ${packageVersion('pino')}; autocannon ${packageVersion('autocannon')}; pg ${packageVersion('pg')}; better-sqlite3 ${packageVersion('better-sqlite3')}`,
          pgVersion,
        ],
      },
      http,
      ingest,
      meanEventBytes: eventBytes,
      eventBuild,
      unaudited,
      rowChecks,
    });
    const report = withOrmUpdateSection(rendered, ormUpdate);
    mkdirSync(dirname(settings.out), { recursive: true });
    writeFileSync(settings.out, report);
    process.stdout.write(report);
    log(`written to ${settings.out}`);
  } finally {
    await cleanup(resources);
  }
}

main().catch((error: unknown) => {
  const detail =
    error instanceof SettingsError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  log(`bench failed: ${detail}`);
  killAllServers();
  process.exitCode = 1;
});
