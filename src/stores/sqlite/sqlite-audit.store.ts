import type { AlarmOutbox } from '../alarm-outbox';
import type { AlarmOutboxEntry } from '../alarm-outbox-model';
import type { AuditEvent } from '../../event/audit-event';
import { describe } from '../../common/option-checks';
import { eventJson } from '../../event/event-json';
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
import { toEventColumns } from '../../event/event-columns';
import { settle } from '../settle';
import type { AuditSqlAppend, AuditSqlStatement } from '../sql-append';
import { StoreLifeCycle } from '../store-life-cycle';
import { SqliteAlarmOutboxClient } from './sqlite-alarm-outbox-client';
import { sqliteAppendStatements } from './sqlite-append-statements';
import { SqliteConnection } from './sqlite-connection';
import { InThreadBackend } from './sqlite-in-thread';
import {
  resolveSqliteOptions,
  type DatabaseSource,
  type SqliteAuditStoreOptions,
} from './sqlite-options';
import {
  isSqliteDatabase,
  loadSqliteDriver,
  nativeAddonError,
  type SqliteDatabase,
} from './sqlite-driver';
import type {
  SqliteBackend,
  SqliteConnectionSettings,
  SqliteEventRow,
  SqliteRequest,
  SqliteResult,
} from './sqlite-protocol';
import { sqliteEventOf } from './sqlite-query';
import { SqliteWorkerClient } from './sqlite-worker-client';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { toError } from '../../common/message-of';

function toRow(event: AuditEvent): SqliteEventRow {
  const c = toEventColumns(event);
  return [
    c.id,
    c.ts,
    c.action,
    c.outcome,
    c.actorId,
    c.resourceType,
    c.resourceId,
    c.requestId,
    c.tenant,
    c.schemaVersion,
    eventJson(event),
  ];
}

/**
 * The embedded default {@link AuditStore}: one SQLite file in WAL mode, through better-sqlite3
 * (loaded on `init()`, so applications using another store do not need it).
 *
 * Each `append()` is one transaction. Opened from a `path`, the connection lives in a worker
 * thread and every method is a message to it, answered in order; opened on a `database` the
 * application gives, it runs on the calling thread (see {@link SqliteAuditStoreOptions}).
 *
 * @example
 * ```ts
 * const store = new SqliteAuditStore({ path: './data/audit.db' });
 * await store.init();
 * ```
 */
export class SqliteAuditStore extends AuditStore implements AuditSqlAppend, AuditChainSource {
  /** Engine name used in messages and health reports. */
  readonly engine = 'sqlite';

  private readonly source: DatabaseSource;
  private readonly synchronous: 'NORMAL' | 'FULL';
  private readonly busyTimeoutMs: number;
  private readonly fileMode: number;
  private readonly closesDatabase: boolean;
  /** The application's database the store runs on, once open (`undefined` in a worker). */
  private inThreadDb: SqliteDatabase | undefined;
  private location: string;
  /** New, then open on its connection (a worker or the calling thread), then closed. */
  private readonly life: StoreLifeCycle<SqliteBackend>;
  private outbox: SqliteAlarmOutboxClient | undefined;

  /**
   * Validates the options; nothing is opened before `init()`.
   * @throws AuditConfigurationError naming the invalid option and how to fix it.
   */
  constructor(options: SqliteAuditStoreOptions = {}) {
    super();
    const resolved = resolveSqliteOptions(options);
    this.source = resolved.source;
    this.location = resolved.location;
    this.synchronous = resolved.synchronous;
    this.busyTimeoutMs = resolved.busyTimeoutMs;
    this.fileMode = resolved.fileMode;
    this.closesDatabase = resolved.closesDatabase;
    this.life = new StoreLifeCycle(
      {
        store: 'SqliteAuditStore',
        place: () => `database "${this.location}"`,
      },
      { open: () => this.openBackend(), close: (backend) => this.closeBackend(backend) },
    );
  }

  /**
   * Opens the database (creating the file and its directory if needed), switches it to WAL
   * mode and migrates the schema. Calling it again after success does nothing.
   * @throws AuditConfigurationError when better-sqlite3 is missing; AuditStoreError when the
   *   file is not a usable SQLite database; an AuditError with code
   *   AUDIT_STORE_SCHEMA_INCOMPATIBLE when its schema is newer than this release.
   */
  override init(): Promise<void> {
    return this.life.init();
  }

  /**
   * Stores the events and the alarm outbox entries they raised in one transaction; event ids
   * and dedup keys already stored are skipped.
   */
  append(events: readonly AuditEvent[], alarms?: readonly AlarmOutboxEntry[]): Promise<void> {
    // Validated and serialised before the request leaves, so a bad event fails its batch before
    // anything is written, and the write lock is held only for the inserts.
    return this.call('append', () => ({
      op: 'append',
      rows: events.map(toRow),
      alarms: uniqueAlarmColumns(alarms),
    }));
  }

  /** Dialect of {@link SqliteAuditStore.appendStatements} (see `AuditSqlAppend`). */
  readonly sqlDialect = 'sqlite' as const;

  /**
   * The connection {@link SqliteAuditStore.appendStatements} must run on: the application's
   * database the store was given and shares (`closeDatabase: false`); `undefined` otherwise, as
   * another connection to the file would wait for the store's lock.
   */
  get sqlConnection(): object | undefined {
    return this.closesDatabase ? undefined : this.inThreadDb;
  }

  /**
   * The statements `append()` would run, for a transaction the application runs on the shared
   * connection (the ORM integrations' atomic mode).
   * @throws AuditConfigurationError when the store does not share an open application connection.
   * @throws AuditRecordError when an event lacks a field the store needs.
   */
  appendStatements(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<AuditSqlStatement[]> {
    return settle(() => {
      if (this.sqlConnection === undefined || this.life.current === undefined) {
        throw new AuditConfigurationError(
          `SqliteAuditStore.appendStatements(): the store ("${this.location}") does not share an open connection of the application. Give it that connection: database plus closeDatabase: false (sqliteAuditStoreFor(dataSource) in nestjs-audit/typeorm), and await init().`,
        );
      }
      return sqliteAppendStatements(events.map(toRow), uniqueAlarmColumns(alarms), Date.now());
    });
  }

  /**
   * Events appended by {@link SqliteAuditStore.appendStatements} at least `olderThanMs` ago
   * whose ECS lines are not confirmed written, oldest first (see `AuditSqlAppend`).
   */
  async unstreamed(olderThanMs: number, limit: number): Promise<AuditEvent[]> {
    const payloads = await this.call('unstreamed', () => ({
      op: 'unstreamed',
      appendedBy: Date.now() - olderThanMs,
      limit,
    }));
    return payloads.map(parsePayload);
  }

  /** Confirms that the ECS lines of these events are written (see `AuditSqlAppend`). */
  markStreamed(ids: readonly string[]): Promise<void> {
    return this.call('markStreamed', () => ({ op: 'markStreamed', ids }));
  }

  /** The alarm outbox (tables `audit_alarms`, `audit_alarm_attempts`, `audit_alarm_digests`). */
  override get alarmOutbox(): AlarmOutbox {
    this.outbox ??= new SqliteAlarmOutboxClient((operation, build) => this.call(operation, build));
    return this.outbox;
  }

  /** Chain rows in storage order after `after`, for verification (see `AuditChainSource`). */
  chainRows(after: number, limit: number): Promise<ChainRow[]> {
    return this.call('chainRows', () => ({ op: 'chainRows', after, limit }));
  }

  /** Where sequence number `seq` is stored, and its hash (see `AuditChainSource`). */
  chainRowAt(seq: number): Promise<{ position: number; hash: Uint8Array | null } | undefined> {
    return this.call('chainRowAt', () => ({ op: 'chainRowAt', seq }));
  }

  /** The chain's last link, or `undefined` when no event is stored (see `AuditChainSource`). */
  chainHead(): Promise<ChainHead | undefined> {
    return this.call('chainHead', () => ({ op: 'chainHead' }));
  }

  /** Event rows without a chained payload (see `AuditChainSource`). */
  unchainedEvents(limit: number): Promise<UnchainedEvent[]> {
    return this.call('unchainedEvents', () => ({ op: 'unchainedEvents', limit }));
  }

  /** One page of matching events, newest first, each with its chain `sequence`. */
  async query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    const texts = await this.call('query', () => ({ op: 'query', query }));
    return pageOfPayloads(texts, query.limit, sqliteEventOf);
  }

  /** Every event on one resource, oldest first, each with its chain `sequence`. */
  async history(resourceType: string, resourceId: string): Promise<AuditEvent[]> {
    const texts = await this.call('history', () => ({
      op: 'history',
      resourceType,
      resourceId,
    }));
    return texts.map(sqliteEventOf);
  }

  /** One event by id with its chain `sequence`, or `undefined`. */
  async get(id: string): Promise<AuditEvent | undefined> {
    const text = await this.call('get', () => ({ op: 'get', id }));
    return text === undefined ? undefined : sqliteEventOf(text);
  }

  /**
   * Closes the database (and its worker thread), after the calls already made. Calling it again
   * waits for the first call to end.
   */
  override close(): Promise<void> {
    return this.life.close();
  }

  /** Closes the open connection, or a database the store was given to close but never opened. */
  private async closeBackend(backend: SqliteBackend | undefined): Promise<void> {
    if (backend !== undefined) {
      await backend.close();
    } else if (this.source.kind === 'instance' && this.source.db.open && this.closesDatabase) {
      this.source.db.close();
    }
  }

  private async openBackend(): Promise<SqliteBackend> {
    const settings: SqliteConnectionSettings = {
      synchronous: this.synchronous,
      busyTimeoutMs: this.busyTimeoutMs,
      fileMode: this.fileMode,
    };
    if (this.source.kind === 'path') {
      // Loaded here too, so that a missing or broken driver is reported before a thread starts.
      loadSqliteDriver();
      const client = await SqliteWorkerClient.start(this.source.path, settings);
      this.location = client.location;
      return client;
    }
    const db = this.source.kind === 'instance' ? this.source.db : this.created(this.source.create);
    const shared = !this.closesDatabase;
    const connection = SqliteConnection.open({ kind: 'database', db, shared }, settings);
    this.location = connection.location;
    this.inThreadDb = db;
    return new InThreadBackend(connection, db, this.busyTimeoutMs, this.closesDatabase);
  }

  private created(create: () => object): SqliteDatabase {
    let db: object;
    try {
      db = create();
    } catch (error) {
      // The application's factory is where better-sqlite3 first loads its native addon.
      throw nativeAddonError(error) ?? error;
    }
    if (!isSqliteDatabase(db)) {
      throw new AuditConfigurationError(
        `The SqliteAuditStore "database" factory returned ${describe(db)}: return an open better-sqlite3 Database.`,
      );
    }
    this.location = db.name;
    return db;
  }

  /**
   * Builds a request and runs it on the open connection (waiting for an `init()` in progress);
   * every failure, including building the request, is a rejection. Not an async function: on
   * an open store it adds no promise of its own to each append.
   */
  private call<R extends SqliteRequest>(
    operation: string,
    build: () => R,
  ): Promise<SqliteResult<R>> {
    const backend = this.life.current;
    if (backend === undefined) {
      return this.life.whenReady(operation).then((ready) => ready.call(build()));
    }
    try {
      return backend.call(build());
    } catch (error) {
      return Promise.reject(toError(error));
    }
  }
}
