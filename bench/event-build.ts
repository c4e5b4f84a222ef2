/**
 * The event-build and hash-chain cases of `npm run bench` on their own, in a few seconds and without PostgreSQL:
 * `npx tsc -p bench/tsconfig.json && node dist-bench/bench/event-build.js` (BENCH_ROUNDS rounds).
 */
import { chainCostSection, measureChainCost } from './lib/chain-cost';
import { eventBuildSection, measureEventBuild } from './lib/event-build';

const raw = process.env.BENCH_ROUNDS ?? '5';
const rounds = Number(raw);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  process.stderr.write(`BENCH_ROUNDS=${raw} is invalid: expected a whole number from 1 to 50.\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`${eventBuildSection(measureEventBuild(rounds)).join('\n')}\n\n`);
  process.stdout.write(`${chainCostSection(measureChainCost(rounds)).join('\n')}\n`);
}
