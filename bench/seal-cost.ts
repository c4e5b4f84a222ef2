/**
 * The PostgreSQL seal case of `npm run bench` on its own, in a minute, against PostgreSQL
 * (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test; a schema of its own, dropped
 * at the end): `npx tsc -p bench/tsconfig.json && node dist-bench/bench/seal-cost.js`
 * (BENCH_ROUNDS rounds).
 */
import { createBenchSchema, dropBenchSchema, uniqueSchemaName } from './lib/postgres';
import { measureSealCost, sealCostSection } from './lib/seal-cost';
import { printSection, standaloneSettings } from './lib/standalone';

const settings = standaloneSettings();
if (settings) {
  const pgUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = uniqueSchemaName();
  const measured = (async () => {
    await createBenchSchema(pgUrl, schema, []);
    try {
      return await measureSealCost(pgUrl, schema, settings.rounds);
    } finally {
      await dropBenchSchema(pgUrl, schema);
    }
  })();
  printSection(measured, sealCostSection);
}
