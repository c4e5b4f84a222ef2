import { Client } from 'pg';
import { benchTables, type Platform } from '../config';

/** Runs `work` on a new connection to `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A schema name no other run (nor another machine's session on the same server) uses. */
export function uniqueSchemaName(): string {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  return `bench_${stamp}_${process.pid}`;
}

/**
 * Creates the run's schema and the naive interceptor's table: what a team would write, a serial
 * key, a timestamp and the request as JSONB. nestjs-audit creates its own table there at boot.
 */
export async function createBenchSchema(
  url: string,
  schema: string,
  platforms: readonly Platform[],
): Promise<string> {
  return withClient(url, async (client) => {
    await client.query(`CREATE SCHEMA "${schema}"`);
    for (const platform of platforms) {
      await client.query(
        `CREATE TABLE "${schema}"."${benchTables(platform).naive}" (
         id bigserial PRIMARY KEY,
         created_at timestamptz NOT NULL DEFAULT now(),
         action text NOT NULL,
         method text NOT NULL,
         path text NOT NULL,
         ip text,
         user_agent text,
         status integer,
         payload jsonb
       )`,
      );
    }
    const version = await client.query<{ server_version: string }>('SHOW server_version');
    const sync = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    return `PostgreSQL ${version.rows[0]?.server_version ?? '?'} (synchronous_commit=${sync.rows[0]?.synchronous_commit ?? '?'})`;
  });
}

/** Drops the run's schema and everything in it. */
export async function dropBenchSchema(url: string, schema: string): Promise<void> {
  await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** Rows in a table of the run's schema, to check that each configuration really wrote. */
export async function countRows(url: string, schema: string, table: string): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM "${schema}"."${table}"`,
    );
    return Number(result.rows[0]?.n ?? 0);
  });
}
