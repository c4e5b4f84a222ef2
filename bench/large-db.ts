/**
 * The large-database case of `npm run bench` on its own: a store filled with BENCH_LARGE_EVENTS
 * events (default 1,000,000), then ingest into it, every query filter and history() timed.
 * `npx tsc -p bench/tsconfig.json && node dist-bench/bench/large-db.js`; needs PostgreSQL unless
 * BENCH_LARGE_STORES=sqlite. A few minutes at the default size; 200000 events is a quick look.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LARGE_DB_TARGETS, measureLargeDb, type LargeDbTarget } from './lib/large-db';
import { largeDbSection } from './lib/large-db-report';
import { dropBenchSchema, uniqueSchemaName, withClient } from './lib/postgres';

function int(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name}: expected a positive whole number`);
  return value;
}

async function main(): Promise<void> {
  const targets = (process.env.BENCH_LARGE_STORES ?? LARGE_DB_TARGETS.join(','))
    .split(',')
    .map((t) => t.trim())
    .filter((t): t is LargeDbTarget => (LARGE_DB_TARGETS as readonly string[]).includes(t));
  const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-large-'));
  const pgSchema = uniqueSchemaName();
  const ingestEvents = int('BENCH_LARGE_INGEST', 20_000);
  try {
    if (targets.includes('postgres')) {
      await withClient(pgUrl, (client) => client.query(`CREATE SCHEMA "${pgSchema}"`));
    }
    const results = await measureLargeDb(
      {
        events: int('BENCH_LARGE_EVENTS', 1_000_000),
        ingestEvents,
        queryRuns: int('BENCH_LARGE_QUERIES', 30),
        targets,
        dir,
        pgUrl,
        pgSchema,
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    process.stdout.write(`${largeDbSection(results, ingestEvents).join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (targets.includes('postgres')) await dropBenchSchema(pgUrl, pgSchema);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
