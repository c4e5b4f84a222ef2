import {
  CELL_KINDS,
  CELLS,
  CONFIG_LABELS,
  HANDLERS,
  type CellKind,
  type ConfigId,
  type Platform,
} from '../config';
import { eventBuildSection, type EventBuildCase, type EventBuildRound } from './event-build';
import { unauditedRouteSection, type UnauditedRound } from './unaudited-route';
import { INGEST_BATCH, INGEST_LABELS, type IngestRound, type IngestTarget } from './ingest';
import { median, range } from './stats';

/** One configuration, one handler kind, one platform, one round. */
export interface CellRound {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the server process per 2xx response, in µs. */
  cpuUsPerReq: number;
  /** CPU time of all PostgreSQL processes per 2xx response, in µs (undefined without /proc). */
  pgCpuUsPerReq: number | undefined;
  /** Events per store transaction of nestjs-audit ((c)–(e)): what group commit achieved. */
  eventsPerCommit: number | undefined;
  ok: number;
  non2xx: number;
  errors: number;
}

export interface RunSettings {
  durationS: number;
  rounds: number;
  connections: number;
  warmupS: number;
  /** Requests per second of the fixed-rate cells; 0 leaves them out. */
  fixedRate: number;
  settleMs: number;
  platforms: readonly Platform[];
  configs: readonly ConfigId[];
  ingestEvents: number;
}

export interface RunFacts {
  startedAt: Date;
  finishedAt: Date;
  machine: string[];
  versions: string[];
}

export interface RowCheck {
  what: string;
  /** 2xx answers (warm-up included) that each must have produced one row. */
  answered: number;
  rows: number;
  /**
   * Requests still in flight when a cell ended: the server finished (and recorded) them, but
   * the load generator had stopped listening, so they may add up to this many rows without a 2xx.
   */
  inFlightSlack: number;
}

export interface RunData {
  settings: RunSettings;
  facts: RunFacts;
  /** Keyed by {@link cellKey}; one entry per round, in round order. */
  http: ReadonlyMap<string, readonly CellRound[]>;
  ingest: ReadonlyMap<IngestTarget, readonly IngestRound[]>;
  meanEventBytes: number;
  /** Event build times (issue 9), by case, one entry per round. */
  eventBuild: ReadonlyMap<EventBuildCase, readonly EventBuildRound[]>;
  /** CPU per request of a route that is not audited, with and without the module (issue 9). */
  unaudited: ReadonlyMap<Platform, readonly UnauditedRound[]>;
  rowChecks: readonly RowCheck[];
}

export function cellKey(platform: Platform, kind: CellKind, config: ConfigId): string {
  return `${platform}|${kind}|${config}`;
}

/** Medians of one configuration, and its ratios to (a) taken round by round. */
interface Summary {
  rps: number;
  rpsRange: [number, number];
  rpsVsA: number;
  p50Ms: number;
  p99Ms: number;
  p99AddedMs: number;
  cpuUs: number;
  cpuVsA: number;
  cpuAddedUs: number;
  pgCpuUs: number;
  eventsPerCommit: number;
  non2xx: number;
  errors: number;
}

/**
 * Pairs each round with the baseline's round: a drift of the machine (another process taking a
 * core for a minute) moves both sides of the pair, so the median of the paired ratios is steadier
 * than a ratio of medians.
 */
function paired(
  rounds: readonly CellRound[],
  base: readonly CellRound[],
  combine: (x: CellRound, b: CellRound) => number,
): number {
  const values: number[] = [];
  for (let i = 0; i < Math.min(rounds.length, base.length); i++) {
    values.push(combine(rounds[i]!, base[i]!));
  }
  return median(values);
}

function summarize(rounds: readonly CellRound[], base: readonly CellRound[]): Summary {
  const rps = rounds.map((r) => r.rps);
  return {
    rps: median(rps),
    rpsRange: range(rps),
    rpsVsA: paired(rounds, base, (x, b) => x.rps / b.rps),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    p99AddedMs: paired(rounds, base, (x, b) => x.p99Ms - b.p99Ms),
    cpuUs: median(rounds.map((r) => r.cpuUsPerReq)),
    cpuVsA: paired(rounds, base, (x, b) => x.cpuUsPerReq / b.cpuUsPerReq),
    cpuAddedUs: paired(rounds, base, (x, b) => x.cpuUsPerReq - b.cpuUsPerReq),
    pgCpuUs: median(rounds.map((r) => r.pgCpuUsPerReq ?? Number.NaN)),
    eventsPerCommit: median(rounds.map((r) => r.eventsPerCommit ?? Number.NaN)),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function signed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
}

function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

function platformName(platform: Platform): string {
  return platform === 'express' ? 'Express' : 'Fastify';
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

class Results {
  constructor(private readonly data: RunData) {}

  rounds(platform: Platform, kind: CellKind, config: ConfigId): readonly CellRound[] {
    return this.data.http.get(cellKey(platform, kind, config)) ?? [];
  }

  summary(platform: Platform, kind: CellKind, config: ConfigId): Summary {
    return summarize(this.rounds(platform, kind, config), this.rounds(platform, kind, 'a'));
  }

  /** Median over rounds of `config`'s value divided by `other`'s value of the same round. */
  versus(
    platform: Platform,
    kind: CellKind,
    config: ConfigId,
    other: ConfigId,
    value: (r: CellRound) => number,
  ): number {
    return paired(
      this.rounds(platform, kind, config),
      this.rounds(platform, kind, other),
      (x, b) => value(x) / value(b),
    );
  }

  has(config: ConfigId): boolean {
    return this.data.settings.configs.includes(config);
  }

  /** The cell kinds this run measured. */
  kinds(): CellKind[] {
    return CELL_KINDS.filter((k) => !CELLS[k].fixedRate || this.data.settings.fixedRate > 0);
  }
}

function cellTitle(kind: CellKind, settings: RunSettings): string {
  const cell = CELLS[kind];
  const handler = `${HANDLERS[cell.handler].label} handler`;
  return cell.fixedRate
    ? `${handler} at a fixed ${count(settings.fixedRate)} req/s`
    : `${handler} at saturation (${settings.connections} connections, closed loop)`;
}

interface Verdict {
  target: string;
  lines: string[];
  met: boolean | undefined;
}

function verdictWord(met: boolean | undefined): string {
  if (met === undefined) return 'NOT MEASURED';
  return met ? 'MET' : 'NOT MET';
}

/** Starts as "not measured" and becomes false at the first check that fails. */
function verdict(target: string, measurable: boolean): Verdict {
  return { target, lines: [], met: measurable ? true : undefined };
}

function note(v: Verdict, ok: boolean, line: string): void {
  v.met = v.met === true && ok;
  v.lines.push(`${line} — ${ok ? 'met' : 'not met'}`);
}

function targets(results: Results, settings: RunSettings): Verdict[] {
  const platforms = settings.platforms;
  const audits = (['c', 'd', 'e'] as const).filter((c) => results.has(c));
  const acks = (['d', 'e'] as const).filter((c) => results.has(c));
  const withRate = settings.fixedRate > 0;
  const name = (p: Platform, c: ConfigId): string =>
    `${platformName(p)}, (${c}) ${CONFIG_LABELS[c]}`;

  const throughput = verdict(
    "With the ~1 ms handler, 'ack' keeps ≥ 90% of the baseline's throughput (at saturation: throughput is only measured there)",
    acks.length > 0,
  );
  const p99Rate = verdict(
    `With the ~1 ms handler, 'ack' adds ≤ 2 ms to p99 — at a fixed ${count(settings.fixedRate)} req/s, a load every configuration sustains`,
    acks.length > 0 && withRate,
  );
  const p99Max = verdict(
    "With the ~1 ms handler, 'ack' adds ≤ 2 ms to p99 — at saturation, where latency is mostly queueing behind the CPU and follows throughput",
    acks.length > 0,
  );
  for (const platform of platforms) {
    const baseMax = results.summary(platform, 'pg', 'a');
    const baseRate = results.summary(platform, 'pg-rate', 'a');
    for (const config of acks) {
      const max = results.summary(platform, 'pg', config);
      note(
        throughput,
        max.rpsVsA >= 0.9,
        `${name(platform, config)}: ${fixed(max.rpsVsA * 100, 0)}% of (a)`,
      );
      note(
        p99Max,
        max.p99AddedMs <= 2,
        `${name(platform, config)}: p99 ${fixed(max.p99Ms, 2)} ms vs (a) ${fixed(baseMax.p99Ms, 2)} ms, ${signed(max.p99AddedMs, 2)} ms`,
      );
      if (withRate) {
        const rate = results.summary(platform, 'pg-rate', config);
        note(
          p99Rate,
          rate.p99AddedMs <= 2,
          `${name(platform, config)}: p99 ${fixed(rate.p99Ms, 2)} ms vs (a) ${fixed(baseRate.p99Ms, 2)} ms, ${signed(rate.p99AddedMs, 2)} ms`,
        );
      }
    }
  }

  const cpu = verdict(
    "nestjs-audit's CPU per request is no more than nestjs-pino request logging's (b) (server process; per-round ratio to (b))",
    audits.length > 0 && results.has('b'),
  );
  if (results.has('b')) {
    for (const platform of platforms) {
      for (const kind of results.kinds()) {
        const b = results.summary(platform, kind, 'b');
        for (const config of audits) {
          const s = results.summary(platform, kind, config);
          const ratio = results.versus(platform, kind, config, 'b', (r) => r.cpuUsPerReq);
          note(
            cpu,
            ratio <= 1,
            `${platformName(platform)}, ${cellTitle(kind, settings)}, (${config}): ${fixed(s.cpuUs, 0)} µs/req (${signed(s.cpuAddedUs, 0)} over (a)) vs (b) ${fixed(b.cpuUs, 0)} µs/req (${signed(b.cpuAddedUs, 0)} over (a)); ×${fixed(ratio, 2)} of (b)`,
          );
        }
      }
    }
  }

  const naive = verdict(
    "'ack' + PostgreSQL (e) beats the naive one-INSERT-per-request interceptor (f) by ≥ 3× in throughput",
    results.has('e') && results.has('f'),
  );
  if (results.has('e') && results.has('f')) {
    for (const platform of platforms) {
      for (const kind of results.kinds().filter((k) => !CELLS[k].fixedRate)) {
        const ratio = results.versus(platform, kind, 'e', 'f', (r) => r.rps);
        note(
          naive,
          ratio >= 3,
          `${platformName(platform)}, ${cellTitle(kind, settings)}: (e) ${count(results.summary(platform, kind, 'e').rps)} req/s vs (f) ${count(results.summary(platform, kind, 'f').rps)} req/s = ×${fixed(ratio, 2)}`,
        );
      }
    }
  }
  return [throughput, p99Rate, p99Max, cpu, naive];
}

/** The compact table meant for the README: ratios only, both platforms side by side. */
function readmeTable(results: Results, settings: RunSettings): string[] {
  const both = (f: (p: Platform) => string): string => settings.platforms.map(f).join(' / ');
  const withRate = settings.fixedRate > 0;
  const header = [
    `Configuration (${settings.platforms.map(platformName).join(' / ')})`,
    'req/s vs (a), ~1 ms handler',
    'req/s vs (a), trivial handler',
    ...(withRate ? [`p99 added at ${count(settings.fixedRate)} req/s, ~1 ms handler`] : []),
    'server CPU added per request, trivial handler',
  ];
  const rows = settings.configs
    .filter((c) => c !== 'a')
    .map((config) => [
      `(${config}) ${CONFIG_LABELS[config]}`,
      both((p) => `${fixed(results.summary(p, 'pg', config).rpsVsA * 100, 0)}%`),
      both((p) => `${fixed(results.summary(p, 'trivial', config).rpsVsA * 100, 0)}%`),
      ...(withRate
        ? [both((p) => `${signed(results.summary(p, 'pg-rate', config).p99AddedMs, 1)} ms`)]
        : []),
      both((p) => `${signed(results.summary(p, 'trivial', config).cpuAddedUs, 0)} µs`),
    ]);
  const base = [
    '(a) no audit (absolute figures)',
    both((p) => `${count(results.summary(p, 'pg', 'a').rps)} req/s`),
    both((p) => `${count(results.summary(p, 'trivial', 'a').rps)} req/s`),
    ...(withRate
      ? [both((p) => `p99 ${fixed(results.summary(p, 'pg-rate', 'a').p99Ms, 1)} ms`)]
      : []),
    both((p) => `${fixed(results.summary(p, 'trivial', 'a').cpuUs, 0)} µs`),
  ];
  return table(header, [base, ...rows]);
}

function detailTables(results: Results, settings: RunSettings): string[] {
  const lines: string[] = [];
  for (const platform of settings.platforms) {
    for (const kind of results.kinds()) {
      lines.push('', `### ${platformName(platform)}, ${cellTitle(kind, settings)}`, '');
      const rows = settings.configs.map((config) => {
        const s = results.summary(platform, kind, config);
        return [
          `(${config}) ${CONFIG_LABELS[config]}`,
          count(s.rps),
          `${count(s.rpsRange[0])}–${count(s.rpsRange[1])}`,
          `×${fixed(s.rpsVsA, 2)}`,
          fixed(s.p50Ms, 2),
          fixed(s.p99Ms, 2),
          config === 'a' ? '' : signed(s.p99AddedMs, 2),
          fixed(s.cpuUs, 0),
          config === 'a' ? '' : signed(s.cpuAddedUs, 0),
          fixed(s.pgCpuUs, 0),
          Number.isFinite(s.eventsPerCommit) ? fixed(s.eventsPerCommit, 1) : '',
          s.non2xx + s.errors === 0 ? '0' : `**${s.non2xx} / ${s.errors}**`,
        ];
      });
      lines.push(
        ...table(
          [
            'Configuration',
            'req/s',
            'req/s min–max',
            'req/s vs (a)',
            'p50 ms',
            'p99 ms',
            'p99 vs (a) ms',
            'server CPU µs/req',
            'CPU vs (a) µs/req',
            'PostgreSQL CPU µs/req',
            'events per commit',
            'non-2xx / errors',
          ],
          rows,
        ),
      );
    }
  }
  return lines;
}

function ingestTable(data: RunData): string[] {
  const rows: string[][] = [];
  for (const [target, rounds] of data.ingest) {
    const rates = rounds.map((r) => r.eventsPerS);
    const [low, high] = range(rates);
    rows.push([
      INGEST_LABELS[target],
      count(median(rates)),
      `${count(low)}–${count(high)}`,
      fixed(median(rounds.map((r) => r.batchMedianMs)), 2),
      fixed(Math.max(...rounds.map((r) => r.batchMaxMs)), 1),
    ]);
  }
  return table(
    [
      'Store',
      'events/s (median)',
      'min–max',
      `ms per ${INGEST_BATCH}-event append (median)`,
      'slowest append ms',
    ],
    rows,
  );
}

/** The whole results file, in Markdown. */
export function renderReport(data: RunData): string {
  const { settings, facts } = data;
  const results = new Results(data);
  const minutes = (facts.finishedAt.getTime() - facts.startedAt.getTime()) / 60_000;
  const verdicts = targets(results, settings);
  const kinds = results.kinds();
  const lines: string[] = [
    '# nestjs-audit benchmark: latest run',
    '',
    `Written by \`npm run bench\`; started ${facts.startedAt.toISOString()}, took ${fixed(minutes, 1)} min.`,
    '',
    '## Machine and versions',
    '',
    ...facts.machine.map((m) => `- ${m}`),
    ...facts.versions.map((v) => `- ${v}`),
    '',
    '## Settings',
    '',
    `- ${settings.rounds} interleaved rounds (BENCH_ROUNDS). In each round every configuration runs, in the order ${settings.configs.map((c) => `(${c})`).join(', ')}, its ${kinds.length} cells of ${settings.durationS} s each (BENCH_DURATION): ${kinds.map((k) => cellTitle(k, settings)).join('; ')}.`,
    `- Load at saturation: autocannon 8 (programmatic, in the driver process), ${settings.connections} connections (BENCH_CONNECTIONS), closed loop, POST of a 50-byte JSON body to 127.0.0.1. Load at a fixed rate: ${count(settings.fixedRate)} req/s (BENCH_RATE) evenly spaced, open loop, up to ${settings.connections} keep-alive connections, from a small node:http generator in the driver (autocannon's rate option spends a per-second quota in a burst at the start of every second, which measures saturation again); latency counts from each request's due time. Platforms: ${settings.platforms.map(platformName).join(', ')} (BENCH_PLATFORMS).`,
    `- Each configuration is its own Nest app in its own child process, kept up across rounds, warmed up for ${settings.warmupS} s per handler before round 1 (BENCH_WARMUP). After each cell the driver waits ${settings.settleMs} ms before reading CPU time, so work a cell queued (an async flush) is billed to it.`,
    "- Handlers: `POST /items` returns a small JSON (trivial); `POST /items/slow` first runs `SELECT pg_sleep(0.001)` through the app's own pg pool of 10 connections (~1 ms PostgreSQL query). Both are audited by the default scope ('mutations').",
    "- Log and audit lines go to /dev/null through an asynchronous sonic-boom destination in every configuration that writes them: (b) pino-http via nestjs-pino `LoggerModule.forRoot({ pinoHttp: [{ level: 'info' }, destination] })`, (c)–(e) nestjs-audit's ECS stream with `stream: '/dev/null'`. Formatting is paid for, the disk is not.",
    "- (c) `durability: 'async'` and (d) `'ack'` with the SQLite store given as a file path, so the module picks synchronous=NORMAL and FULL respectively; (e) `'ack'` with `PostgresAuditStore({ connectionString, schema })` (its own pool of 5) in a schema unique to the run, dropped at the end; (f) a hand-written global interceptor awaiting one `INSERT` per request (bigserial key, JSONB payload) through the app's pool. nestjs-audit otherwise runs with its defaults (`onStoreFailure: 'fail'`, `maxBatch: 100`).",
    '- Figures are medians over the rounds. "vs (a)" is the median of the per-round ratios (or differences) to the no-audit baseline of the same round, so that drift of this shared machine (±40% between identical runs) cancels as far as it can. Latency has a 10 µs resolution (autocannon\'s own histogram rounds to whole milliseconds, so its per-response times are used instead); 2xx responses only.',
    "- Server CPU is `process.cpuUsage()` (user + system) of the server process, read over IPC before and after each cell, per 2xx response. PostgreSQL CPU is utime+stime of every postgres process on the host from /proc, per 2xx response (other clients of that server count too, if there are any). Events per commit comes from the library's own counters (`AuditService.health()`: committed / commits) over the cell: how many events group commit put in one store transaction. With 2 cores shared by the server, PostgreSQL and the load generator, the saturation cells are CPU-bound: there, CPU per request decides throughput, and latency is mostly queueing.",
    '',
    '## Summary (README table)',
    '',
    ...readmeTable(results, settings),
    '',
    '## Targets of issue 3',
    '',
  ];
  for (const v of verdicts) {
    lines.push(`- **${verdictWord(v.met)}**: ${v.target}.`);
    for (const line of v.lines) lines.push(`  - ${line}`);
  }
  lines.push(
    '',
    '## Throughput, latency and CPU per configuration',
    ...detailTables(results, settings),
  );
  lines.push(
    '',
    '## Store ingest on its own',
    '',
    `In-process, no HTTP: ${count(settings.ingestEvents)} events per round (BENCH_INGEST_EVENTS), built beforehand like the interceptor builds an update's (mean ${count(data.meanEventBytes)} bytes of JSON), appended through the library's stores in batches of ${INGEST_BATCH}, one batch after the other (the pipeline's writer also runs one commit at a time). Median over ${settings.rounds} interleaved rounds.`,
    '',
    ...ingestTable(data),
    '',
    '## Event build on its own (issue 9)',
    '',
    ...eventBuildSection(data.eventBuild),
    '',
    '## A route that is not audited (issue 9)',
    '',
    ...unauditedRouteSection(data.unaudited),
  );
  if (data.rowChecks.length > 0) {
    lines.push(
      '',
      '## Did every configuration really write?',
      '',
      'Every 2xx answer must have its log line (b) or its row (c)–(f); a request still in flight when a cell stopped may add one that no client saw answered (at most the connection count per cell).',
      '',
      ...table(
        ['What', '2xx answers (warm-up included)', 'found', 'check'],
        data.rowChecks.map((c) => {
          const ok = c.rows >= c.answered && c.rows <= c.answered + c.inFlightSlack;
          return [c.what, count(c.answered), count(c.rows), ok ? 'ok' : '**MISMATCH**'];
        }),
      ),
    );
  }
  lines.push('');
  return lines.join('\n');
}
