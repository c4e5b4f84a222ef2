import { CONFIG_LABELS, type CellKind, type ConfigId, type Platform } from '../config';
import { LARGE_DB_LABELS } from './large-db';
import { median, range } from './stats';
import {
  cellTitle,
  count,
  fixed,
  pairKey,
  platformName,
  signed,
  type Results,
  type RunData,
  type RunSettings,
} from './summary';

/** One target of issue 10 and the checks behind its verdict. */
export interface Verdict {
  target: string;
  lines: string[];
  met: boolean | undefined;
}

/** MET, NOT MET or NOT MEASURED. */
export function verdictWord(met: boolean | undefined): string {
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

function name(p: Platform, c: ConfigId): string {
  return `${platformName(p)}, (${c}) ${CONFIG_LABELS[c]}`;
}

/** Unaudited route: throughput (server GET cell) and instructions (callgrind). */
function unauditedTargets(results: Results, data: RunData): Verdict[] {
  const { settings, instructions } = data;
  const audits = (['c', 'd', 'e'] as const).filter((c) => results.has(c));
  const rps = verdict(
    'An unaudited route keeps ≥ 0.97× the throughput of the app without the module (GET at saturation, after audited requests)',
    audits.length > 0,
  );
  for (const platform of settings.platforms) {
    for (const config of audits) {
      const rounds = results.summary(platform, 'get', config).rpsVsA;
      const pairs = data.getPairs.get(pairKey(platform, config)) ?? [];
      if (pairs.length === 0) {
        note(rps, rounds >= 0.97, `${name(platform, config)}: ×${fixed(rounds, 3)} of (a)`);
        continue;
      }
      // The paired cells decide: the rounds' GET cells are minutes apart, the pairs seconds.
      const ratios = pairs.map((p) => p.withModule.rps / p.baseline.rps);
      const cpu = pairs.map((p) => p.withModule.mainCpuUsPerReq / p.baseline.mainCpuUsPerReq);
      const [low, high] = range(ratios);
      note(
        rps,
        median(ratios) >= 0.97,
        `${name(platform, config)}: ×${fixed(median(ratios), 3)} of (a), median of ${pairs.length} paired cells (${fixed(low, 2)}–${fixed(high, 2)}; main-thread CPU per GET ×${fixed(median(cpu), 3)})`,
      );
      rps.lines.push(`for reference, the rounds' GET cells of (${config}): ×${fixed(rounds, 3)}`);
    }
  }
  for (const [platform, rounds] of data.unaudited) {
    // The in-process measurement of issue 9, for reference: CPU, not throughput.
    const ratio = median(rounds.map((r) => r.withModuleMicros / r.baselineMicros));
    rps.lines.push(
      `for reference, ${platformName(platform)} in-process (light-my-request) CPU per unaudited request: ×${fixed(ratio, 3)} of the app without the module`,
    );
  }
  const ins = verdict(
    'An unaudited route costs ≤ 1.03× the instructions of the app without the module (callgrind, Fastify inject)',
    instructions?.['audit-get'] !== undefined && instructions['plain-get'] !== undefined,
  );
  if (ins.met !== undefined) {
    const ratio = instructions!['audit-get']! / instructions!['plain-get']!;
    note(
      ins,
      ratio <= 1.03,
      `${count(instructions!['audit-get']!)} vs ${count(instructions!['plain-get']!)} instructions per request: ×${fixed(ratio, 3)}`,
    );
  }
  ins.lines.push(
    'through inject(), which leaves out Node’s socket and HTTP code; over a real socket, before and after audited requests: node dist-bench/bench/callgrind/socket-reads.js',
  );
  return [rps, ins];
}

/** The audited update's own cost: main-thread CPU added, and against nestjs-pino. */
function costTargets(results: Results, data: RunData): Verdict[] {
  const { settings, instructions } = data;
  const acks = (['d', 'e'] as const).filter((c) => results.has(c));
  const kinds: CellKind[] = settings.fixedRate > 0 ? ['trivial', 'pg-rate'] : ['trivial'];
  const cpu = verdict(
    `An audited 'ack' update with a ~1.3 KB state adds ≤ 40 µs of main-thread CPU per request (at saturation and at ${count(settings.fixedRate)} req/s)`,
    acks.length > 0,
  );
  for (const platform of settings.platforms) {
    for (const kind of kinds) {
      for (const config of acks) {
        const s = results.summary(platform, kind, config);
        note(
          cpu,
          s.mainCpuAddedUs <= 40,
          `${name(platform, config)}, ${cellTitle(kind, settings)}: ${signed(s.mainCpuAddedUs, 0)} µs main thread (${signed(s.cpuAddedUs, 0)} µs whole process)`,
        );
      }
    }
  }
  const ins = verdict(
    "An audited 'ack' update costs ≤ nestjs-pino request logging's instructions per request (callgrind, Fastify inject)",
    instructions?.['audit-patch'] !== undefined && instructions['pino-patch'] !== undefined,
  );
  if (ins.met !== undefined) {
    const ratio = instructions!['audit-patch']! / instructions!['pino-patch']!;
    note(
      ins,
      ratio <= 1,
      `${count(instructions!['audit-patch']!)} vs ${count(instructions!['pino-patch']!)}: ×${fixed(ratio, 2)} of nestjs-pino`,
    );
  }
  const vsPino = verdict(
    `An audited 'ack' update uses ≤ the server CPU of nestjs-pino request logging (b) (at saturation and at ${count(settings.fixedRate)} req/s; per-round ratio)`,
    acks.length > 0 && results.has('b'),
  );
  if (vsPino.met !== undefined) {
    for (const platform of settings.platforms) {
      for (const kind of kinds) {
        for (const config of acks) {
          const ratio = results.versus(platform, kind, config, 'b', (r) => r.cpuUsPerReq);
          note(
            vsPino,
            ratio <= 1,
            `${name(platform, config)}, ${kind}: ×${fixed(ratio, 2)} of (b)`,
          );
        }
      }
    }
  }
  return [cpu, ins, vsPino];
}

/** The ~1 ms handler: throughput, p99 at the fixed rate, event-loop stalls. */
function slowHandlerTargets(results: Results, settings: RunSettings): Verdict[] {
  const acks = (['d', 'e'] as const).filter((c) => results.has(c));
  const withRate = settings.fixedRate > 0;
  const rps = verdict(
    "With the ~1 ms handler, 'ack' keeps ≥ 0.90× the baseline's throughput (at saturation)",
    acks.length > 0,
  );
  const p99 = verdict(
    `With the ~1 ms handler, 'ack' adds ≤ 2 ms to p99 at a fixed ${count(settings.fixedRate)} req/s (${settings.rateDurationS} s cells)`,
    acks.length > 0 && withRate,
  );
  const stall = verdict(
    "With the ~1 ms handler, 'ack' has no event-loop stall > 5 ms (largest delay of any round, and the p99, per configuration)",
    acks.length > 0,
  );
  const stallKinds: CellKind[] = withRate ? ['pg-rate', 'pg'] : ['pg'];
  for (const platform of settings.platforms) {
    for (const config of acks) {
      const max = results.summary(platform, 'pg', config);
      note(rps, max.rpsVsA >= 0.9, `${name(platform, config)}: ×${fixed(max.rpsVsA, 2)} of (a)`);
      if (withRate) {
        const rate = results.summary(platform, 'pg-rate', config);
        const base = results.summary(platform, 'pg-rate', 'a');
        note(
          p99,
          rate.p99AddedMs <= 2,
          `${name(platform, config)}: p99 ${fixed(rate.p99Ms, 2)} ms vs (a) ${fixed(base.p99Ms, 2)} ms, ${signed(rate.p99AddedMs, 2)} ms`,
        );
      }
      for (const kind of stallKinds) {
        const s = results.summary(platform, kind, config);
        const a = results.summary(platform, kind, 'a');
        note(
          stall,
          s.loopMaxMs <= 5 && s.loopP99Ms <= 5,
          `${name(platform, config)}, ${kind}: max ${fixed(s.loopMaxMs, 1)} ms, p99 ${fixed(s.loopP99Ms, 1)} ms (baseline (a): max ${fixed(a.loopMaxMs, 1)}, p99 ${fixed(a.loopP99Ms, 1)})`,
        );
      }
    }
  }
  return [rps, p99, stall];
}

/** PostgreSQL: (e) against the naive interceptor (f). */
function naiveTargets(results: Results, settings: RunSettings): Verdict[] {
  const both = results.has('e') && results.has('f');
  const cpu = verdict(
    "'ack' + PostgreSQL (e) costs PostgreSQL ≤ ⅓ of the CPU per audited request of the naive interceptor (f)",
    both,
  );
  const rps = verdict(
    "'ack' + PostgreSQL (e) has ≥ 1.5× the throughput of the naive interceptor (f) (at saturation)",
    both,
  );
  if (!both) return [cpu, rps];
  for (const platform of settings.platforms) {
    for (const kind of results.kinds().filter((k) => k !== 'get')) {
      const e = results.summary(platform, kind, 'e');
      const f = results.summary(platform, kind, 'f');
      note(
        cpu,
        e.pgCpuUs <= f.pgCpuUs / 3,
        `${platformName(platform)}, ${kind}: (e) ${fixed(e.pgCpuUs, 0)} µs vs (f) ${fixed(f.pgCpuUs, 0)} µs = ×${fixed(e.pgCpuUs / f.pgCpuUs, 2)}`,
      );
      if (kind === 'pg-rate') continue;
      const ratio = results.versus(platform, kind, 'e', 'f', (r) => r.rps);
      note(
        rps,
        ratio >= 1.5,
        `${platformName(platform)}, ${kind}: (e) ${count(e.rps)} req/s vs (f) ${count(f.rps)} req/s = ×${fixed(ratio, 2)}`,
      );
    }
  }
  return [cpu, rps];
}

/** The stores at a million events. */
function largeDbTargets(data: RunData): Verdict[] {
  const sqlite = data.largeDb.find((r) => r.target === 'sqlite');
  const pg = data.largeDb.find((r) => r.target === 'postgres');
  const at = `at ${count(data.settings.largeEvents)} events`;
  const bytes = verdict(`SQLite keeps ≤ 1.5× the payload bytes per event on disk ${at}`, !!sqlite);
  const sIngest = verdict(
    `SQLite ingests ≥ 20,000 events/s ${at} (FULL, batches of 100)`,
    !!sqlite,
  );
  const pIngest = verdict(`PostgreSQL ingests ≥ 18,000 events/s ${at} (batches of 100)`, !!pg);
  const queries = verdict(
    `Every query filter (alone and with 7 days) and history() answer in p50 ≤ 1 ms on SQLite and ≤ 5 ms on PostgreSQL ${at}`,
    data.largeDb.length > 0,
  );
  if (sqlite) {
    const ratio = sqlite.diskBytesPerEvent / sqlite.payloadBytes;
    note(
      bytes,
      ratio <= 1.5,
      `${count(sqlite.diskBytesPerEvent)} bytes per event for ${count(sqlite.payloadBytes)} bytes of payload: ×${fixed(ratio, 2)}`,
    );
    note(sIngest, sqlite.ingestEventsPerS >= 20_000, `${count(sqlite.ingestEventsPerS)} events/s`);
  }
  if (pg) note(pIngest, pg.ingestEventsPerS >= 18_000, `${count(pg.ingestEventsPerS)} events/s`);
  for (const r of data.largeDb) {
    const limit = r.target === 'sqlite' ? 1 : 5;
    const slow = r.queries.filter((q) => !(q.p50Ms <= limit));
    note(
      queries,
      slow.length === 0,
      `${LARGE_DB_LABELS[r.target]}: ${slow.length === 0 ? `all ${r.queries.length} within ${limit} ms` : slow.map((q) => `${q.name} ${fixed(q.p50Ms, 2)} ms`).join('; ')}`,
    );
  }
  return [bytes, sIngest, pIngest, queries];
}

/** Every target of issue 10, checked against this run's figures. */
export function issue10Targets(results: Results, data: RunData): Verdict[] {
  return [
    ...unauditedTargets(results, data),
    ...costTargets(results, data),
    ...slowHandlerTargets(results, data.settings),
    ...naiveTargets(results, data.settings),
    ...largeDbTargets(data),
  ];
}
