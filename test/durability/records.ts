import { verifyChain, type ChainVerification } from '../../src/integrity/verify';
import { verifySqliteFile } from '../utils/chain-check';
import { PostgresAuditStore } from '../../src/stores/postgres/postgres-audit.store';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** The shared PostgreSQL every machine of the project runs (trust auth). */
export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The same database reached through a {@link TcpProxy} on `port`. */
export function pgUrlVia(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/test`;
}

/** Committed records per request id. */
export type RecordCounts = Map<string, number>;

/** Reads the SQLite store's file directly (the server must be stopped). */
/** Verifies the hash chain of a SQLite audit database (server stopped). */
export function sqliteChainCheck(path: string): Promise<ChainVerification> {
  return verifySqliteFile(path);
}

export function sqliteRecordCounts(path: string): RecordCounts {
  const db = new Database(path, { fileMustExist: true });
  try {
    const rows = db
      .prepare(
        'SELECT request_id AS requestId, count(*) AS n FROM audit_events GROUP BY request_id',
      )
      .all() as { requestId: string | null; n: number }[];
    return new Map(rows.map((r) => [r.requestId ?? '<null>', r.n]));
  } finally {
    db.close();
  }
}

async function withPg<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A schema name no other run uses; the store creates it on start. */
export function uniquePgSchema(purpose: string): string {
  return `durability_${purpose}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Reads the PostgreSQL store's table directly. */
export function pgRecordCounts(schema: string, table = 'audit_events'): Promise<RecordCounts> {
  return withPg(async (client) => {
    const result = await client.query<{ request_id: string | null; n: number }>(
      `SELECT request_id, count(*)::int AS n FROM "${schema}"."${table}" GROUP BY request_id`,
    );
    return new Map(result.rows.map((r) => [r.request_id ?? '<null>', r.n]));
  });
}

/**
 * Verifies the hash chain of a PostgreSQL audit table (servers stopped), after sealing what the
 * servers left queued, as the next instance to start would.
 */
export async function pgChainCheck(schema: string): Promise<ChainVerification> {
  const store = new PostgresAuditStore({ connectionString: PG_URL, schema });
  await store.init();
  try {
    await store.seal();
    return await verifyChain(store);
  } finally {
    await store.close();
  }
}

export function dropPgSchema(schema: string): Promise<void> {
  return withPg(async (client) => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
}

/** Total of all counts. */
export function totalRecords(counts: RecordCounts): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}

export interface ExactlyOnceReport {
  /** Acknowledged request ids with no record: a 2xx without a committed record. */
  missing: string[];
  /** Request ids with more than one record. */
  duplicated: string[];
  /** Records whose request id the test never sent (would mean the id was replaced or invented). */
  unknown: string[];
}

/**
 * Compares what the clients were told (2xx) with what the store holds: every acknowledged id
 * exactly once, no id twice, nothing the clients never sent.
 */
export function exactlyOnce(
  acknowledged: Iterable<string>,
  counts: RecordCounts,
  sent: ReadonlySet<string>,
): ExactlyOnceReport {
  const report: ExactlyOnceReport = { missing: [], duplicated: [], unknown: [] };
  for (const id of acknowledged) if (!counts.has(id)) report.missing.push(id);
  for (const [id, n] of counts) {
    if (n > 1) report.duplicated.push(`${id} x${n}`);
    if (!sent.has(id)) report.unknown.push(id);
  }
  return report;
}

/** A short, readable form of a report for `expect(...).toEqual(...)` failure output. */
export function brief(report: ExactlyOnceReport): Record<keyof ExactlyOnceReport, string> {
  const show = (ids: string[]) =>
    ids.length === 0
      ? 'none'
      : `${ids.length}: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', ...' : ''}`;
  return {
    missing: show(report.missing),
    duplicated: show(report.duplicated),
    unknown: show(report.unknown),
  };
}

export const NONE = { missing: 'none', duplicated: 'none', unknown: 'none' };

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `nestjs-audit-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A random integer in [min, max]. */
export function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
