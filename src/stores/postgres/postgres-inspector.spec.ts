import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresInspector } from './postgres-inspector';
import { postgresNames } from './postgres-names';
import type { PostgresSql } from './postgres-session';
import { migratePostgresSchema, POSTGRES_SCHEMA_VERSION } from './postgres.schema';

/*
 * Against the PostgreSQL every machine of the project runs: the inspector's only job is to ask
 * its catalogue the right questions.
 */

const CONNECTION = process.env.AUDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('PostgresInspector', () => {
  const pool = new Pool({ connectionString: CONNECTION, max: 2 });
  const schema = `audit_inspect_${process.pid}_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA "${schema}"`);
  });

  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  /** Runs `work` in one transaction; READ ONLY makes any write by the inspector fail it. */
  async function transaction<T>(
    work: (sql: PostgresSql) => Promise<T>,
    mode: 'READ ONLY' | 'READ WRITE' = 'READ ONLY',
  ): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query(`BEGIN ${mode}`);
      const sql: PostgresSql = async (text, values = []) =>
        (await client.query({ text, values, rowMode: 'array' })).rows as unknown[][];
      const result = await work(sql);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  const inspect = (table: string, inSchema = schema) =>
    transaction(async (sql) => {
      const inspector = new PostgresInspector(sql, postgresNames(inSchema, table));
      return {
        hasSchema: await inspector.hasSchema(),
        layout: await inspector.layout(),
        version: await inspector.schemaVersion(),
      };
    });

  it('finds nothing where no schema exists', async () => {
    expect(await inspect('audit_events', `${schema}_none`)).toEqual({
      hasSchema: false,
      layout: undefined,
      version: 0,
    });
  });

  it('tells a plain table from a partitioned one, version 0 without migrations', async () => {
    await pool.query(`CREATE TABLE "${schema}".plain (id text)`);
    await pool.query(
      `CREATE TABLE "${schema}".monthly (id text, ts timestamptz) PARTITION BY RANGE (ts)`,
    );
    expect(await inspect('plain')).toEqual({ hasSchema: true, layout: 'none', version: 0 });
    expect(await inspect('monthly')).toEqual({ hasSchema: true, layout: 'monthly', version: 0 });
    expect(await inspect('missing')).toEqual({ hasSchema: true, layout: undefined, version: 0 });
  });

  it('reads the highest applied migration', async () => {
    await pool.query(`CREATE TABLE "${schema}".versioned (id text)`);
    await pool.query(`CREATE TABLE "${schema}".versioned_migrations (version integer)`);
    expect(await inspect('versioned')).toEqual({ hasSchema: true, layout: 'none', version: 0 });
    await pool.query(`INSERT INTO "${schema}".versioned_migrations VALUES (1), (3), (2)`);
    expect((await inspect('versioned')).version).toBe(3);
  });

  it('sees what the migrations made', async () => {
    await transaction(
      (sql) => migratePostgresSchema(sql, postgresNames(schema, 'migrated'), 'monthly'),
      'READ WRITE',
    );
    expect(await inspect('migrated')).toEqual({
      hasSchema: true,
      layout: 'monthly',
      version: POSTGRES_SCHEMA_VERSION,
    });
  });
});
