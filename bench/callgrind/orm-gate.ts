/**
 * Instructions per request of the ORM bench's apps (`bench/lib/orm-update.ts`) under callgrind:
 * `npx tsc -p bench/tsconfig.json && CG_ORM_APPS=A,B,M node dist-bench/bench/callgrind/orm-gate.js`.
 * Prints, per app, the main thread's instructions per audited update outside V8's collector and
 * compilers, the collector's, and every other thread's (the SQLite store's worker), so that what
 * auditing adds can be split without wall-clock noise. PostgreSQL's own work is not counted (another process).
 * CG_REQUESTS (300), CG_WARMUP (1500), CG_CONCURRENCY (10), BENCH_PG_URL; CG_KEEP=1 keeps the
 * callgrind files for callgrind_annotate.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORM_APPS, type OrmApp } from '../lib/orm-update';
import { collectorShare } from './collector-share';
import { CallgrindProcess, checkValgrind, STABLE_NODE_FLAGS } from './valgrind';

const TARGET = join(__dirname, 'orm-target.js');

async function measure(app: OrmApp, dir: string, requests: number): Promise<string> {
  const proc = CallgrindProcess.start(
    TARGET,
    [
      '--expose-gc',
      ...STABLE_NODE_FLAGS,
      ...(process.env.CG_EXTRA_FLAGS ?? '').split(/\s+/).filter(Boolean),
    ],
    {
      CG_ORM_APP: app,
      CG_PG_URL: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      CG_WARMUP: process.env.CG_WARMUP ?? '1500',
      CG_REQUESTS: String(requests),
      CG_CONCURRENCY: process.env.CG_CONCURRENCY ?? '10',
      CG_SQLITE_PATH: join(dir, `${app}-${process.hrtime.bigint()}.db`),
    },
    dir,
    app,
  );
  try {
    await proc.expectLine('READY patch');
    await proc.startCounting();
    proc.send('GO');
    await proc.expectLine('DONE patch');
    const before = new Set(readdirSync(dir));
    const main = await proc.stopCounting();
    const others = readdirSync(dir).filter(
      (f) => f.startsWith(`cg.${app}.${proc.pid}.`) && !f.endsWith('-01') && !before.has(f),
    );
    let other = 0;
    for (const f of others) other += collectorShare(join(dir, f)).total;
    proc.send('NEXT');
    await proc.expectLine('END');
    await proc.exit(60_000);
    const per = (n: number): string => Math.round(n / requests).toLocaleString('en-US');
    return `| ${app} | ${per(main.total - main.collector - main.compiler)} | ${per(main.collector)} | ${per(other)} |`;
  } finally {
    proc.kill();
  }
}

async function main(): Promise<void> {
  await checkValgrind();
  const apps = (process.env.CG_ORM_APPS ?? 'A,B,M')
    .split(',')
    .map((a) => a.trim().toUpperCase())
    .filter((a): a is OrmApp => (ORM_APPS as readonly string[]).includes(a));
  const requests = Number(process.env.CG_REQUESTS ?? '300');
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-audit-orm-callgrind-'));
  try {
    const rows: string[] = [];
    for (const app of apps) {
      rows.push(await measure(app, dir, requests));
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
    process.stdout.write(
      [
        '| App | main thread (outside GC and compilers) | GC | other threads |',
        '| --- | --- | --- | --- |',
        ...rows,
        '',
      ].join('\n'),
    );
  } finally {
    if (process.env.CG_KEEP === '1') process.stderr.write(`callgrind files kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
