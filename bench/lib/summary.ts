import {
  CELL_KINDS,
  CELLS,
  HANDLERS,
  type CellKind,
  type ConfigId,
  type Platform,
} from '../config';
import type { Counts } from '../callgrind/gate-report';
import type { ChainCostCase, ChainCostRound } from './chain-cost';
import type { EventBuildCase, EventBuildRound } from './event-build';
import type { IngestRound, IngestTarget } from './ingest';
import type { LargeDbResult } from './large-db';
import { median, range } from './stats';
import type { UnauditedRound } from './unaudited-route';

/**
 * The run's data and its per-configuration summaries, shared by the report and the targets.
 */

export interface CellRound {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the server process per 2xx response, in µs. */
  cpuUsPerReq: number;
  /** CPU time of the server's main thread per 2xx response, in µs (NaN without /proc). */
  mainCpuUsPerReq: number;
  /** Largest and 99th-percentile event-loop delay of the server during the cell, in ms. */
  loopMaxMs: number;
  loopP99Ms: number;
  /** CPU time of all PostgreSQL processes per 2xx response, in µs (undefined without /proc). */
  pgCpuUsPerReq: number | undefined;
  /** Events per store transaction of nestjs-audit ((c)–(e)): what group commit achieved. */
  eventsPerCommit: number | undefined;
  ok: number;
  non2xx: number;
  errors: number;
}

/** The settings a run was made with (what the report states). */
export interface RunSettings {
  /** Seconds per saturation cell. */
  durationS: number;
  /** Seconds per fixed-rate cell (longer: its p99 needs more samples). */
  rateDurationS: number;
  rounds: number;
  connections: number;
  warmupS: number;
  /** Requests per second of the fixed-rate cells; 0 leaves them out. */
  fixedRate: number;
  settleMs: number;
  /** Paired unaudited-GET cells per configuration with the module, after the rounds (0: none). */
  getPairs: number;
  /** Seconds per cell of a GET pair. */
  getPairDurationS: number;
  platforms: readonly Platform[];
  configs: readonly ConfigId[];
  ingestEvents: number;
  /** Events in the large database (0: not measured). */
  largeEvents: number;
  largeIngest: number;
}

/** When and where the run was made. */
export interface RunFacts {
  startedAt: Date;
  finishedAt: Date;
  machine: string[];
  versions: string[];
}

/** One configuration's written rows (or log lines) against its 2xx answers. */
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

/** Everything the report is made of. */
export interface RunData {
  settings: RunSettings;
  facts: RunFacts;
  /** Keyed by {@link cellKey}; one entry per round, in round order. */
  http: ReadonlyMap<string, readonly CellRound[]>;
  ingest: ReadonlyMap<IngestTarget, readonly IngestRound[]>;
  meanEventBytes: number;
  /** Event build times (issue 9), by case, one entry per round. */
  eventBuild: ReadonlyMap<EventBuildCase, readonly EventBuildRound[]>;
  /** The hash chain's cost per event (issue 11), by case, one entry per round. */
  chainCost: ReadonlyMap<ChainCostCase, readonly ChainCostRound[]>;
  /**
   * Unaudited GET cells run back to back, the app without the module and one with it, keyed by
   * {@link pairKey}: the throughput of issue 10's first target, compared within seconds.
   */
  getPairs: ReadonlyMap<string, readonly GetPair[]>;
  /** CPU per request of a route that is not audited, with and without the module (issue 9). */
  unaudited: ReadonlyMap<Platform, readonly UnauditedRound[]>;
  rowChecks: readonly RowCheck[];
  /** The large-database measurement (issue 10), one result per store. */
  largeDb: readonly LargeDbResult[];
  /** Instructions per request from callgrind (issue 10), when measured in this run. */
  instructions: Counts | undefined;
}

/** Two unaudited-GET cells, one right after the other: (a) and a configuration with the module. */
export interface GetPair {
  baseline: CellRound;
  withModule: CellRound;
}

/** Key of a configuration's pairs in {@link RunData.getPairs}. */
export function pairKey(platform: Platform, config: ConfigId): string {
  return `${platform}|${config}`;
}

/** Key of a cell's rounds in {@link RunData.http}. */
export function cellKey(platform: Platform, kind: CellKind, config: ConfigId): string {
  return `${platform}|${kind}|${config}`;
}

/** Medians of one configuration, and its ratios to (a) taken round by round. */
export interface Summary {
  rps: number;
  rpsRange: [number, number];
  rpsVsA: number;
  p50Ms: number;
  p99Ms: number;
  p99AddedMs: number;
  cpuUs: number;
  cpuVsA: number;
  cpuAddedUs: number;
  mainCpuUs: number;
  mainCpuAddedUs: number;
  /** Largest event-loop delay of any round, and the median of the rounds' p99, in ms. */
  loopMaxMs: number;
  loopP99Ms: number;
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
export function paired(
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

/** Medians of a configuration's rounds, and its per-round ratios to the baseline's. */
export function summarize(rounds: readonly CellRound[], base: readonly CellRound[]): Summary {
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
    mainCpuUs: median(rounds.map((r) => r.mainCpuUsPerReq)),
    mainCpuAddedUs: paired(rounds, base, (x, b) => x.mainCpuUsPerReq - b.mainCpuUsPerReq),
    loopMaxMs: Math.max(...rounds.map((r) => r.loopMaxMs)),
    loopP99Ms: median(rounds.map((r) => r.loopP99Ms)),
    pgCpuUs: median(rounds.map((r) => r.pgCpuUsPerReq ?? Number.NaN)),
    eventsPerCommit: median(rounds.map((r) => r.eventsPerCommit ?? Number.NaN)),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** `value` with `digits` decimals, or n/a. */
export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** `value` with its sign (+ or −), or n/a. */
export function signed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
}

/** A whole number with thousands separators, or n/a. */
export function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Express or Fastify. */
export function platformName(platform: Platform): string {
  return platform === 'express' ? 'Express' : 'Fastify';
}

/** A Markdown table, numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

/** The run's cells, with summaries and ratios between configurations. */
export class Results {
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

/** What a cell is, in words. */
export function cellTitle(kind: CellKind, settings: RunSettings): string {
  const cell = CELLS[kind];
  const handler = `${HANDLERS[cell.handler].label} handler`;
  return cell.fixedRate
    ? `${handler} at a fixed ${count(settings.fixedRate)} req/s`
    : `${handler} at saturation (${settings.connections} connections, closed loop)`;
}
