import { postgresAlarmStatements } from './postgres-alarm-statements';
import type { PostgresAppendSql } from './postgres-append-statements';
import { postgresChainStatements, type PostgresChainStatements } from './postgres-chain';
import type { PostgresConnections } from './postgres-connections';
import { postgresStoreError } from './postgres-errors';
import { postgresInsert } from './postgres-insert';
import type { PostgresStoreSettings } from './postgres-options';
import { PostgresMonthlyPartitions } from './postgres-partitions';
import { postgresStatements, type PostgresStatements } from './postgres-query';
import { postgresRelayStatements } from './postgres-stream-relay';
import { checkPostgresSchema, migratePostgresSchema, PostgresSchemaError } from './postgres.schema';

/** What an open `PostgresAuditStore` works with: its tables' statements and partitions. */
export interface PostgresOpenStore extends PostgresAppendSql {
  /** The reads of `query()`, `history()` and `get()`. */
  statements: PostgresStatements;
  /** The reads of the hash chain. */
  chain: PostgresChainStatements;
  /** The monthly partitions known to exist, with monthly partitioning. */
  partitions: PostgresMonthlyPartitions | undefined;
}

/**
 * Opens a store: connects, creates or migrates the table (checks it when `readOnly`) and, with
 * monthly partitioning, makes sure this month and the next have their partitions.
 * @throws PostgresSchemaError when the table was written by a newer release or has another
 *   layout than configured; Error naming the store and the cause when PostgreSQL fails.
 */
export async function openPostgresStore(
  settings: Pick<PostgresStoreSettings, 'names' | 'partitioning' | 'readOnly'>,
  connections: PostgresConnections,
): Promise<PostgresOpenStore> {
  const { names, partitioning, readOnly } = settings;
  // Loads pg when the store creates the pool: a missing driver says how to install it.
  connections.pool();
  const partitions = partitioning === 'monthly' ? new PostgresMonthlyPartitions(names) : undefined;
  try {
    await connections.withSession(async (session) => {
      await session.transaction((sql) =>
        (readOnly ? checkPostgresSchema : migratePostgresSchema)(sql, names, partitioning),
      );
      if (partitions) await partitions.load(session.sql);
    });
  } catch (error) {
    if (error instanceof PostgresSchemaError) throw error;
    throw postgresStoreError(names.qualifiedTable, 'initialise', error);
  }
  const alarms = postgresAlarmStatements(names);
  const state: PostgresOpenStore = {
    statements: postgresStatements(names),
    chain: postgresChainStatements(names),
    insert: postgresInsert(names),
    alarms,
    relay: postgresRelayStatements(names),
    partitions,
  };
  if (partitions && !readOnly) {
    // This month and the next, so the first writes of a month seldom wait for DDL (creating
    // a partition briefly locks the whole table).
    const thisMonth = PostgresMonthlyPartitions.monthOf(Date.now());
    try {
      await partitions.ensure(connections, [thisMonth, thisMonth + 1]);
    } catch (error) {
      throw postgresStoreError(names.qualifiedTable, 'initialise', error);
    }
  }
  return state;
}
