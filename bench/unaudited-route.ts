/**
 * The unaudited-route case of `npm run bench` on its own, in under a minute and without
 * PostgreSQL: `npx tsc -p bench/tsconfig.json && node dist-bench/bench/unaudited-route.js`
 * (BENCH_ROUNDS rounds, BENCH_PLATFORMS platforms).
 */
import 'reflect-metadata';
import { PLATFORMS, type Platform } from './config';
import { measureUnauditedRoute, unauditedRouteSection } from './lib/unaudited-route';

const raw = process.env.BENCH_ROUNDS ?? '5';
const rounds = Number(raw);
const platforms = (process.env.BENCH_PLATFORMS ?? PLATFORMS.join(','))
  .split(',')
  .map((p) => p.trim())
  .filter((p): p is Platform => (PLATFORMS as readonly string[]).includes(p));
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50 || platforms.length === 0) {
  process.stderr.write(
    `BENCH_ROUNDS=${raw} / BENCH_PLATFORMS: expected 1 to 50 rounds and express and/or fastify.\n`,
  );
  process.exitCode = 1;
} else {
  measureUnauditedRoute(platforms, rounds).then(
    (results) => process.stdout.write(`${unauditedRouteSection(results).join('\n')}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
