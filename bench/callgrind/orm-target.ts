/**
 * The process `orm-gate.ts` runs under valgrind (not started by hand): one app of the ORM bench
 * (`bench/lib/orm-update.ts`: A, B, C, M, P or L) on Fastify against the real PostgreSQL, in a
 * schema of its own, driven through light-my-request. It warms up, says `READY`, waits for `GO`,
 * sends the measured `PATCH /orders/:id` (`CG_CONCURRENCY` in flight), says `DONE`, waits for
 * `NEXT`, then drops its schema and says `END`.
 */
import 'reflect-metadata';
import { inject } from 'light-my-request';
import { createInterface } from 'node:readline';
import { serveInProcess } from '../lib/in-process';
import { appModule, ORM_APPS, seed, type OrmApp } from '../lib/orm-update';
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
    let sequence = 0;
    const block = async (count: number): Promise<void> => {
      let sent = 0;
      const worker = async (): Promise<void> => {
        while (sent < count) {
          sent += 1;
          const seq = sequence++;
          const res = await inject(served.dispatch, {
            method: 'PATCH',
            url: `/orders/${ids[seq % ids.length]}`,
            payload: { note: `note ${seq}` },
          });
          if (res.statusCode !== 200)
            throw new Error(`PATCH answered ${res.statusCode} ${res.body}`);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    };
    const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    const expect = async (word: string): Promise<void> => {
      const next = await lines.next();
      if (next.done || next.value.trim() !== word) throw new Error(`expected ${word} on stdin`);
    };
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

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
