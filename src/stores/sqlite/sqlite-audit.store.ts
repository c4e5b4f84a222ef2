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
import { eventJson } from '../../event/event-json';
import type { AuditQueryResult, NormalizedAuditQuery } from '../../query/audit-query';
import { uniqueAlarmColumns } from '../alarm-columns';
import { AuditStore } from '../audit-store';
import { pageOfPayloads, parsePayload } from '../payload-page';
import { toEventColumns } from '../event-columns';
import { settle } from '../settle';
import { SqliteConnection } from './sqlite-connection';
import { isSqliteDatabase, loadSqliteDriver, type SqliteDatabase } from './sqlite-driver';
import type {
  SqliteBackend,
  SqliteConnectionSettings,
  SqliteEventRow,
  SqliteRequest,
  SqliteResult,
} from './sqlite-protocol';
import { SqliteWorkerClient } from './sqlite-worker-client';

/** Options of {@link SqliteAuditStore}. */
export interface SqliteAuditStoreOptions {
  /**
   * Database file, relative to the working directory. Missing parent directories are
   * created. `':memory:'` keeps everything in memory (lost on close). Not allowed together
   * with `database`.
   *
   * The store opens the file in a worker thread of its own: commits, fsyncs and queries run
   * there, so they never block the application's event loop.
   * @default './audit.db'
   */
  path?: string;
  /**
   * An open better-sqlite3 `Database`, or a function returning one that is called by
   * `init()`. The store owns it from then on: it sets WAL mode, migrates the schema (using
   * `PRAGMA user_version`, so give the audit trail a database of its own) and closes it in
   * `close()`. Not allowed together with `path`.
   *
   * A better-sqlite3 `Database` cannot move to another thread, so with this option the store
   * runs every statement on the calling thread, as better-sqlite3 does: each commit (and its
   * fsync) blocks the event loop while it runs. Prefer `path` for an application's audit trail.
   * @default undefined (the store opens `path`)
   */
  database?: object | (() => object);
  /**
   * SQLite `synchronous` level. `'FULL'` makes every commit durable across a power loss;
   * `'NORMAL'` is faster and, in WAL mode, can lose the last commits on power loss but never
   * corrupts the database.
   * @default 'FULL'
   */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * How long a write waits for another connection's lock before failing, in milliseconds.
   * With `database`, better-sqlite3 waits synchronously: the event loop is blocked meanwhile.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

const DEFAULT_PATH = './audit.db';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;
const KNOWN_OPTIONS = new Set(['path', 'database', 'synchronous', 'busyTimeoutMs']);

type DatabaseSource =
  | { kind: 'path'; path: string }
  | { kind: 'instance'; db: SqliteDatabase }
  | { kind: 'factory'; create: () => object };

/** Runs requests on the caller's thread, for a database the application handed in. */
class InThreadBackend implements SqliteBackend {
  constructor(private readonly connection: SqliteConnection) {}

  call<R extends SqliteRequest>(request: R): Promise<SqliteResult<R>> {
    return settle(() => this.connection.handle(request));
  }

  close(): Promise<void> {
    return settle(() => this.connection.close());
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 10))}`;
}

function optionError(name: string, problem: string): TypeError {
  return new TypeError(`Invalid SqliteAuditStore option "${name}": ${problem}.`);
}

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
export class SqliteAuditStore extends AuditStore {
  /** Engine name used in messages and health reports. */
  readonly engine = 'sqlite';

  private readonly source: DatabaseSource;
  private readonly synchronous: 'NORMAL' | 'FULL';
  private readonly busyTimeoutMs: number;
  private location: string;
  /** Set by `init()`: the connection being opened, then open. */
  private opening: Promise<SqliteBackend> | undefined;
  private backend: SqliteBackend | undefined;
  private closed = false;

  /**
   * Validates the options; nothing is opened before `init()`.
   * @throws TypeError naming the invalid option and how to fix it.
   */
  constructor(options: SqliteAuditStoreOptions = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TypeError(
        `SqliteAuditStore expects an options object such as { path: './data/audit.db' }, got ${describe(options)}.`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new TypeError(
          `Unknown SqliteAuditStore option "${key}". Known options: ${[...KNOWN_OPTIONS].join(', ')}.`,
        );
      }
    }
    const { path, database, synchronous = 'FULL', busyTimeoutMs } = options;
    if (path !== undefined && database !== undefined) {
      throw new TypeError(
        'SqliteAuditStore options "path" and "database" exclude each other: pass a file path, or a database the store should use, not both.',
      );
    }
    this.source = SqliteAuditStore.sourceOf(path, database);
    this.location =
      this.source.kind === 'path'
        ? this.source.path
        : this.source.kind === 'instance'
          ? this.source.db.name
          : 'database from the "database" factory';

    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw optionError(
        'synchronous',
        `${describe(synchronous)} is not supported; use 'FULL' (durable across power loss) or 'NORMAL' (faster, may lose the last commits on power loss)`,
      );
    }
    this.synchronous = synchronous;

    if (
      busyTimeoutMs !== undefined &&
      (typeof busyTimeoutMs !== 'number' ||
        !Number.isInteger(busyTimeoutMs) ||
        busyTimeoutMs < 0 ||
        busyTimeoutMs > MAX_BUSY_TIMEOUT_MS)
    ) {
      throw optionError(
        'busyTimeoutMs',
        `expected a whole number of milliseconds from 0 to ${MAX_BUSY_TIMEOUT_MS}, got ${describe(busyTimeoutMs)}`,
      );
    }
    this.busyTimeoutMs = busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  }

  private static sourceOf(path: unknown, database: unknown): DatabaseSource {
    if (database === undefined) {
      const file = path ?? DEFAULT_PATH;
      if (typeof file !== 'string' || file.length === 0 || file.includes('\0')) {
        throw optionError(
          'path',
          `expected a file path such as './data/audit.db', or ':memory:', got ${describe(file)}`,
        );
      }
      return { kind: 'path', path: file };
    }
    if (typeof database === 'function') {
      return { kind: 'factory', create: database as () => object };
    }
    if (!isSqliteDatabase(database)) {
      throw optionError(
        'database',
        `expected a better-sqlite3 Database instance or a function returning one, got ${describe(database)}`,
      );
    }
    if (!database.open) {
      throw optionError('database', 'the given database is already closed; pass an open one');
    }
    return { kind: 'instance', db: database };
  }

  /**
   * Opens the database (creating the file and its directory if needed), switches it to WAL
   * mode and migrates the schema. Calling it again after success does nothing.
   * @throws Error when better-sqlite3 is missing, the file is not a usable SQLite database,
   *   or its schema is newer than this release.
   */
  override async init(): Promise<void> {
    if (this.closed) {
      throw new Error(
        `SqliteAuditStore.init() was called after close() (database "${this.location}"): create a new SqliteAuditStore instead.`,
      );
    }
    this.opening ??= this.openBackend().then(
      (backend) => (this.backend = backend),
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    await this.opening;
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

  /** Keeps the alarm outbox (tables `audit_alarms`, `audit_alarm_attempts`, `audit_alarm_digests`). */
  override get supportsAlarms(): boolean {
    return true;
  }

  /**
   * Leases due alarm messages to a dispatcher (see {@link AuditStore.claimAlarms}), in one
   * `BEGIN IMMEDIATE` transaction; when nothing is due, no lock is taken at all.
   */
  override claimAlarms(request: AlarmClaimRequest): Promise<AlarmClaim[]> {
    return this.call('claimAlarms', () => ({ op: 'claimAlarms', request }));
  }

  /** Records attempts and settles their messages (see {@link AuditStore.settleAlarms}). */
  override settleAlarms(settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    return this.call('settleAlarms', () => ({ op: 'settleAlarms', settlements }));
  }

  /** Outbox entries, newest first. */
  override listAlarms(query?: AlarmListQuery): Promise<StoredAlarm[]> {
    return this.call('listAlarms', () => ({ op: 'listAlarms', query }));
  }

  /** Recorded delivery attempts, newest first. */
  override listAlarmAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    return this.call('listAlarmAttempts', () => ({ op: 'listAlarmAttempts', query }));
  }

  /** Outbox entries per status. */
  override alarmStats(): Promise<AlarmOutboxStats> {
    return this.call('alarmStats', () => ({ op: 'alarmStats' }));
  }

  /** One page of matching events, newest first. */
  async query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    const payloads = await this.call('query', () => ({ op: 'query', query }));
    return pageOfPayloads(payloads, query.limit);
  }

  /** Every event on one resource, oldest first. */
  async history(resourceType: string, resourceId: string): Promise<AuditEvent[]> {
    const payloads = await this.call('history', () => ({
      op: 'history',
      resourceType,
      resourceId,
    }));
    return payloads.map(parsePayload);
  }

  /** One event by id, or `undefined`. */
  async get(id: string): Promise<AuditEvent | undefined> {
    const payload = await this.call('get', () => ({ op: 'get', id }));
    return payload === undefined ? undefined : parsePayload(payload);
  }

  /**
   * Closes the database (and its worker thread), after the calls already made. Calling it again
   * does nothing.
   */
  override async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const opening = this.opening;
    this.opening = undefined;
    this.backend = undefined;
    if (opening !== undefined) {
      const backend = await opening.catch(() => undefined);
      await backend?.close();
    } else if (this.source.kind === 'instance' && this.source.db.open) {
      this.source.db.close();
    }
  }

  private async openBackend(): Promise<SqliteBackend> {
    const settings: SqliteConnectionSettings = {
      synchronous: this.synchronous,
      busyTimeoutMs: this.busyTimeoutMs,
    };
    if (this.source.kind === 'path') {
      // Loaded here too, so that a missing or broken driver is reported before a thread starts.
      loadSqliteDriver();
      const client = await SqliteWorkerClient.start(this.source.path, settings);
      this.location = client.location;
      return client;
    }
    const db = this.source.kind === 'instance' ? this.source.db : this.created(this.source.create);
    const connection = SqliteConnection.open({ kind: 'database', db }, settings);
    this.location = connection.location;
    return new InThreadBackend(connection);
  }

  private created(create: () => object): SqliteDatabase {
    const db = create();
    if (!isSqliteDatabase(db)) {
      throw new TypeError(
        `The SqliteAuditStore "database" factory returned ${describe(db)}: return an open better-sqlite3 Database.`,
      );
    }
    this.location = db.name;
    return db;
  }

  /**
   * Builds a request and runs it on the open connection (waiting for an `init()` in progress);
   * every failure, including building the request, is a rejection.
   */
  private async call<R extends SqliteRequest>(
    operation: string,
    build: () => R,
  ): Promise<SqliteResult<R>> {
    const backend = this.backend ?? (await this.whenOpen(operation));
    return backend.call(build());
  }

  private whenOpen(operation: string): Promise<SqliteBackend> {
    if (this.closed) {
      return Promise.reject(
        new Error(
          `SqliteAuditStore.${operation}() was called after close(): the database "${this.location}" is closed. Create a new SqliteAuditStore to use it again.`,
        ),
      );
    }
    if (this.opening === undefined) {
      return Promise.reject(
        new Error(
          `SqliteAuditStore.${operation}() was called before init(): await store.init() first (AuditModule does it when the application starts).`,
        ),
      );
    }
    return this.opening;
  }
}
