import { describe, type KnownKeys, type OptionChecker } from '../../common/option-checks';
import { storeOptionChecks } from '../store-option-checks';
import { isPostgresPool, type PostgresPool } from './postgres-driver';
import {
  identifierProblem,
  MAX_SCHEMA_NAME_LENGTH,
  MAX_TABLE_NAME_LENGTH,
  postgresNames,
  type PostgresNames,
} from './postgres-names';
import type { PostgresTimeouts } from './postgres-session';
import type { PostgresPartitioning } from './postgres.schema';
import { AuditConfigurationError } from '../../common/audit-configuration.error';

/** Settings of {@link PostgresAuditStore} that apply however it connects. */
export interface PostgresAuditStoreCommonOptions {
  /**
   * Schema of the events table. Created when missing (which needs the CREATE privilege on the
   * database). Letters, digits and underscores; not starting with a digit or `pg_`.
   * @default 'public'
   */
  schema?: string;
  /**
   * Name of the events table. The store also creates `<table>_migrations` (applied schema
   * versions), the alarm outbox tables `<table>_alarms`, `<table>_alarm_tries` (delivery
   * attempts) and `<table>_alarm_keys` (digest periods), the hash chain `<table>_chain`,
   * `<table>_chain_head` and `<table>_unsealed` (events not chained yet), the trigger function
   * `<table>_append_only`, indexes named `<table>_*` and, with monthly partitioning, partitions
   * named `<table>_yYYYYmMM`. Letters, digits and underscores, at most 51 characters.
   * @default 'audit_events'
   */
  table?: string;
  /**
   * `'monthly'` partitions the table by event time, one partition per UTC month
   * (`<table>_y2026m03`), created before the first event of that month is inserted. Retention
   * can then drop a month at once instead of deleting rows:
   * `ALTER TABLE "public"."audit_events" DETACH PARTITION "public"."audit_events_y2025m03" CONCURRENTLY`,
   * then `DROP TABLE "public"."audit_events_y2025m03"`. PostgreSQL requires the partition key
   * in unique keys, so the table's key becomes (id, ts): still one row per event, since an event
   * always carries the same timestamp. Chosen when the table is created: an existing table
   * keeps its layout, and a mismatch is reported by `init()`.
   * @default 'none'
   */
  partitioning?: PostgresPartitioning;
  /**
   * Longest time one statement may run, in milliseconds, enforced by the server
   * (`statement_timeout`) and, a second later, by the client in case the server cannot answer.
   * A write that times out is rolled back and rejected, so the pipeline's failure policy applies.
   * @default 10000
   */
  statementTimeoutMs?: number;
  /**
   * Longest wait for a connection from the pool (including opening a new one), in milliseconds.
   * @default 5000
   */
  connectionTimeoutMs?: number;
  /**
   * Opens an existing table for reading only (reports, the CLI, a replica): `init()` creates,
   * migrates and chains nothing and makes no partition, so a role with SELECT alone can use
   * it; every write rejects.
   * @default false
   */
  readOnly?: boolean;
}

/** The store creates and owns a `pg` pool. */
export interface PostgresAuditStoreConnectionOptions extends PostgresAuditStoreCommonOptions {
  /**
   * PostgreSQL connection URI, e.g. `postgres://audit:secret@db:5432/app`. When omitted, `pg`
   * reads the standard `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE` variables.
   * @default undefined
   */
  connectionString?: string;
  /**
   * Size of the pool the store creates.
   * @default 5
   */
  poolSize?: number;
  /** Not allowed together with `connectionString`. */
  pool?: undefined;
}

/** The store uses a pool of the application's. */
export interface PostgresAuditStorePoolOptions extends PostgresAuditStoreCommonOptions {
  /**
   * A `pg` `Pool` (or anything with its `connect()` / `end()` shape) to use instead of creating
   * one. The store never ends it: `close()` leaves it to its owner, and so is listening for
   * the pool's `'error'` events. The store sets `statement_timeout` per transaction with
   * `SET LOCAL`, so the pool's sessions keep their own settings; this costs two more round
   * trips per call than a pool the store creates (whose sessions carry the timeout from the
   * start). A pool shared with the application also makes audit writes wait behind its queries.
   */
  pool: PostgresPool;
  /** Not allowed together with `pool`. */
  connectionString?: undefined;
  /** Not allowed together with `pool`: size the pool where it is created. */
  poolSize?: undefined;
}

/** Options of {@link PostgresAuditStore}: a connection string (or none: `PG*` variables) or a pool. */
export type PostgresAuditStoreOptions =
  PostgresAuditStoreConnectionOptions | PostgresAuditStorePoolOptions;

const DEFAULT_SCHEMA = 'public';
const DEFAULT_TABLE = 'audit_events';
const DEFAULT_POOL_SIZE = 5;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/** How much later than the server the client gives up on a statement. */
const CLIENT_TIMEOUT_GRACE_MS = 1_000;
const MAX_TIMER_MS = 2 ** 31 - 1 - CLIENT_TIMEOUT_GRACE_MS;
const MAX_POOL_SIZE = 1_000;
/** Every option: `satisfies` makes an option missing here a compile error. */
const KNOWN_OPTIONS: KnownKeys = {
  connectionString: true,
  pool: true,
  schema: true,
  table: true,
  partitioning: true,
  poolSize: true,
  statementTimeoutMs: true,
  connectionTimeoutMs: true,
  readOnly: true,
} satisfies Record<
  keyof PostgresAuditStoreConnectionOptions | keyof PostgresAuditStorePoolOptions,
  true
>;
const check: OptionChecker = storeOptionChecks('PostgresAuditStore');

/** Where the store's connections come from. */
export type PostgresPoolSource =
  | { kind: 'owned'; connectionString: string | undefined; size: number }
  | { kind: 'external'; pool: PostgresPool };

/** The options of {@link PostgresAuditStore}, validated, with their defaults applied. */
export interface PostgresStoreSettings {
  /** A pool to create, or the application's. */
  source: PostgresPoolSource;
  /** The names of every object of the table. */
  names: PostgresNames;
  /** The layout of the events table. */
  partitioning: PostgresPartitioning;
  /** Server- and client-side limits per statement. */
  timeouts: PostgresTimeouts;
  /** Longest wait for a connection, in milliseconds. */
  connectionTimeoutMs: number;
  /** Whether the store only reads. */
  readOnly: boolean;
}

/**
 * Validates the options of {@link PostgresAuditStore} and applies their defaults.
 * @throws AuditConfigurationError naming the invalid option and how to fix it.
 */
export function resolvePostgresOptions(options: PostgresAuditStoreOptions): PostgresStoreSettings {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new AuditConfigurationError(
      `PostgresAuditStore expects an options object such as { connectionString: 'postgres://user@host/db' } or { pool }, got ${describe(options)}.`,
    );
  }
  check.knownKeys(options, KNOWN_OPTIONS);
  const raw = options as Record<string, unknown>;
  const source = sourceOf(raw);
  const names = namesOf(raw);

  const partitioning = raw.partitioning ?? 'none';
  if (partitioning !== 'none' && partitioning !== 'monthly') {
    check.fail(
      'partitioning',
      `${describe(partitioning)} is not supported; use 'none' (one table) or 'monthly' (one partition per month, for retention by dropping partitions)`,
    );
  }

  const readOnly = check.optionalBoolean('readOnly', raw.readOnly, false);
  const statementTimeoutMs = check.wholeNumber('statementTimeoutMs', raw.statementTimeoutMs, {
    fallback: DEFAULT_STATEMENT_TIMEOUT_MS,
    min: 1,
    max: MAX_TIMER_MS,
  });
  return {
    source,
    names,
    partitioning,
    timeouts: { statementTimeoutMs, queryTimeoutMs: statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS },
    connectionTimeoutMs: check.wholeNumber('connectionTimeoutMs', raw.connectionTimeoutMs, {
      fallback: DEFAULT_CONNECTION_TIMEOUT_MS,
      min: 1,
      max: MAX_TIMER_MS,
    }),
    readOnly,
  };
}

function namesOf(raw: Record<string, unknown>): PostgresNames {
  const schema = raw.schema ?? DEFAULT_SCHEMA;
  const schemaProblem = identifierProblem('schema', schema, MAX_SCHEMA_NAME_LENGTH);
  if (schemaProblem !== undefined) check.fail('schema', schemaProblem);
  const table = raw.table ?? DEFAULT_TABLE;
  const tableProblem = identifierProblem('table', table, MAX_TABLE_NAME_LENGTH);
  if (tableProblem !== undefined) check.fail('table', tableProblem);
  return postgresNames(schema as string, table as string);
}

function sourceOf(raw: Record<string, unknown>): PostgresPoolSource {
  const { pool, connectionString, poolSize } = raw;
  if (pool !== undefined) {
    if (connectionString !== undefined) {
      throw new AuditConfigurationError(
        'PostgresAuditStore options "pool" and "connectionString" exclude each other: pass a connection string for the store to create its own pool, or a pool of yours, not both.',
      );
    }
    if (poolSize !== undefined) {
      check.fail(
        'poolSize',
        'it only sizes a pool the store creates; with "pool", set the size (max) where you create that pool',
      );
    }
    if (!isPostgresPool(pool)) {
      check.mismatch('pool', 'a pg Pool (an object with connect() and end())', pool);
    }
    return { kind: 'external', pool };
  }
  if (
    connectionString !== undefined &&
    (typeof connectionString !== 'string' || connectionString.trim().length === 0)
  ) {
    check.mismatch(
      'connectionString',
      "a URI such as 'postgres://user:password@host:5432/database'",
      connectionString,
      'omit it to use the PG* environment variables',
    );
  }
  return {
    kind: 'owned',
    connectionString,
    size: check.wholeNumber('poolSize', poolSize, {
      fallback: DEFAULT_POOL_SIZE,
      min: 1,
      max: MAX_POOL_SIZE,
    }),
  };
}
