/**
 * The unaudited-route case of `npm run bench` on its own, in under a minute and without
 * PostgreSQL: `npx tsc -p bench/tsconfig.json && node dist-bench/bench/unaudited-route.js`
 * (BENCH_ROUNDS rounds, BENCH_PLATFORMS platforms).
 */
import 'reflect-metadata';
import { measureUnauditedRoute, unauditedRouteSection } from './lib/unaudited-route';
import { printSection, standaloneSettings } from './lib/standalone';

const settings = standaloneSettings();
if (settings) {
  printSection(measureUnauditedRoute(settings.platforms, settings.rounds), unauditedRouteSection);
}
