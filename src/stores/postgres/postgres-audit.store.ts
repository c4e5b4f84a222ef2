import type { AlarmOutbox } from '../alarm-outbox';
import type { AlarmOutboxEntry } from '../alarm-outbox-model';
import type { AuditEvent } from '../../event/audit-event';
import type {
  AuditChainSource,
  ChainHead,
  ChainRow,
  UnchainedEvent,
} from '../../integrity/chain-source';
import type { AuditQueryResult, NormalizedAuditQuery } from '../audit-query-model';
import { uniqueAlarmColumns } from '../alarm-columns';
import { AuditStore } from '../audit-store';
import { pageOfPayloads, parsePayload } from '../payload-page';
import type { AuditSqlStatement } from '../sql-append';
import { StoreLifeCycle } from '../store-life-cycle';
import { PostgresAlarmOutbox } from './postgres-alarm.outbox';
import { postgresAppendBatch, postgresAppendStatements } from './postgres-append-statements';
import { postgresChainHeadOf, postgresChainRowOf, postgresUnchainedOf } from './postgres-chain';
import { PostgresChainSealer } from './postgres-chain-sealer';
import { PostgresConnections, readRows } from './postgres-connections';
import { isMissingPartition, isUniqueViolation, postgresStoreError } from './postgres-errors';
import { toPostgresRows } from './postgres-insert';
import type { PostgresNames } from './postgres-names';
import { resolvePostgresOptions, type PostgresAuditStoreOptions } from './postgres-options';
import { PostgresMonthlyPartitions } from './postgres-partitions';
import { openPostgresStore, type PostgresOpenStore } from './postgres-open-store';
import { postgresEventOf, type PostgresStatement } from './postgres-query';
import { postgresSealing, type PostgresSealing } from './postgres-sealing';
import type { PostgresPartitioning } from './postgres.schema';
import { AuditStateError } from '../../common/audit-state.error';

// The options live beside their validation; this path is where the rest of the code imports them.
export type {
  PostgresAuditStoreCommonOptions,
  PostgresAuditStoreConnectionOptions,
  PostgresAuditStoreOptions,
  PostgresAuditStorePoolOptions,
} from './postgres-options';

/**
 * The production {@link AuditStore}: one PostgreSQL table with the whole event as `json` plus
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
export class PostgresAuditStore extends AuditStore implements AuditChainSource {
  /** Engine name used in messages and health reports. */
  readonly engine = 'postgres';

  private readonly names: PostgresNames;
  private readonly partitioning: PostgresPartitioning;
  private readonly connections: PostgresConnections;
  private readonly readOnly: boolean;
  /** New, then open on its migrated table, then closed. */
  private readonly life: StoreLifeCycle<PostgresOpenStore>;
  private outbox: PostgresAlarmOutbox | undefined;
  /** Where seals run: in worker threads, so the event loop spends next to nothing on them. */
  private readonly sealing: PostgresSealing;
  private readonly sealer = new PostgresChainSealer((batch) => this.sealing.sealBatch(batch));

  /**
   * Validates the options; nothing connects before `init()`.
   * @throws AuditConfigurationError naming the invalid option and how to fix it.
   */
  constructor(options: PostgresAuditStoreOptions = {}) {
    super();
    const settings = resolvePostgresOptions(options);
    this.names = settings.names;
    this.partitioning = settings.partitioning;
    this.readOnly = settings.readOnly;
    this.connections = new PostgresConnections(
      settings.source,
      settings.timeouts,
      settings.connectionTimeoutMs,
    );
    this.sealing = postgresSealing(settings, this.connections);
    this.life = new StoreLifeCycle(
      { store: 'PostgresAuditStore', place: () => `table ${this.names.qualifiedTable}` },
      {
        open: () => this.open(),
        opened: () => {
          // Events a crashed instance (or a migration) left queued.
          if (!this.readOnly) this.sealer.request();
        },
        close: (_state, wasOpen) => this.release(wasOpen),
      },
    );
  }

  /**
   * Connects, creates or migrates the table (once, even with several instances starting
   * together) and, with monthly partitioning, makes sure this month and the next have their
   * partitions. Calling it again after success does nothing; after a failure it can be retried.
   * @throws AuditConfigurationError when `pg` is missing; AuditStoreError when PostgreSQL
   *   cannot be reached; PostgresSchemaError when the table was written by a newer release or
   *   has another layout than configured.
   */
  override init(): Promise<void> {
    return this.life.init();
  }

  /**
   * Stores the events, and the alarm outbox entries they raised, in one transaction; ids and
   * dedup keys already stored (or repeated in the batch) are skipped, and the first occurrence
   * in the batch wins. A batch of up to 1000 events and 1000 alarms is one statement, so one
   * round trip with a pool the store created, alarms or not.
   * @throws AuditRecordError, before anything is sent, when an event lacks a field the store
   *   needs; AlarmInputError when an alarm is malformed; AuditStoreError naming the store and the cause when PostgreSQL does not
   *   commit the batch.
   */
  async append(events: readonly AuditEvent[], alarms?: readonly AlarmOutboxEntry[]): Promise<void> {
    const state = this.writable('append');
    const rows = toPostgresRows(events);
    const alarmRows = uniqueAlarmColumns(alarms);
    if (rows.length === 0 && alarmRows.length === 0) return;
    const months = state.partitions
      ? rows.map((row) => PostgresMonthlyPartitions.monthOf(row.columns.ts))
      : [];
    const what =
      `append ${rows.length} event${rows.length === 1 ? '' : 's'}` +
      (alarmRows.length === 0
        ? ''
        : ` and ${alarmRows.length} alarm${alarmRows.length === 1 ? '' : 's'}`);
    const write = async () => {
      await state.partitions?.ensure(this.connections, months);
      try {
        await this.connections.run(postgresAppendBatch(state, rows, alarmRows, 'fast'));
      } catch (error) {
        // Some id is stored already (a retried batch): nothing was written, so write the batch
        // again, skipping what is there.
        if (!isUniqueViolation(error)) throw error;
        await this.connections.run(postgresAppendBatch(state, rows, alarmRows, 'idempotent'));
      }
    };
    try {
      await write();
    } catch (error) {
      if (!state.partitions || !isMissingPartition(error)) throw this.failure(what, error);
      // A partition was dropped since it was cached (retention): create it again, once.
      state.partitions.forget();
      try {
        await write();
      } catch (retryError) {
        throw this.failure(what, retryError);
      }
    }
    if (rows.length > 0) this.sealer.request();
  }

  /**
   * Chains every event queued so far (appended, or committed by an application's transaction)
   * and resolves once they are chained. Appends start this on their own in the background; call
   * it before verifying what was just written.
   * @throws AuditStoreError naming the store and the cause when a seal fails (the events stay queued).
   */
  async seal(): Promise<void> {
    this.writable('seal');
    await this.sealer.sealAll();
    if (this.sealer.lastError !== undefined) {
      throw this.failure('chain the events it stored', this.sealer.lastError);
    }
  }

  /** Chain rows after sequence number `after`, for verification (see `AuditChainSource`). */
  async chainRows(after: number, limit: number): Promise<ChainRow[]> {
    const rows = await this.rowsOf(
      'read the hash chain',
      this.ready('chainRows').chain.rows(after, limit),
    );
    return rows.map(postgresChainRowOf);
  }

  /** The hash of sequence number `seq` (see `AuditChainSource`). */
  async chainRowAt(
    seq: number,
  ): Promise<{ position: number; hash: Uint8Array | null } | undefined> {
    const [row] = await this.rowsOf('read the hash chain', this.ready('chainRowAt').chain.at(seq));
    return row && { position: seq, hash: row[0] as Uint8Array };
  }

  /** The chain's last link, or `undefined` when nothing is chained (see `AuditChainSource`). */
  async chainHead(): Promise<ChainHead | undefined> {
    return postgresChainHeadOf(
      await this.rowsOf('read the hash chain', this.ready('chainHead').chain.head()),
    );
  }

  /** Events neither chained nor queued to be (see `AuditChainSource`). */
  async unchainedEvents(limit: number): Promise<UnchainedEvent[]> {
    return postgresUnchainedOf(
      await this.rowsOf(
        'read the hash chain',
        this.ready('unchainedEvents').chain.unchained(limit),
      ),
    );
  }

  /** Dialect of {@link PostgresAuditStore.appendStatements} (see `AuditSqlAppend`). */
  readonly sqlDialect = 'postgres' as const;

  /**
   * The statements `append()` would run, for a transaction on another connection to the same
   * database (the ORM integrations' atomic mode). Missing monthly partitions are created first,
   * on the store's own connection.
   * @throws AuditRecordError when an event lacks a field the store needs.
   */
  async appendStatements(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<AuditSqlStatement[]> {
    const state = this.writable('appendStatements');
    const rows = toPostgresRows(events);
    const alarmRows = uniqueAlarmColumns(alarms);
    await state.partitions?.ensure(
      this.connections,
      rows.map((row) => PostgresMonthlyPartitions.monthOf(row.columns.ts)),
    );
    return postgresAppendStatements(state, rows, alarmRows);
  }

  /**
   * Events appended by {@link PostgresAuditStore.appendStatements} at least `olderThanMs` ago
   * whose ECS lines are not confirmed written, oldest first (see `AuditSqlAppend`).
   */
  async unstreamed(olderThanMs: number, limit: number): Promise<AuditEvent[]> {
    const statement = this.ready('unstreamed').relay.unstreamed(olderThanMs, limit);
    return (await this.read('read the stream relay backlog', statement)).map(parsePayload);
  }

  /** Confirms that the ECS lines of these events are written (see `AuditSqlAppend`). */
  async markStreamed(ids: readonly string[]): Promise<void> {
    const statement = this.writable('markStreamed').relay.markStreamed(ids);
    try {
      await this.connections.run([statement]);
    } catch (error) {
      throw this.failure('empty the stream relay backlog', error);
    }
    // Committed by the application's transaction, queued there: chain them now.
    this.sealer.request();
  }

  /** One page of matching events, newest first, each with its chain `sequence` once sealed. */
  async query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    const state = this.ready('query');
    const rows = await this.rowsOf('query events', state.statements.page(query));
    return pageOfPayloads(rows, query.limit, postgresEventOf);
  }

  /** Every event on one resource, oldest first, each with its chain `sequence` once sealed. */
  async history(resourceType: string, resourceId: string): Promise<AuditEvent[]> {
    const state = this.ready('history');
    const statement = state.statements.history(resourceType, resourceId);
    return (await this.rowsOf('read the history of a resource', statement)).map(postgresEventOf);
  }

  /** One event by id with its chain `sequence` once sealed, or `undefined`. */
  async get(id: string): Promise<AuditEvent | undefined> {
    const state = this.ready('get');
    const [row] = await this.rowsOf('read an event', state.statements.get(id));
    return row === undefined ? undefined : postgresEventOf(row);
  }

  /**
   * The alarm outbox (tables `<table>_alarms`, `<table>_alarm_tries`, `<table>_alarm_keys`).
   * Several instances may claim at once: rows are picked with `FOR UPDATE SKIP LOCKED`, so each
   * message goes to one of them; when nothing is due, a claim is one read and takes no lock.
   */
  override get alarmOutbox(): AlarmOutbox {
    this.outbox ??= new PostgresAlarmOutbox(
      this.connections,
      this.names,
      (operation) => this.ready(`alarmOutbox.${operation}`).alarms,
    );
    return this.outbox;
  }

  /**
   * Ends the pool when the store created it; a pool passed in as `pool` is left open.
   * Calling it again waits for the first call to end.
   */
  override close(): Promise<void> {
    return this.life.close();
  }

  private open(): Promise<PostgresOpenStore> {
    return openPostgresStore(
      { names: this.names, partitioning: this.partitioning, readOnly: this.readOnly },
      this.connections,
    );
  }

  /**
   * Ends what the store holds; runs once an init() in progress has ended, which would otherwise
   * check connections out of an ended pool.
   */
  private async release(wasOpen: boolean): Promise<void> {
    // What this instance queued is chained before its pool ends (a failure leaves it queued for
    // the next seal of any instance).
    if (wasOpen && !this.readOnly) await this.sealer.sealAll();
    await this.sealer.idle();
    await this.sealing.close();
    await this.connections.end();
  }

  private async read(what: string, statement: PostgresStatement): Promise<unknown[]> {
    return (await this.rowsOf(what, statement)).map((row) => row[0]);
  }

  private rowsOf(what: string, statement: PostgresStatement): Promise<unknown[][]> {
    return readRows(this.connections, this.names.qualifiedTable, what, statement);
  }

  private failure(what: string, error: unknown): Error {
    return postgresStoreError(this.names.qualifiedTable, what, error);
  }

  /** {@link PostgresAuditStore.ready}, for an operation that writes. */
  private writable(operation: string): PostgresOpenStore {
    const state = this.ready(operation);
    if (this.readOnly) {
      throw new AuditStateError(
        `PostgresAuditStore.${operation}() writes, but the store was opened with readOnly: true (table ${this.names.qualifiedTable}). Open another store without readOnly to write.`,
      );
    }
    return state;
  }

  /** The open store, for `operation`: it fails before init() and after close(). */
  private ready(operation: string): PostgresOpenStore {
    return this.life.ready(operation);
  }
}
