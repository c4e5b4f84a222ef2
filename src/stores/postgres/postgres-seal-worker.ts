import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { serveWorkerCalls } from '../../common/worker-calls';
import { linkStoredEvents } from '../../integrity/chain-hasher-worker';
import { sealQueued } from './postgres-chain';
import { PostgresConnections } from './postgres-connections';
import { postgresNames } from './postgres-names';
import type { PostgresTimeouts } from './postgres-session';

/*
 * The worker thread that seals a PostgreSQL store's chain when the store creates its own pool:
 * it opens one connection of its own with the same settings and runs the whole seal there
 * (reading the queued events, linking them, writing the chain), so that the application's
 * event loop spends nothing per event on the chain. Loaded on the application's thread too, for
 * its file name; it serves only in a worker started with {@link PostgresSealWorkerData}.
 */

/** The file the store starts as its seal worker. */
export const POSTGRES_SEAL_ENTRY = __filename;

/** The `workerData` of a seal worker: everything it needs to connect, all plain data. */
export interface PostgresSealWorkerData {
  /** Tells this module it runs as a seal worker. */
  role: 'nestjs-audit-postgres-seal';
  /** This module's file, which the bootstrap loads. */
  entry: string;
  /** The store's connection string (`undefined`: the `PG*` variables). */
  connectionString: string | undefined;
  /** The store's schema and table. */
  schema: string;
  table: string;
  /** The store's limits per statement. */
  timeouts: PostgresTimeouts;
  /** Longest wait for the connection. */
  connectionTimeoutMs: number;
}

/** One call: chain up to `batch` queued events in one transaction; answered with how many. */
export interface PostgresSealRequest {
  batch: number;
}

function serve(data: PostgresSealWorkerData): void {
  const connections = new PostgresConnections(
    { kind: 'owned', connectionString: data.connectionString, size: 1 },
    data.timeouts,
    data.connectionTimeoutMs,
  );
  const names = postgresNames(data.schema, data.table);
  serveWorkerCalls(parentPort!, async ({ batch }: PostgresSealRequest) => ({
    value: await connections.withSession((session) =>
      session.transaction((sql) => sealQueued(sql, names, batch, linkStoredEvents)),
    ),
  }));
}

if (
  !isMainThread &&
  parentPort !== null &&
  (workerData as Partial<PostgresSealWorkerData> | null)?.role === 'nestjs-audit-postgres-seal'
) {
  serve(workerData as PostgresSealWorkerData);
}
