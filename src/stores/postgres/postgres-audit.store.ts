import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxEntry,
  AlarmOutboxStats,
  AlarmSettlement,
  StoredAlarm,
} from '../../alarms/alarm-outbox';
import type { AuditEvent } from '../../event/audit-event';
import {
  encodeCursor,
  type AuditQueryResult,
  type NormalizedAuditQuery,
} from '../../query/audit-query';
import {
  checkClaimRequest,
  excludedChannelsOf,
  toSettlementColumns,
  uniqueAlarmColumns,
} from '../alarm-columns';
import { AuditStore } from '../audit-store';
import type { AuditSqlStatement } from '../sql-append';
import { toEventColumns } from '../event-columns';
import {
  alarmAttemptsOf,
  alarmStatsOf,
  claimPostgresAlarms,
  postgresAlarmStatements,
  storedAlarmsOf,
  type PostgresAlarmStatements,
} from './postgres-alarm-outbox';
import {
  isPostgresPool,
  loadPostgresDriver,
  type PostgresPool,
  type PostgresPoolClient,
} from './postgres-driver';
import { isMissingPartition, reasonOf } from './postgres-errors';
import {
  identifierProblem,
  MAX_SCHEMA_NAME_LENGTH,
  MAX_TABLE_NAME_LENGTH,
  postgresNames,
  type PostgresNames,
} from './postgres-names';
import { PostgresMonthlyPartitions } from './postgres-partitions';
import {
  postgresStatements,
  toPostgresRow,
  type PostgresEventRow,
  type PostgresStatement,
  type PostgresStatements,
} from './postgres-query';
import { PostgresSession, type PostgresTimeouts } from './postgres-session';
import {
  migratePostgresSchema,
  PostgresSchemaError,
  type PostgresPartitioning,
} from './postgres.schema';

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
   * attempts) and `<table>_alarm_keys` (digest periods), indexes named `<table>_*` and, with
   * monthly partitioning, partitions named `<table>_yYYYYmMM`. Letters, digits and underscores,
   * at most 51 characters.
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
const KNOWN_OPTIONS = new Set([
  'connectionString',
  'pool',
  'schema',
  'table',
  'partitioning',
  'poolSize',
  'statementTimeoutMs',
  'connectionTimeoutMs',
]);

interface OpenState {
  pool: PostgresPool;
  statements: PostgresStatements;
  alarms: PostgresAlarmStatements;
  partitions: PostgresMonthlyPartitions | undefined;
}

type PoolSource =
  | { kind: 'owned'; connectionString: string | undefined; size: number }
  | { kind: 'external'; pool: PostgresPool };

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 10))}`;
}

function optionError(name: string, problem: string): TypeError {
  return new TypeError(`Invalid PostgresAuditStore option "${name}": ${problem}.`);
}

function positiveInteger(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw optionError(name, `expected a whole number from 1 to ${max}, got ${describe(value)}`);
  }
  return value;
}

function parse(payload: unknown): AuditEvent {
  return JSON.parse(payload as string) as AuditEvent;
}

/**
 * The production {@link AuditStore}: one PostgreSQL table with the whole event as `jsonb` plus
 * typed, indexed columns for every query filter, through the `pg` driver (an optional peer
 * dependency, loaded on `init()` and only when the store creates its own pool).
 *
 * `init()` creates and migrates the table under an advisory lock, so several instances can
 * start together. Each `append()` is one transaction: all events or none, and an id already
 * stored is skipped, so a retried batch never duplicates records. Every failure rejects (it
 * never hangs past the configured timeouts) with an error naming the store and the cause.
 *
 * @example
 * ```ts
 * const store = new PostgresAuditStore({
 *   connectionString: process.env.AUDIT_DATABASE_URL,
 *   partitioning: 'monthly',
 * });
 * await store.init();
 * ```
 */
export class PostgresAuditStore extends AuditStore {
  /** Engine name used in messages and health reports. */
  readonly engine = 'postgres';

  private readonly source: PoolSource;
  private readonly names: PostgresNames;
  private readonly partitioning: PostgresPartitioning;
  private readonly timeouts: PostgresTimeouts;
  private readonly connectionTimeoutMs: number;
  /** Created by the first `init()` when the store owns the pool; kept for a retried `init()`. */
  private ownedPool: PostgresPool | undefined;
  private state: 'new' | OpenState | 'closed' = 'new';
  private opening: Promise<void> | undefined;

  /**
   * Validates the options; nothing connects before `init()`.
   * @throws TypeError naming the invalid option and how to fix it.
   */
  constructor(options: PostgresAuditStoreOptions = {}) {
    super();
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError(
        `PostgresAuditStore expects an options object such as { connectionString: 'postgres://user@host/db' } or { pool }, got ${describe(options)}.`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new TypeError(
          `Unknown PostgresAuditStore option "${key}". Known options: ${[...KNOWN_OPTIONS].join(', ')}.`,
        );
      }
    }
    const raw = options as Record<string, unknown>;
    this.source = PostgresAuditStore.sourceOf(raw);

    const schema = raw.schema ?? DEFAULT_SCHEMA;
    const schemaProblem = identifierProblem('schema', schema, MAX_SCHEMA_NAME_LENGTH);
    if (schemaProblem !== undefined) throw optionError('schema', schemaProblem);
    const table = raw.table ?? DEFAULT_TABLE;
    const tableProblem = identifierProblem('table', table, MAX_TABLE_NAME_LENGTH);
    if (tableProblem !== undefined) throw optionError('table', tableProblem);
    this.names = postgresNames(schema as string, table as string);

    const partitioning = raw.partitioning ?? 'none';
    if (partitioning !== 'none' && partitioning !== 'monthly') {
      throw optionError(
        'partitioning',
        `${describe(partitioning)} is not supported; use 'none' (one table) or 'monthly' (one partition per month, for retention by dropping partitions)`,
      );
    }
    this.partitioning = partitioning;

    const statementTimeoutMs = positiveInteger(
      'statementTimeoutMs',
      raw.statementTimeoutMs,
      DEFAULT_STATEMENT_TIMEOUT_MS,
      MAX_TIMER_MS,
    );
    this.timeouts = {
      statementTimeoutMs,
      queryTimeoutMs: statementTimeoutMs + CLIENT_TIMEOUT_GRACE_MS,
    };
    this.connectionTimeoutMs = positiveInteger(
      'connectionTimeoutMs',
      raw.connectionTimeoutMs,
      DEFAULT_CONNECTION_TIMEOUT_MS,
      MAX_TIMER_MS,
    );
  }

  private static sourceOf(raw: Record<string, unknown>): PoolSource {
    const { pool, connectionString, poolSize } = raw;
    if (pool !== undefined) {
      if (connectionString !== undefined) {
        throw new TypeError(
          'PostgresAuditStore options "pool" and "connectionString" exclude each other: pass a connection string for the store to create its own pool, or a pool of yours, not both.',
        );
      }
      if (poolSize !== undefined) {
        throw optionError(
          'poolSize',
          'it only sizes a pool the store creates; with "pool", set the size (max) where you create that pool',
        );
      }
      if (!isPostgresPool(pool)) {
        throw optionError(
          'pool',
          `expected a pg Pool (an object with connect() and end()), got ${describe(pool)}`,
        );
      }
      return { kind: 'external', pool };
    }
    if (
      connectionString !== undefined &&
      (typeof connectionString !== 'string' || connectionString.trim().length === 0)
    ) {
      throw optionError(
        'connectionString',
        `expected a URI such as 'postgres://user:password@host:5432/database', got ${describe(connectionString)}; omit it to use the PG* environment variables`,
      );
    }
    return {
      kind: 'owned',
      connectionString,
      size: positiveInteger('poolSize', poolSize, DEFAULT_POOL_SIZE, MAX_POOL_SIZE),
    };
  }

  /**
   * Connects, creates or migrates the table (once, even with several instances starting
   * together) and, with monthly partitioning, makes sure this month and the next have their
   * partitions. Calling it again after success does nothing; after a failure it can be retried.
   * @throws Error when `pg` is missing, PostgreSQL cannot be reached, the table was written by
   *   a newer release, or it has another layout than configured.
   */
  override async init(): Promise<void> {
    if (this.state === 'closed') {
      throw new Error(
        `PostgresAuditStore.init() was called after close() (table ${this.names.qualifiedTable}): create a new PostgresAuditStore instead.`,
      );
    }
    if (this.state !== 'new') return;
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /**
   * Stores the events, and the alarm outbox entries they raised, in one transaction; ids and
   * dedup keys already stored (or repeated in the batch) are skipped, and the first occurrence
   * in the batch wins. A batch of up to 1000 events and 1000 alarms is one statement, so one
   * round trip with a pool the store created, alarms or not.
   * @throws TypeError, before anything is sent, when an event lacks a field the store needs or
   *   an alarm is malformed; Error naming the store and the cause when PostgreSQL does not
   *   commit the batch.
   */
  async append(events: readonly AuditEvent[], alarms?: readonly AlarmOutboxEntry[]): Promise<void> {
    const state = this.ready('append');
    const rows = PostgresAuditStore.rowsOf(events);
    const alarmRows = uniqueAlarmColumns(alarms);
    if (rows.length === 0 && alarmRows.length === 0) return;
    const months = state.partitions
      ? rows.map((row) => PostgresMonthlyPartitions.monthOf(row.columns.ts))
      : [];
    const eventInserts = state.statements.insert(rows);
    const [onlyEvents] = eventInserts;
    const insert =
      alarmRows.length === 0
        ? eventInserts
        : eventInserts.length === 1 && onlyEvents
          ? state.alarms.insert(alarmRows, onlyEvents)
          : [...eventInserts, ...state.alarms.insert(alarmRows)];
    const what =
      `append ${rows.length} event${rows.length === 1 ? '' : 's'}` +
      (alarmRows.length === 0
        ? ''
        : ` and ${alarmRows.length} alarm${alarmRows.length === 1 ? '' : 's'}`);
    try {
      await this.ensurePartitions(state, months);
      await this.insert(state, insert);
    } catch (error) {
      if (!state.partitions || !isMissingPartition(error)) throw this.failure(what, error);
      // A partition was dropped since it was cached (retention): create it again, once.
      state.partitions.forget();
      try {
        await this.ensurePartitions(state, months);
        await this.insert(state, insert);
      } catch (retryError) {
        throw this.failure(what, retryError);
      }
    }
  }

  /** Dialect of {@link PostgresAuditStore.appendStatements} (see `AuditSqlAppend`). */
  readonly sqlDialect = 'postgres' as const;

  /**
   * The statements `append()` would run, for a transaction on another connection to the same
   * database (the ORM integrations' atomic mode). Missing monthly partitions are created first,
   * on the store's own connection.
   * @throws TypeError when an event lacks a field the store needs.
   */
  async appendStatements(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<AuditSqlStatement[]> {
    const state = this.ready('appendStatements');
    const rows = PostgresAuditStore.rowsOf(events);
    const alarmRows = uniqueAlarmColumns(alarms);
    if (state.partitions) {
      await this.ensurePartitions(
        state,
        rows.map((row) => PostgresMonthlyPartitions.monthOf(row.columns.ts)),
      );
    }
    const statements = rows.length === 0 ? [] : state.statements.insert(rows);
    if (alarmRows.length > 0) statements.push(...state.alarms.insert(alarmRows));
    return statements.map((statement) => ({ text: statement.text, values: [...statement.values] }));
  }

  /** One page of matching events, newest first. */
  async query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    const state = this.ready('query');
    const payloads = await this.read(state, 'query events', state.statements.page(query));
    const more = payloads.length > query.limit;
    const items = (more ? payloads.slice(0, query.limit) : payloads).map(parse);
    const result: AuditQueryResult = { items };
    const last = items[items.length - 1];
    if (more && last) {
      result.nextCursor = encodeCursor({ ts: Date.parse(last.timestamp), id: last.id });
    }
    return result;
  }

  /** Every event on one resource, oldest first. */
  async history(resourceType: string, resourceId: string): Promise<AuditEvent[]> {
    const state = this.ready('history');
    const statement = state.statements.history(resourceType, resourceId);
    return (await this.read(state, 'read the history of a resource', statement)).map(parse);
  }

  /** One event by id, or `undefined`. */
  async get(id: string): Promise<AuditEvent | undefined> {
    const state = this.ready('get');
    const [payload] = await this.read(state, 'read an event', state.statements.get(id));
    return payload === undefined ? undefined : parse(payload);
  }

  /** Keeps the alarm outbox (tables `<table>_alarms`, `<table>_alarm_tries`, `<table>_alarm_keys`). */
  override get supportsAlarms(): boolean {
    return true;
  }

  /**
   * Leases due alarm messages to a dispatcher (see {@link AuditStore.claimAlarms}). Several
   * instances may claim at once: rows are picked with `FOR UPDATE SKIP LOCKED`, so each message
   * goes to one of them. When nothing is due this is one read and takes no lock.
   */
  override async claimAlarms(request: AlarmClaimRequest): Promise<AlarmClaim[]> {
    checkClaimRequest(request);
    const state = this.ready('claimAlarms');
    try {
      const [[due] = []] = await this.rows(
        state,
        state.alarms.anyDue(request.now, excludedChannelsOf(request)),
      );
      if (due !== true) return [];
      return await this.withSession(state.pool, (session) =>
        session.transaction((sql) => claimPostgresAlarms(sql, this.names, request)),
      );
    } catch (error) {
      throw this.failure('claim alarms', error);
    }
  }

  /** Records attempts and settles their messages (see {@link AuditStore.settleAlarms}). */
  override async settleAlarms(settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    const all = settlements.map(toSettlementColumns);
    const state = this.ready('settleAlarms');
    if (all.length === 0) return [];
    const statements = all.map((settlement) => state.alarms.settle(settlement));
    try {
      const results = await this.withSession(state.pool, async (session) => {
        const [only] = statements;
        if (this.source.kind === 'owned' && statements.length === 1 && only) {
          return [await session.sql(only.text, only.values)];
        }
        return session.transaction(async (sql) => {
          const out: unknown[][][] = [];
          for (const statement of statements) out.push(await sql(statement.text, statement.values));
          return out;
        });
      });
      return results.map((rows) => Number(rows[0]?.[0] ?? 0) > 0);
    } catch (error) {
      throw this.failure('settle alarms', error);
    }
  }

  /** Outbox entries, newest first. */
  override async listAlarms(query?: AlarmListQuery): Promise<StoredAlarm[]> {
    const state = this.ready('listAlarms');
    const statement = state.alarms.list(query);
    try {
      return storedAlarmsOf(await this.rows(state, statement));
    } catch (error) {
      throw this.failure('list alarms', error);
    }
  }

  /** Recorded delivery attempts, newest first. */
  override async listAlarmAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    const state = this.ready('listAlarmAttempts');
    const statement = state.alarms.listAttempts(query);
    try {
      return alarmAttemptsOf(await this.rows(state, statement));
    } catch (error) {
      throw this.failure('list alarm attempts', error);
    }
  }

  /** Outbox entries per status. */
  override async alarmStats(): Promise<AlarmOutboxStats> {
    const state = this.ready('alarmStats');
    try {
      return alarmStatsOf(await this.rows(state, state.alarms.stats()));
    } catch (error) {
      throw this.failure('count alarms', error);
    }
  }

  /**
   * Ends the pool when the store created it; a pool passed in as `pool` is left open.
   * Calling it again does nothing.
   */
  override async close(): Promise<void> {
    if (this.state === 'closed') return;
    const opening = this.opening;
    this.state = 'closed';
    // An init() still running would otherwise check connections out of an ended pool.
    await opening?.catch(() => undefined);
    const owned = this.ownedPool;
    this.ownedPool = undefined;
    await owned?.end();
  }

  private async open(): Promise<void> {
    const pool = this.pool();
    const partitions =
      this.partitioning === 'monthly' ? new PostgresMonthlyPartitions(this.names) : undefined;
    try {
      await this.withSession(pool, async (session) => {
        await session.transaction((sql) =>
          migratePostgresSchema(sql, this.names, this.partitioning),
        );
        if (partitions) await partitions.load(session.sql);
      });
    } catch (error) {
      if (error instanceof PostgresSchemaError) throw error;
      throw this.failure('initialise', error);
    }
    const state: OpenState = {
      pool,
      statements: postgresStatements(this.names),
      alarms: postgresAlarmStatements(this.names),
      partitions,
    };
    if (partitions) {
      // This month and the next, so the first writes of a month seldom wait for DDL (creating
      // a partition briefly locks the whole table).
      const thisMonth = PostgresMonthlyPartitions.monthOf(Date.now());
      try {
        await this.ensurePartitions(state, [thisMonth, thisMonth + 1]);
      } catch (error) {
        throw this.failure('initialise', error);
      }
    }
    if (this.state === 'closed') return;
    this.state = state;
  }

  private pool(): PostgresPool {
    if (this.source.kind === 'external') return this.source.pool;
    if (this.ownedPool) return this.ownedPool;
    const Pool = loadPostgresDriver();
    const pool = new Pool({
      ...(this.source.connectionString === undefined
        ? {}
        : { connectionString: this.source.connectionString }),
      max: this.source.size,
      connectionTimeoutMillis: this.connectionTimeoutMs,
      statement_timeout: this.timeouts.statementTimeoutMs,
      query_timeout: this.timeouts.queryTimeoutMs,
      // A transaction of the store never waits on the application between statements, so one
      // left idle belongs to a client that vanished: release its locks.
      idle_in_transaction_session_timeout: this.timeouts.queryTimeoutMs,
      fallback_application_name: 'nestjs-audit',
      keepAlive: true,
    });
    // An idle connection that breaks (server restart, network) is dropped by the pool; without
    // a listener its 'error' event would crash the process. The next checkout reconnects, and
    // an operation that cannot reconnect rejects on its own.
    pool.on('error', () => undefined);
    this.ownedPool = pool;
    return pool;
  }

  private static rowsOf(events: readonly AuditEvent[]): PostgresEventRow[] {
    const rows = new Map<string, PostgresEventRow>();
    for (const event of events) {
      const columns = toEventColumns(event);
      // A statement may not insert the same key twice under ON CONFLICT; keep the first, as
      // the other stores do.
      if (!rows.has(columns.id)) rows.set(columns.id, toPostgresRow(columns, event));
    }
    // Two batches sharing ids (a retry racing the original) take their key locks in the same
    // order, so they wait for each other instead of deadlocking.
    return [...rows.values()].sort((a, b) =>
      a.columns.id < b.columns.id ? -1 : a.columns.id > b.columns.id ? 1 : 0,
    );
  }

  private async ensurePartitions(state: OpenState, months: readonly number[]): Promise<void> {
    const missing = state.partitions?.missing(months) ?? [];
    if (missing.length === 0 || !state.partitions) return;
    const partitions = state.partitions;
    await this.withSession(state.pool, (session) =>
      session.transaction((sql) => partitions.create(sql, missing)),
    );
  }

  private async insert(state: OpenState, statements: readonly PostgresStatement[]): Promise<void> {
    await this.withSession(state.pool, async (session) => {
      const [only] = statements;
      if (this.source.kind === 'owned' && statements.length === 1 && only) {
        // One statement is a transaction on its own, and the store's sessions already carry
        // statement_timeout: one round trip per batch.
        await session.sql(only.text, only.values);
        return;
      }
      await session.transaction(async (sql) => {
        for (const statement of statements) await sql(statement.text, statement.values);
      });
    });
  }

  private async read(
    state: OpenState,
    what: string,
    statement: PostgresStatement,
  ): Promise<unknown[]> {
    try {
      return (await this.rows(state, statement)).map((row) => row[0]);
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  /** Runs one read-only statement and returns its rows. */
  private rows(state: OpenState, statement: PostgresStatement): Promise<unknown[][]> {
    return this.withSession(state.pool, (session) =>
      this.source.kind === 'owned'
        ? session.sql(statement.text, statement.values)
        : // A pool of the application's has no statement_timeout of ours on its sessions.
          session.transaction((sql) => sql(statement.text, statement.values)),
    );
  }

  /**
   * Checks a connection out for `work` and gives it back, or discards it when a statement left
   * it in an unknown state (client-side timeout, broken socket).
   */
  private async withSession<T>(
    pool: PostgresPool,
    work: (session: PostgresSession) => Promise<T>,
  ): Promise<T> {
    const client = await this.connect(pool);
    // A connection that breaks between two statements emits 'error' instead of failing one;
    // unheard, that would crash the process. The next statement then fails and is reported.
    const onError = () => undefined;
    client.on('error', onError);
    const session = new PostgresSession(client, this.timeouts);
    try {
      return await work(session);
    } finally {
      client.removeListener('error', onError);
      client.release(session.broken);
    }
  }

  /** `pool.connect()`, bounded even for a pool configured without a connection timeout. */
  private connect(pool: PostgresPool): Promise<PostgresPoolClient> {
    return new Promise<PostgresPoolClient>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(
          new Error(
            `no connection within ${this.connectionTimeoutMs} ms (connectionTimeoutMs): PostgreSQL is unreachable or the pool is exhausted`,
          ),
        );
      }, this.connectionTimeoutMs);
      pool.connect().then(
        (client) => {
          clearTimeout(timer);
          // Came too late for its caller: hand it straight back.
          if (timedOut) client.release();
          else resolve(client);
        },
        (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  private failure(what: string, error: unknown): Error {
    const hint = what.startsWith('append')
      ? `Retrying the batch is safe: appends are idempotent by event id${what.includes('alarm') ? ' and alarm dedup key' : ''}.`
      : what.includes('alarm')
        ? 'Check that PostgreSQL is reachable and answering; the alarm dispatcher tries again at its next poll.'
        : what === 'initialise'
          ? 'Check that PostgreSQL is reachable with the configured connection and that the role may create the schema and table, then call init() again.'
          : 'Check that PostgreSQL is reachable and answering.';
    return new Error(
      `PostgresAuditStore could not ${what} (table ${this.names.qualifiedTable}): ${reasonOf(error)}. ${hint}`,
      { cause: error },
    );
  }

  private ready(operation: string): OpenState {
    if (this.state === 'new') {
      throw new Error(
        `PostgresAuditStore.${operation}() was called before init(): await store.init() first (AuditModule does it when the application starts).`,
      );
    }
    if (this.state === 'closed') {
      throw new Error(
        `PostgresAuditStore.${operation}() was called after close() (table ${this.names.qualifiedTable}). Create a new PostgresAuditStore to use it again.`,
      );
    }
    return this.state;
  }
}
