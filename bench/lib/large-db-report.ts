import { LARGE_DB_LABELS, type LargeDbResult } from './large-db';

function n(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : 'n/a';
}

/** The report section of the large-database measurement. */
export function largeDbSection(results: readonly LargeDbResult[], ingestEvents: number): string[] {
  if (results.length === 0) return ['Not measured (BENCH_LARGE_EVENTS=0).'];
  const first = results[0]!;
  const lines = [
    `In-process, no HTTP. Each store first gets ${n(first.events)} events through its own \`append()\` in batches of 5,000 (SQLite with synchronous=NORMAL for the build only): 10,000 actors, 100,000 records over 8 resource types, 32 actions, 50 tenants, outcomes 95% success / 4% failure / 1% unknown, UUIDv7 ids in time order over 180 days, mean ${n(first.payloadBytes)} bytes of event JSON. Then ${n(ingestEvents)} more events are appended in batches of 100, one after the other (BENCH_LARGE_INGEST), and every query filter runs with different values each time (limit 50, newest first); "last 7 days" adds \`from\`.`,
    '',
    '| Store | build s | events/s into the full database | slowest 100-event append ms | CPU µs per event: process (main thread) / PostgreSQL | bytes on disk per event | vs payload bytes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const cpu = r.ingestCpu;
    lines.push(
      `| ${LARGE_DB_LABELS[r.target]} | ${n(r.buildS)} | ${n(r.ingestEventsPerS)} | ${n(r.ingestBatchMaxMs, 1)} | ${n(cpu.process)} (${n(cpu.mainThread)}) / ${n(cpu.postgres)} | ${n(r.diskBytesPerEvent)} | ×${n(r.diskBytesPerEvent / r.payloadBytes, 2)} |`,
    );
  }
  const names = first.queries.map((q) => q.name);
  lines.push(
    '',
    `| Query | ${results.map((r) => `${LARGE_DB_LABELS[r.target].split(',')[0]} p50 ms (max)`).join(' | ')} | events returned (median) |`,
    `| --- | ${results.map(() => '---:').join(' | ')} | ---: |`,
  );
  for (const name of names) {
    const cells = results.map((r) => {
      const q = r.queries.find((x) => x.name === name);
      return q ? `${n(q.p50Ms, 2)} (${n(q.maxMs, 1)})` : 'n/a';
    });
    const rows = first.queries.find((x) => x.name === name)?.rows ?? Number.NaN;
    lines.push(`| ${name} | ${cells.join(' | ')} | ${n(rows)} |`);
  }
  lines.push('');
  for (const r of results) {
    lines.push(
      `- ${LARGE_DB_LABELS[r.target].split(',')[0]}: \`verifyChain()\` over the whole chain (${n(r.verify.events)} events) took ${n(r.verify.seconds, 1)} s and found it ${r.verify.intact ? 'intact' : '**broken**'} (issue 11's target: 1M events in under a minute: **${r.verify.intact && r.verify.seconds < 60 && r.verify.events >= 1_000_000 ? 'met' : r.verify.events < 1_000_000 ? 'not measured at 1M' : 'not met'}**).`,
    );
  }
  return lines;
}
