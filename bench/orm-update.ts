/**
 * The ORM-path case of `npm run bench` on its own, in a few minutes, against PostgreSQL
 * (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test; a schema of its own, dropped
 * at the end): `npx tsc -p bench/tsconfig.json && node dist-bench/bench/orm-update.js`
 * (BENCH_ROUNDS rounds, BENCH_PLATFORMS platforms; BENCH_ORM_APPS=A,B,C by default; M
 * adds B with the in-memory store, and one app alone is for `node --cpu-prof`).
 */
import 'reflect-metadata';
import { PLATFORMS, type Platform } from './config';
import {
  DEFAULT_ORM_APPS,
  measureOrmUpdate,
  ORM_APPS,
  ormUpdateSection,
  type OrmApp,
} from './lib/orm-update';

const raw = process.env.BENCH_ROUNDS ?? '5';
const rounds = Number(raw);
const platforms = (process.env.BENCH_PLATFORMS ?? PLATFORMS.join(','))
  .split(',')
  .map((p) => p.trim())
  .filter((p): p is Platform => (PLATFORMS as readonly string[]).includes(p));
const apps = (process.env.BENCH_ORM_APPS ?? DEFAULT_ORM_APPS.join(','))
  .split(',')
  .map((a) => a.trim().toUpperCase())
  .filter((a): a is OrmApp => (ORM_APPS as readonly string[]).includes(a));
if (
  !Number.isInteger(rounds) ||
  rounds < 1 ||
  rounds > 50 ||
  platforms.length === 0 ||
  apps.length === 0
) {
  process.stderr.write(
    `BENCH_ROUNDS=${raw} / BENCH_PLATFORMS / BENCH_ORM_APPS: expected 1 to 50 rounds, express and/or fastify, and some of A, B, C, M.\n`,
  );
  process.exitCode = 1;
} else {
  measureOrmUpdate(platforms, rounds, { apps }).then(
    (results) => process.stdout.write(`${ormUpdateSection(results).join('\n')}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
