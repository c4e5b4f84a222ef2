/**
 * The process `orm-gate.ts` runs under valgrind (not started by hand): one app of the ORM bench
 * (`bench/lib/orm-update.ts`: A, B, C, M, P or L) on Fastify against the real PostgreSQL, in a
 * schema of its own, driven through light-my-request. It warms up, says `READY`, waits for `GO`,
 * sends the measured `PATCH /orders/:id` (`CG_CONCURRENCY` in flight), says `DONE`, waits for
 * `NEXT`, then drops its schema and says `END`.
 */
import 'reflect-metadata';
import { serveInProcess } from '../lib/in-process';
import { appModule, ORM_APPS, seed, sendPatches, type OrmApp } from '../lib/orm-update';
import { driverWords, runTarget } from './driver-protocol';
import { dropBenchSchema, uniqueSchemaName, withClient } from '../lib/postgres';

function env(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`orm callgrind target: ${name} is missing (run it through orm-gate.ts).`);
  return value;
}

async function main(): Promise<void> {
  const app = env('CG_ORM_APP') as OrmApp;
  if (!ORM_APPS.includes(app)) throw new Error(`orm callgrind target: unknown CG_ORM_APP ${app}.`);
  const pgUrl = env('CG_PG_URL');
  const warmup = Number(env('CG_WARMUP'));
  const requests = Number(env('CG_REQUESTS'));
  const concurrency = Number(env('CG_CONCURRENCY'));
  const schema = `${uniqueSchemaName()}_cg${app.toLowerCase()}`;
  await withClient(pgUrl, (c) => c.query(`CREATE SCHEMA "${schema}"`));
  try {
    const ids = await seed(pgUrl, schema);
    const served = await serveInProcess(
      'fastify',
      appModule(app, pgUrl, schema, env('CG_SQLITE_PATH')),
    );
    const block = (count: number): Promise<void> =>
      sendPatches(served.dispatch, ids, count, concurrency);
    const expect = driverWords('orm callgrind target');
    await block(warmup);
    (globalThis as { gc?: () => void }).gc?.();
    // See target.ts: the collection deoptimises code; warm it up again.
    await block(warmup);
    process.stdout.write('READY patch\n');
    await expect('GO');
    await block(requests);
    process.stdout.write(`DONE patch ${requests}\n`);
    await expect('NEXT');
    await served.app.close();
  } finally {
    await dropBenchSchema(pgUrl, schema);
  }
  process.stdout.write('END\n');
}

runTarget(main);
