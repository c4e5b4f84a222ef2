import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Counts } from './callgrind/gate-report';
import { measureAll, readGateSettings } from './callgrind/measure';
import { checkValgrind } from './callgrind/valgrind';
import { CONFIG_IDS, PLATFORMS } from './config';
import { measureChainCost } from './lib/chain-cost';
import { measureSealCost, withSealCostSection } from './lib/seal-cost';
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
import {
  LARGE_DB_TARGETS,
  measureLargeDb,
  type LargeDbResult,
  type LargeDbTarget,
} from './lib/large-db';
import { measurePlatform } from './lib/platform';
import { createBenchSchema, dropBenchSchema, uniqueSchemaName, withClient } from './lib/postgres';
import {
  renderReport,
  type CellRound,
  type GetPair,
  type RowCheck,
  type RunSettings,
} from './lib/report';
import { killAllServers } from './lib/server';

/** The repository root, from dist-bench/bench/run.js. */
const ROOT = resolve(__dirname, '..', '..');
const SERVER_ENTRY = join(__dirname, 'app', 'main.js');

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

interface DriverSettings extends RunSettings {
  pgUrl: string;
  out: string;
  largeQueries: number;
  largeStores: LargeDbTarget[];
  callgrind: boolean;
}

function readSettings(): DriverSettings {
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
    // Longer: a p99 from one 4 s cell at 1,000 req/s rests on its 40 slowest requests.
    rateDurationS: intSetting('BENCH_RATE_DURATION', 10, 1, 600),
    rounds: intSetting('BENCH_ROUNDS', 3, 1, 50),
    connections: intSetting('BENCH_CONNECTIONS', 32, 1, 1000),
    warmupS: intSetting('BENCH_WARMUP', 2, 0, 60),
    // Low enough for every configuration, even (f) on Express, to sustain with the ~1 ms handler.
    fixedRate: intSetting('BENCH_RATE', 1000, 0, 1_000_000),
    settleMs: 300,
    getPairs: intSetting('BENCH_GET_PAIRS', 6, 0, 100),
    getPairDurationS: intSetting('BENCH_GET_PAIR_DURATION', 2, 1, 600),
    platforms: listSetting('BENCH_PLATFORMS', PLATFORMS),
    configs,
    ingestEvents: intSetting('BENCH_INGEST_EVENTS', 20_000, 100, 1_000_000),
    largeEvents: intSetting('BENCH_LARGE_EVENTS', 1_000_000, 0, 20_000_000),
    largeIngest: intSetting('BENCH_LARGE_INGEST', 20_000, 100, 1_000_000),
    largeQueries: intSetting('BENCH_LARGE_QUERIES', 30, 1, 10_000),
    largeStores: listSetting('BENCH_LARGE_STORES', LARGE_DB_TARGETS),
    callgrind: intSetting('BENCH_CALLGRIND', 1, 0, 1) === 1,
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

/** The stores at a million events, in the run's schema and directory (issue 10). */
async function measureLargeDbIn(
  settings: DriverSettings,
  dir: string,
  schema: string,
): Promise<LargeDbResult[]> {
  if (settings.largeEvents === 0) return [];
  const results = await measureLargeDb(
    {
      events: settings.largeEvents,
      ingestEvents: settings.largeIngest,
      queryRuns: settings.largeQueries,
      targets: settings.largeStores,
      dir,
      pgUrl: settings.pgUrl,
      pgSchema: schema,
    },
    log,
  );
  // A million events take a gigabyte or more: free the disk before the servers start.
  rmSync(join(dir, 'large.db'), { force: true });
  rmSync(join(dir, 'large.db-wal'), { force: true });
  await withClient(settings.pgUrl, (client) =>
    client.query(`DROP TABLE IF EXISTS "${schema}"."large_events" CASCADE`),
  );
  return results;
}

/** The CI gate's instruction counts, once, when valgrind is installed (issue 10). */
async function measureInstructions(
  settings: DriverSettings,
  dir: string,
): Promise<Counts | undefined> {
  if (!settings.callgrind) return undefined;
  try {
    await checkValgrind();
  } catch (error) {
    log(`instructions not measured: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
  const [counts] = (await measureAll({ ...readGateSettings([]), runs: 1 }, dir, log)).runs;
  log('instructions per request measured');
  return counts;
}

/** A rough duration of the whole run, printed at the start so nobody waits blind. */
function expectedSeconds(settings: DriverSettings): number {
  const servers = settings.platforms.length * settings.configs.length;
  const settle = settings.settleMs / 1000 + 0.3;
  const saturation = 3 * (settings.durationS + settle);
  const rate = settings.fixedRate > 0 ? settings.rateDurationS + settle : 0;
  const http = servers * (settings.rounds * (saturation + rate) + 3 * settings.warmupS + 2);
  const withModule = settings.configs.filter((c) => c === 'c' || c === 'd' || c === 'e').length;
  const pairs =
    settings.platforms.length *
    withModule *
    settings.getPairs *
    2 *
    (settings.getPairDurationS + settle);
  const ormUpdate = settings.platforms.length * (settings.rounds * 3 * 6 + 10);
  const large = (settings.largeEvents / 1_000_000) * 150 * settings.largeStores.length;
  return (
    http + pairs + ormUpdate + large + (settings.callgrind ? 240 : 0) + settings.rounds * 6 + 10
  );
}

async function main(): Promise<void> {
  const settings = readSettings();
  const startedAt = new Date();
  const machineAtStart = machineFacts();
  const checkout = checkoutFacts();
  log(
    `nestjs-audit bench: ${settings.platforms.join(', ')} × configurations ${settings.configs.join(', ')}, ${settings.rounds} rounds of ${settings.durationS} s cells${settings.fixedRate > 0 ? ` and ${settings.rateDurationS} s cells at ${settings.fixedRate} req/s` : ''}, ${settings.connections} connections; about ${Math.ceil(expectedSeconds(settings) / 60)} min.`,
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
    const chainCost = measureChainCost(settings.rounds);
    log('event build and chain link measured');
    const sealCost = await measureSealCost(settings.pgUrl, schema, settings.rounds);
    log("PostgreSQL seal's main-thread cost measured");
    const unaudited = await measureUnauditedRoute(settings.platforms, settings.rounds);
    log('unaudited route measured');
    // In the run's schema (dropped with it), before any server starts.
    const ormUpdate = await measureOrmUpdate(settings.platforms, settings.rounds, {
      pgUrl: settings.pgUrl,
      schema,
    });
    log('ORM update path measured');
    const largeDb = await measureLargeDbIn(settings, resources.dir, schema);
    const instructions = await measureInstructions(settings, resources.dir);
    const http = new Map<string, CellRound[]>();
    const getPairs = new Map<string, GetPair[]>();
    const rowChecks: RowCheck[] = [];
    const ctx = { entry: SERVER_ENTRY, dir: resources.dir, pgUrl: settings.pgUrl, schema, log };
    for (const platform of settings.platforms) {
      rowChecks.push(...(await measurePlatform(platform, settings, ctx, http, getPairs)));
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
      getPairs,
      ingest,
      meanEventBytes: eventBytes,
      eventBuild,
      chainCost,
      unaudited,
      rowChecks,
      largeDb,
      instructions,
    });
    const report = withSealCostSection(withOrmUpdateSection(rendered, ormUpdate), sealCost);
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
