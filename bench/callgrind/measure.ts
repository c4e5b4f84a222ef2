import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { GATE_APPS, GATE_PHASES, type GateApp } from './apps';
import type { CaseId, Counts } from './gate-report';
import { CallgrindProcess, STABLE_NODE_FLAGS } from './valgrind';

const TARGET = join(__dirname, 'target.js');
/** A stuck valgrind must not hold CI: an app takes 2-5 minutes, about 9 beside other work. */
const APP_TIMEOUT_MS = 20 * 60_000;

/** How the gate measures. */
export interface GateSettings {
  update: boolean;
  runs: number;
  /** Measured audited (and baseline) updates per case. */
  requests: number;
  /**
   * Measured reads per case: more, because a read does so little that one optimizing
   * compilation in its window moved the count by 10%; averaged over 5,000 it moves it by 1%.
   */
  getRequests: number;
  /**
   * Measured windows per case, back to back; the gate keeps the lowest. An optimizing
   * compilation or a deoptimization is a one-off that lands in some window or none, and moved
   * a single window's count by up to 20% (a commit that took over a second under disk load made
   * the event's duration in nanoseconds leave V8's small-integer range); the steady cost is in
   * every window, so the lowest is the steady state.
   */
  windows: number;
  warmup: number;
  jobs: number;
  nodeFlags: string[];
  apps: GateApp[];
}

/** A whole-number setting from the environment, within [min, max]; `fallback` when unset. */
export function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${raw}: expected a whole number from ${min} to ${max}.`);
  }
  return value;
}

function appList(raw: string | undefined): GateApp[] {
  if (raw === undefined || raw.trim() === '') return [...GATE_APPS];
  const wanted = raw.split(',').map((a) => a.trim());
  const bad = wanted.filter((a) => !(GATE_APPS as readonly string[]).includes(a));
  if (bad.length > 0)
    throw new Error(`CG_APPS: unknown ${bad.join(', ')} (${GATE_APPS.join(', ')})`);
  return GATE_APPS.filter((a) => wanted.includes(a));
}

/** The gate's settings from its arguments and CG_* variables. */
export function readGateSettings(argv: readonly string[]): GateSettings {
  const runsArg = argv.find((a) => a.startsWith('--runs='));
  const runs = runsArg ? Number(runsArg.slice('--runs='.length)) : 1;
  if (!Number.isInteger(runs) || runs < 1 || runs > 10) throw new Error('--runs=N: N from 1 to 10');
  const unknown = argv.filter((a) => a !== '--update' && !a.startsWith('--runs='));
  if (unknown.length > 0) throw new Error(`unknown arguments ${unknown.join(' ')}`);
  const flags = process.env.CG_NODE_FLAGS;
  return {
    update: argv.includes('--update'),
    runs,
    requests: intEnv('CG_REQUESTS', 500, 10, 100_000),
    getRequests: intEnv('CG_GET_REQUESTS', 5000, 10, 100_000),
    windows: intEnv('CG_WINDOWS', 3, 1, 10),
    warmup: intEnv('CG_WARMUP', 3000, 0, 100_000),
    jobs: intEnv('CG_JOBS', Math.min(2, cpus().length), 1, 16),
    nodeFlags: flags === undefined ? [...STABLE_NODE_FLAGS] : flags.split(/\s+/).filter(Boolean),
    apps: appList(process.env.CG_APPS),
  };
}

/**
 * Instructions per request of each run: outside V8's collector and compilers (gated), and in
 * each of them.
 */
export interface GateRuns {
  runs: Counts[];
  collector: Counts[];
  compiler: Counts[];
}

/**
 * Where the measured app keeps its SQLite file: in memory (/dev/shm) where there is one. The
 * gate counts the main thread, and the commit's fsync is the writer thread's and the disk's;
 * on a disk busy with other writes an fsync took seconds, and the main thread's code took other
 * paths (see `windows`).
 */
export function storeDirFor(dir: string): string {
  return existsSync('/dev/shm') ? mkdtempSync(join('/dev/shm', 'nestjs-audit-gate-')) : dir;
}

/** One app under callgrind: instructions per request of each of its phases. */
async function measureApp(
  app: GateApp,
  settings: GateSettings,
  dir: string,
): Promise<{ counts: Counts; collector: Counts; compiler: Counts }> {
  const storeDir = storeDirFor(dir);
  const proc = CallgrindProcess.start(
    TARGET,
    ['--expose-gc', ...settings.nodeFlags],
    {
      CG_APP: app,
      CG_WARMUP: String(Math.max(1, settings.warmup)),
      CG_REQUESTS: String(settings.requests),
      CG_GET_REQUESTS: String(settings.getRequests),
      CG_WINDOWS: String(settings.windows),
      CG_SQLITE_PATH: join(storeDir, `${app}-${process.hrtime.bigint()}.db`),
    },
    dir,
    app,
  );
  const timer = setTimeout(() => proc.kill(), APP_TIMEOUT_MS);
  const counts: Counts = {};
  const collector: Counts = {};
  const compiler: Counts = {};
  const t0 = Date.now();
  const trace = (what: string): void => {
    if (process.env.CG_VERBOSE) {
      process.stderr.write(`${app} ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  };
  try {
    for (const phase of GATE_PHASES[app]) {
      const id = `${app}-${phase}` as CaseId;
      const requests = phase === 'get' ? settings.getRequests : settings.requests;
      for (let w = 1; w <= settings.windows; w += 1) {
        await proc.expectLine(`READY ${phase}`);
        await proc.startCounting();
        proc.send('GO');
        await proc.expectLine(`DONE ${phase}`);
        const share = await proc.stopCounting();
        const outside = (share.total - share.collector - share.compiler) / requests;
        trace(
          `${phase} window ${w}: ${Math.round(outside).toLocaleString('en-US')} outside the collector and compilers`,
        );
        if (counts[id] === undefined || outside < counts[id]) {
          counts[id] = outside;
          collector[id] = share.collector / requests;
          compiler[id] = share.compiler / requests;
        }
        proc.send('NEXT');
      }
    }
    await proc.expectLine('END');
    await proc.exit(60_000);
  } finally {
    clearTimeout(timer);
    proc.kill();
    if (storeDir !== dir) rmSync(storeDir, { recursive: true, force: true });
  }
  return { counts, collector, compiler };
}

/** Runs every app `runs` times, `jobs` processes at a time; one Counts per run and share. */
export async function measureAll(
  settings: GateSettings,
  dir: string,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<GateRuns> {
  const tasks: { run: number; app: GateApp }[] = [];
  for (let run = 0; run < settings.runs; run += 1) {
    for (const app of settings.apps) tasks.push({ run, app });
  }
  const results: GateRuns = {
    runs: Array.from({ length: settings.runs }, () => ({})),
    collector: Array.from({ length: settings.runs }, () => ({})),
    compiler: Array.from({ length: settings.runs }, () => ({})),
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      const started = Date.now();
      const { counts, collector, compiler } = await measureApp(task.app, settings, dir);
      Object.assign(results.runs[task.run]!, counts);
      Object.assign(results.collector[task.run]!, collector);
      Object.assign(results.compiler[task.run]!, compiler);
      log(
        `callgrind run ${task.run + 1} ${task.app}: ${Object.entries(counts)
          .map(([k, v]) => `${k} ${Math.round(v).toLocaleString('en-US')}`)
          .join(
            ', ',
          )} instructions/request outside the collector and compilers (${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(settings.jobs, tasks.length) }, worker));
  return results;
}
