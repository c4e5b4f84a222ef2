import { CONFIG_LABELS, type CellKind, type ConfigId, type Platform } from '../config';
import { CASE_LABELS, CASES, type Counts } from '../callgrind/gate-report';
import { chainCostSection } from './chain-cost';
import { eventBuildSection } from './event-build';
import { INGEST_BATCH, INGEST_LABELS } from './ingest';
import { largeDbSection } from './large-db-report';
import { median, range } from './stats';
import {
  cellTitle,
  count,
  fixed,
  platformName,
  Results,
  signed,
  table,
  type RunData,
  type RunSettings,
  type Summary,
} from './summary';
import { issue10Targets, verdictWord } from './targets';
import { unauditedRouteSection } from './unaudited-route';

export {
  cellKey,
  type CellRound,
  type GetPair,
  type RowCheck,
  type RunData,
  type RunFacts,
  type RunSettings,
} from './summary';

/** The compact table meant for the README: ratios and added costs, platforms side by side. */
function readmeTable(results: Results, data: RunData): string[] {
  const settings = data.settings;
  const both = (f: (p: Platform) => string): string => settings.platforms.map(f).join(' / ');
  const withRate = settings.fixedRate > 0;
  const rate = count(settings.fixedRate);
  const s = (p: Platform, k: CellKind, c: ConfigId): Summary => results.summary(p, k, c);
  const header = [
    `Configuration (${settings.platforms.map(platformName).join(' / ')})`,
    'req/s vs (a), ~1 ms handler',
    'req/s vs (a), trivial handler',
    'req/s vs (a), unaudited GET',
    ...(withRate ? [`p99 added at ${rate} req/s, ~1 ms handler`] : []),
    'CPU added per request at saturation, trivial handler: main thread (process)',
    ...(withRate ? [`CPU added per request at ${rate} req/s: main thread (process)`] : []),
    `event-loop delay max / p99 ms, ~1 ms handler${withRate ? ` at ${rate} req/s` : ''}`,
  ];
  const loopKind: CellKind = withRate ? 'pg-rate' : 'pg';
  const cpu = (p: Platform, k: CellKind, c: ConfigId): string =>
    `${signed(s(p, k, c).mainCpuAddedUs, 0)} (${signed(s(p, k, c).cpuAddedUs, 0)}) µs`;
  const loop = (p: Platform, c: ConfigId): string =>
    `${fixed(s(p, loopKind, c).loopMaxMs, 1)} / ${fixed(s(p, loopKind, c).loopP99Ms, 1)}`;
  const rows = settings.configs
    .filter((c) => c !== 'a')
    .map((c) => [
      `(${c}) ${CONFIG_LABELS[c]}`,
      both((p) => `${fixed(s(p, 'pg', c).rpsVsA * 100, 0)}%`),
      both((p) => `${fixed(s(p, 'trivial', c).rpsVsA * 100, 0)}%`),
      both((p) => `${fixed(s(p, 'get', c).rpsVsA * 100, 0)}%`),
      ...(withRate ? [both((p) => `${signed(s(p, 'pg-rate', c).p99AddedMs, 1)} ms`)] : []),
      both((p) => cpu(p, 'trivial', c)),
      ...(withRate ? [both((p) => cpu(p, 'pg-rate', c))] : []),
      both((p) => loop(p, c)),
    ]);
  const abs = (p: Platform, k: CellKind): string =>
    `${fixed(s(p, k, 'a').mainCpuUs, 0)} (${fixed(s(p, k, 'a').cpuUs, 0)}) µs`;
  const base = [
    '(a) no audit (absolute figures)',
    both((p) => `${count(s(p, 'pg', 'a').rps)} req/s`),
    both((p) => `${count(s(p, 'trivial', 'a').rps)} req/s`),
    both((p) => `${count(s(p, 'get', 'a').rps)} req/s`),
    ...(withRate ? [both((p) => `p99 ${fixed(s(p, 'pg-rate', 'a').p99Ms, 1)} ms`)] : []),
    both((p) => abs(p, 'trivial')),
    ...(withRate ? [both((p) => abs(p, 'pg-rate'))] : []),
    both((p) => loop(p, 'a')),
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
          fixed(s.mainCpuUs, 0),
          config === 'a' ? '' : signed(s.mainCpuAddedUs, 0),
          `${fixed(s.loopMaxMs, 1)} / ${fixed(s.loopP99Ms, 1)}`,
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
            'main thread CPU µs/req',
            'main thread vs (a)',
            'loop delay max / p99 ms',
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

function settingsLines(data: RunData, kinds: readonly CellKind[]): string[] {
  const { settings } = data;
  const rate = count(settings.fixedRate);
  return [
    `- ${settings.rounds} interleaved rounds (BENCH_ROUNDS). In each round every configuration runs, in the order ${settings.configs.map((c) => `(${c})`).join(', ')}, its ${kinds.length} cells: ${kinds.map((k) => cellTitle(k, settings)).join('; ')}. Saturation cells last ${settings.durationS} s (BENCH_DURATION), fixed-rate cells ${settings.rateDurationS} s (BENCH_RATE_DURATION: their p99 needs the samples). The unaudited GET runs last in each round, after the audited cells.`,
    ...(settings.getPairs > 0
      ? [
          `- After the rounds, ${settings.getPairs} pairs of unaudited-GET cells of ${settings.getPairDurationS} s (BENCH_GET_PAIRS, BENCH_GET_PAIR_DURATION) for each configuration with the module: (a)'s cell and that configuration's, one right after the other, the first of each pair alternating. The GET throughput target is judged on the median of the pairs' ratios: cells seconds apart see the same state of the machine, cells of different rounds do not.`,
        ]
      : []),
    `- Load at saturation: autocannon 8 (programmatic, in the driver process), ${settings.connections} connections (BENCH_CONNECTIONS), closed loop, to 127.0.0.1. Load at a fixed rate: ${rate} req/s (BENCH_RATE) evenly spaced, open loop, up to ${settings.connections} keep-alive connections, from a small node:http generator in the driver (autocannon's rate option spends a per-second quota in a burst at the start of every second); latency counts from each request's due time. Platforms: ${settings.platforms.map(platformName).join(', ')} (BENCH_PLATFORMS).`,
    `- Each configuration is its own Nest app in its own child process, kept up across rounds, warmed up for ${settings.warmupS} s per saturation cell before round 1 (BENCH_WARMUP). After each cell the driver waits ${settings.settleMs} ms before reading CPU time, so work a cell queued (an async flush) is billed to it.`,
    "- Handlers: `PATCH /items/7` (trivial update) and `PATCH /items/7/slow` (first `SELECT pg_sleep(0.001)` through the app's own pg pool of 10 connections), both `@Audited('item', { load: ItemLoader })` with a loader returning the item's ~1.3 KB state before and after (an event of ~3 KB with before, after and diff); `GET /items/7` is not audited by the default scope ('mutations'). Without the module the decorator does nothing.",
    "- Log and audit lines go to /dev/null through an asynchronous sonic-boom destination in every configuration that writes them: (b) pino-http via nestjs-pino, (c)–(e) nestjs-audit's ECS stream with `stream: '/dev/null'`. Formatting is paid for, the disk is not.",
    "- (c) `durability: 'async'` and (d) `'ack'` with the SQLite store given as a file path (synchronous=NORMAL and FULL); (e) `'ack'` with `PostgresAuditStore` (its own pool of 5) in a schema unique to the run; (f) a hand-written global interceptor awaiting one `INSERT` per update (bigserial key, JSONB payload of body and result) through a pool of its own, also of 5: (e) and (f) get the same connections for audit writes.",
    '- Figures are medians over the rounds. "vs (a)" is the median of the per-round ratios (or differences) to the no-audit baseline of the same round, so that drift of this shared machine (±40% between identical runs) cancels as far as it can. Latency has a 10 µs resolution; 2xx responses only.',
    "- Server CPU is `process.cpuUsage()` (every thread) of the server process and the main thread's own from `/proc/thread-self/schedstat`, read over IPC before and after each cell, per 2xx response. Event-loop delay is `perf_hooks.monitorEventLoopDelay` (1 ms resolution) in the server, reset at the start of each cell: it shows what CPU time cannot, such as a commit waiting for fsync on the main thread. PostgreSQL CPU is utime+stime of every postgres process on the host from /proc, per 2xx response. Events per commit is committed / commits from `AuditService.health()` over the cell.",
  ];
}

/** The whole results file, in Markdown. */
export function renderReport(data: RunData): string {
  const { settings, facts } = data;
  const results = new Results(data);
  const minutes = (facts.finishedAt.getTime() - facts.startedAt.getTime()) / 60_000;
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
    ...settingsLines(data, results.kinds()),
    '',
    '## Summary (README table)',
    '',
    ...readmeTable(results, data),
    '',
    '## Targets of issue 10',
    '',
  ];
  for (const v of issue10Targets(results, data)) {
    lines.push(`- **${verdictWord(v.met)}**: ${v.target}.`);
    for (const line of v.lines) lines.push(`  - ${line}`);
  }
  lines.push(
    '',
    '## Throughput, latency and CPU per configuration',
    ...detailTables(results, settings),
    '',
    `## The stores at ${count(settings.largeEvents)} events`,
    '',
    ...largeDbSection(data.largeDb, settings.largeIngest),
    '',
    '## Instructions per request (callgrind)',
    '',
    ...instructionLines(data.instructions),
    '',
    '## Store ingest into an empty database',
    '',
    `In-process, no HTTP: ${count(settings.ingestEvents)} events per round (BENCH_INGEST_EVENTS), built like the interceptor builds an update's (mean ${count(data.meanEventBytes)} bytes of JSON), appended in batches of ${INGEST_BATCH}, one batch after the other. Median over ${settings.rounds} interleaved rounds. The same at a million events is above.`,
    '',
    ...ingestTable(data),
    '',
    '## Event build on its own (issue 9)',
    '',
    ...eventBuildSection(data.eventBuild),
    '',
    '## The hash chain per event (issue 11)',
    '',
    ...chainCostSection(data.chainCost),
    '',
    '## A route that is not audited, in-process (issue 9)',
    '',
    ...unauditedRouteSection(data.unaudited),
    ...rowCheckLines(data),
    '',
  );
  return lines.join('\n');
}

function instructionLines(counts: Counts | undefined): string[] {
  if (!counts) {
    return [
      'Not measured in this run (BENCH_CALLGRIND=0 or valgrind missing): `npm run bench:instructions`.',
    ];
  }
  return [
    "Main-thread instructions per request outside V8's garbage collector, under callgrind, in-process on Fastify through `inject()`: the CI gate's measurement (`npm run bench:instructions`, bench/README.md, which also shows the collector's share).",
    '',
    ...table(
      ['Case', 'instructions/request (outside the collector)'],
      CASES.filter((c) => counts[c] !== undefined).map((c) => [CASE_LABELS[c], count(counts[c]!)]),
    ),
  ];
}

function rowCheckLines(data: RunData): string[] {
  if (data.rowChecks.length === 0) return [];
  return [
    '',
    '## Did every configuration really write?',
    '',
    'Every 2xx answer of an update must have its row (c)–(f), every 2xx answer its log line (b); a request still in flight when a cell stopped may add one that no client saw answered (at most the connection count per cell).',
    '',
    ...table(
      ['What', '2xx answers (warm-up included)', 'found', 'check'],
      data.rowChecks.map((c) => {
        const ok = c.rows >= c.answered && c.rows <= c.answered + c.inFlightSlack;
        return [c.what, count(c.answered), count(c.rows), ok ? 'ok' : '**MISMATCH**'];
      }),
    ),
  ];
}
