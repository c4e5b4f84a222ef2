import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
import { uniqueAlarmColumns, type AlarmColumns } from '../alarm-columns';
import { AuditStore } from '../audit-store';
import { toEventColumns } from '../event-columns';
import { settle } from '../settle';
import {
  isSqliteDatabase,
  loadSqliteDriver,
  type SqliteDatabase,
  type SqliteStatement,
  type SqliteTransaction,
} from './sqlite-driver';
import {
  buildSqliteQuery,
  SQLITE_GET_SQL,
  SQLITE_HISTORY_SQL,
  SQLITE_INSERT_SQL,
} from './sqlite-query';
import { SqliteAlarmOutbox } from './sqlite-alarm-outbox';
import { migrateSqliteSchema } from './sqlite.schema';

/** Options of {@link SqliteAuditStore}. */
export interface SqliteAuditStoreOptions {
  /**
   * Database file, relative to the working directory. Missing parent directories are
   * created. `':memory:'` keeps everything in memory (lost on close). Not allowed together
   * with `database`.
   * @default './audit.db'
   */
  path?: string;
  /**
   * An open better-sqlite3 `Database`, or a function returning one that is called by
   * `init()`. The store owns it from then on: it sets WAL mode, migrates the schema (using
   * `PRAGMA user_version`, so give the audit trail a database of its own) and closes it in
   * `close()`. Not allowed together with `path`.
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
   * better-sqlite3 is synchronous: the event loop is blocked while it waits.
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

type EventRow = [
  id: string,
  ts: number,
  action: string,
  outcome: string,
  actorId: string | null,
  resourceType: string | null,
  resourceId: string | null,
  requestId: string | null,
  tenant: string | null,
  schemaVersion: number,
  payload: string,
];

interface OpenState {
  db: SqliteDatabase;
  insertBatch: SqliteTransaction<[rows: EventRow[], alarms: AlarmColumns[]]>;
  outbox: SqliteAlarmOutbox;
  /** Bounded: there is one statement per combination of query filters at most. */
  statements: Map<string, SqliteStatement>;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 10))}`;
}

function optionError(name: string, problem: string): TypeError {
  return new TypeError(`Invalid SqliteAuditStore option "${name}": ${problem}.`);
}

function toRow(event: AuditEvent): EventRow {
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
    JSON.stringify(event),
  ];
}

function parse(payload: string): AuditEvent {
  return JSON.parse(payload) as AuditEvent;
}

/**
 * The embedded default {@link AuditStore}: one SQLite file in WAL mode, through better-sqlite3
 * (loaded on `init()`, so applications using another store do not need it).
 *
 * Each `append()` is one transaction. better-sqlite3 is synchronous, so a call blocks the event
 * loop for its whole batch: give it batches of about 100 events (a 1000-row commit blocks for
 * tens of milliseconds).
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
  private state: 'new' | OpenState | 'closed' = 'new';

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
  override init(): Promise<void> {
    return settle(() => {
      if (this.state === 'closed') {
        throw new Error(
          `SqliteAuditStore.init() was called after close() (database "${this.location}"): create a new SqliteAuditStore instead.`,
        );
      }
      if (this.state !== 'new') return;
      const db = this.open();
      try {
        migrateSqliteSchema(db, this.location);
        const insert = db.prepare(SQLITE_INSERT_SQL);
        const outbox = new SqliteAlarmOutbox(db);
        const insertBatch = db.transaction((rows: EventRow[], alarms: AlarmColumns[]) => {
          for (const row of rows) insert.run(...row);
          outbox.insert(alarms);
        });
        this.state = { db, insertBatch, outbox, statements: new Map() };
      } catch (error) {
        db.close();
        throw error;
      }
    });
  }

  /**
   * Stores the events and the alarm outbox entries they raised in one transaction; event ids
   * and dedup keys already stored are skipped.
   */
  append(events: readonly AuditEvent[], alarms?: readonly AlarmOutboxEntry[]): Promise<void> {
    return settle(() => {
      const { insertBatch } = this.ready('append');
      // Validated and serialised before BEGIN, so the write lock is held only for the inserts.
      const rows = events.map(toRow);
      const alarmRows = uniqueAlarmColumns(alarms);
      if (rows.length === 0 && alarmRows.length === 0) return;
      insertBatch.immediate(rows, alarmRows);
    });
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
    return settle(() => this.ready('claimAlarms').outbox.claim(request));
  }

  /** Records attempts and settles their messages (see {@link AuditStore.settleAlarms}). */
  override settleAlarms(settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    return settle(() => this.ready('settleAlarms').outbox.settle(settlements));
  }

  /** Outbox entries, newest first. */
  override listAlarms(query?: AlarmListQuery): Promise<StoredAlarm[]> {
    return settle(() => this.ready('listAlarms').outbox.list(query));
  }

  /** Recorded delivery attempts, newest first. */
  override listAlarmAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    return settle(() => this.ready('listAlarmAttempts').outbox.listAttempts(query));
  }

  /** Outbox entries per status. */
  override alarmStats(): Promise<AlarmOutboxStats> {
    return settle(() => this.ready('alarmStats').outbox.stats());
  }

  /** One page of matching events, newest first. */
  query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    return settle(() => {
      const { sql, params } = buildSqliteQuery(query);
      const payloads = this.statement('query', sql).all(...params) as string[];
      const more = payloads.length > query.limit;
      const items = (more ? payloads.slice(0, query.limit) : payloads).map(parse);
      const result: AuditQueryResult = { items };
      const last = items[items.length - 1];
      if (more && last) {
        result.nextCursor = encodeCursor({ ts: Date.parse(last.timestamp), id: last.id });
      }
      return result;
    });
  }

  /** Every event on one resource, oldest first. */
  history(resourceType: string, resourceId: string): Promise<AuditEvent[]> {
    return settle(() => {
      const statement = this.statement('history', SQLITE_HISTORY_SQL);
      return (statement.all(resourceType, resourceId) as string[]).map(parse);
    });
  }

  /** One event by id, or `undefined`. */
  get(id: string): Promise<AuditEvent | undefined> {
    return settle(() => {
      const payload = this.statement('get', SQLITE_GET_SQL).get(id) as string | undefined;
      return payload === undefined ? undefined : parse(payload);
    });
  }

  /** Closes the database. Calling it again does nothing. */
  override close(): Promise<void> {
    return settle(() => {
      const state = this.state;
      this.state = 'closed';
      if (typeof state === 'object') {
        state.statements.clear();
        state.db.close();
      } else if (state === 'new' && this.source.kind === 'instance') {
        this.source.db.close();
      }
    });
  }

  private open(): SqliteDatabase {
    let db: SqliteDatabase;
    if (this.source.kind === 'instance') {
      db = this.source.db;
    } else if (this.source.kind === 'factory') {
      const created = this.source.create();
      if (!isSqliteDatabase(created)) {
        throw new TypeError(
          `The SqliteAuditStore "database" factory returned ${describe(created)}: return an open better-sqlite3 Database.`,
        );
      }
      db = created;
      this.location = db.name;
    } else {
      db = this.openFile(this.source.path);
    }
    try {
      // busy_timeout first, so that switching to WAL waits for other connections too.
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${this.synchronous}`);
    } catch (error) {
      db.close();
      throw this.openError(error);
    }
    return db;
  }

  private openFile(path: string): SqliteDatabase {
    const Driver = loadSqliteDriver();
    if (path === ':memory:') return new Driver(path);
    const file = resolve(path);
    this.location = file;
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Cannot create the directory of the audit database "${file}": ${reason}. Create it, or set "path" to a writable location.`,
        { cause: error },
      );
    }
    try {
      return new Driver(file, { timeout: this.busyTimeoutMs });
    } catch (error) {
      throw this.openError(error);
    }
  }

  private openError(error: unknown): Error {
    const reason = error instanceof Error ? error.message : String(error);
    return new Error(
      `Cannot open the audit database "${this.location}": ${reason}. Check that the path is a SQLite database written by nestjs-audit (or a new file) and that the process may read and write it.`,
      { cause: error },
    );
  }

  private ready(operation: string): OpenState {
    if (this.state === 'new') {
      throw new Error(
        `SqliteAuditStore.${operation}() was called before init(): await store.init() first (AuditModule does it when the application starts).`,
      );
    }
    if (this.state === 'closed') {
      throw new Error(
        `SqliteAuditStore.${operation}() was called after close(): the database "${this.location}" is closed. Create a new SqliteAuditStore to use it again.`,
      );
    }
    return this.state;
  }

  private statement(operation: string, sql: string): SqliteStatement {
    const { db, statements } = this.ready(operation);
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql).pluck();
      statements.set(sql, statement);
    }
    return statement;
  }
}
