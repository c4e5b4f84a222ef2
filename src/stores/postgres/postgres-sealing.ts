import { startModuleWorker } from '../../common/module-worker';
import { WorkerCalls } from '../../common/worker-calls';
import { ChainHasher } from '../../integrity/chain-hasher';
import { sealQueued } from './postgres-chain';
import type { PostgresConnections } from './postgres-connections';
import type { PostgresStoreSettings } from './postgres-options';
import {
  POSTGRES_SEAL_ENTRY,
  type PostgresSealRequest,
  type PostgresSealWorkerData,
} from './postgres-seal-worker';

/** Where a store's seals run. */
export interface PostgresSealing {
  /** Chains up to `batch` queued events in one transaction; resolves with how many. */
  sealBatch(batch: number): Promise<number>;
  /** Stops the thread it uses. */
  close(): Promise<void>;
}

/**
 * Where the seals of a store run, so that the chain costs its event loop next to nothing: when
 * the store creates its pool, in a worker thread with a connection of its own (the settings
 * are plain data it can be given); with a pool of the application's, which cannot cross
 * threads, on the application's thread, with the links (canonical JSON and SHA-256) made in a
 * worker: the event loop then only receives the queued events' text and hands it over.
 */
export function postgresSealing(
  settings: PostgresStoreSettings,
  connections: PostgresConnections,
): PostgresSealing {
  const { source, names } = settings;
  if (source.kind === 'owned') {
    const data: PostgresSealWorkerData = {
      role: 'nestjs-audit-postgres-seal',
      entry: POSTGRES_SEAL_ENTRY,
      connectionString: source.connectionString,
      schema: names.schema,
      table: names.table,
      timeouts: settings.timeouts,
      connectionTimeoutMs: settings.connectionTimeoutMs,
    };
    const calls = new WorkerCalls<PostgresSealRequest, number>('sealing the chain', () =>
      startModuleWorker(data),
    );
    return { sealBatch: (batch) => calls.call({ batch }), close: () => calls.close() };
  }
  const hasher = new ChainHasher();
  return {
    sealBatch: (batch) =>
      connections.withSession((session) =>
        session.transaction((sql) =>
          sealQueued(sql, names, batch, (previous, payloads) => hasher.link(previous, payloads)),
        ),
      ),
    close: () => hasher.close(),
  };
}
