import { mkdirSync } from 'node:fs';
import { createIfMissing } from '../../common/file-mode';
import { dirname, resolve } from 'node:path';
import { SqliteAlarmOutbox } from './sqlite-alarm-outbox';
import {
  loadSqliteDriver,
  nativeAddonError,
  prepareStatement,
  type SqliteDatabase,
  type SqliteStatement,
  type SqliteTransaction,
} from './sqlite-driver';
import {
  SQLITE_PAYLOAD_COLUMN,
  type SqliteAppend,
  type SqliteConnectionSettings,
  type SqliteRequest,
  type SqliteResult,
} from './sqlite-protocol';
import {
  buildSqliteQuery,
  SQLITE_GET_SQL,
  SQLITE_HISTORY_SQL,
  SQLITE_INSERT_SQL,
} from './sqlite-query';
import {
  chainRowOf,
  registerChainFunction,
  SQLITE_CHAIN_AT_SQL,
  SQLITE_CHAIN_HEAD_SQL,
  SQLITE_CHAIN_ROWS_SQL,
  SQLITE_INSERT_CHAINED_PAYLOAD_SQL,
  SQLITE_UNCHAINED_EVENTS_SQL,
  type SqliteChainRecord,
} from './sqlite-chain';
import { canonicalEventJson } from '../../integrity/canonical';
import { SQLITE_RELAY_DELETE_SQL, SQLITE_RELAY_UNSTREAMED_SQL } from './sqlite-stream-relay';
import { migrateSqliteSchema } from './sqlite.schema';
import { AuditStoreError } from '../../common/audit-store.error';
import { messageOf } from '../../common/message-of';

/** What a connection is opened on: a file the store opens itself, or the application's database. */
export type SqliteConnectionTarget =
  | { kind: 'path'; path: string }
  /** `shared`: the application keeps using the database, so a failed open leaves it open. */
  | { kind: 'database'; db: SqliteDatabase; shared?: boolean };

/**
 * Pages SQLite keeps in memory per connection (negative: KiB). The default 2 MB holds a few
 * hundred pages; a 1M-event database has ~300 MB of indexes, and each commit and query walks
 * their upper levels, which then stay cached instead of being read from the OS every time.
 */
const CACHE_SIZE_KIB = 32 * 1024;

/**
 * Page size of a database the store creates (SQLite's default, set explicitly so the reasoning
 * stays next to it). With payloads in their own table, a ~1.3 KB payload row fills a 4 KB page
 * three times and the narrow event rows and index entries pack densely, so the file is no larger
 * than with 1 KB pages (1.78 GB vs 1.81 GB at 1M events, after ordinary inserts); and each
 * commit walks and splits fewer, shallower b-tree pages: fewer CPU microseconds per event,
 * which bounds ingest at 1M events more than the bytes written to the WAL do.
 * An existing database keeps its page size (changing it takes a VACUUM).
 */
const NEW_DATABASE_PAGE_SIZE = 4096;

/**
 * WAL size (bytes) at which a commit copies the WAL back into the database. Far larger than
 * SQLite's 1000 pages: the pages every commit changes (the tail of each table and the tail of
 * each action's and tenant's range in their indexes, ~150 of a commit's ~450 pages) are then
 * copied once per checkpoint instead of once per few commits. At 1M events, 64 MB ingested
 * 10-30% more events per second than 16 MB; the WAL file stays about this size on disk.
 */
const WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024;

/**
 * The driver lifecycle of the SQLite store, written once for both places it runs: on the
 * application's thread (a `database` given by the application) and in the store's worker thread
 * (a `path`). It opens and configures the connection, migrates the schema, prepares the
 * statements and runs {@link SqliteRequest}s.
 */
export class SqliteConnection {
  private readonly insertBatches: SqliteTransaction<[readonly SqliteAppend[]]>;
  private readonly outbox: SqliteAlarmOutbox;
  private readonly deleteStreamed: SqliteStatement;
  /** Bounded: there is one statement per combination of query filters at most. */
  private readonly statements = new Map<string, SqliteStatement>();

  private constructor(
    private readonly db: SqliteDatabase,
    /** The resolved file (or database name), for messages. */
    readonly location: string,
  ) {
    const insertEvent = prepareStatement(db, SQLITE_INSERT_SQL);
    const insertPayload = prepareStatement(db, SQLITE_INSERT_CHAINED_PAYLOAD_SQL);
    this.outbox = new SqliteAlarmOutbox(db);
    this.deleteStreamed = prepareStatement(db, SQLITE_RELAY_DELETE_SQL);
    this.insertBatches = db.transaction((batches: readonly SqliteAppend[]) => {
      for (const { rows, alarms } of batches) {
        for (const row of rows) {
          const inserted = insertEvent.run(...row.slice(0, SQLITE_PAYLOAD_COLUMN));
          // A skipped id keeps the payload stored (and chained) with it first.
          if (inserted.changes === 0) continue;
          // Made here, in the store's worker when it has one, rather than on the caller's thread.
          const canonical = canonicalEventJson(row[SQLITE_PAYLOAD_COLUMN]);
          insertPayload.run(Number(inserted.lastInsertRowid), canonical, canonical);
        }
        this.outbox.insert(alarms);
      }
    });
  }

  /**
   * Opens the target (creating the file and its directory if needed), switches it to WAL mode
   * and migrates the schema. On failure a database the connection opened or was given is closed,
   * unless it is shared with the application.
   * @throws AuditError (AuditStoreError, AuditConfigurationError) naming the location, the cause and what to do about it.
   */
  static open(
    target: SqliteConnectionTarget,
    settings: SqliteConnectionSettings,
  ): SqliteConnection {
    const db = target.kind === 'database' ? target.db : openFile(target.path, settings);
    const location = target.kind === 'path' ? locationOf(target.path) : db.name;
    try {
      configure(db, settings, location);
      // Before the statements are prepared: the chained insert calls it.
      registerChainFunction(db);
      migrateSqliteSchema(db, location);
      return new SqliteConnection(db, location);
    } catch (error) {
      if (target.kind === 'path' || !target.shared) db.close();
      throw error;
    }
  }

  /** Runs one request on this connection. */
  handle<R extends SqliteRequest>(request: R): SqliteResult<R>;
  handle(request: SqliteRequest): SqliteResult<SqliteRequest> {
    switch (request.op) {
      case 'append':
        this.appendAll([request]);
        return undefined;
      case 'query': {
        const { sql, params } = buildSqliteQuery(request.query);
        return this.statement(sql).all(...params) as string[];
      }
      case 'history':
        return this.statement(SQLITE_HISTORY_SQL).all(
          request.resourceType,
          request.resourceId,
        ) as string[];
      case 'get':
        return this.statement(SQLITE_GET_SQL).get(request.id) as string | undefined;
      case 'claimAlarms':
        return this.outbox.claim(request.request);
      case 'settleAlarms':
        return this.outbox.settle(request.settlements);
      case 'listAlarms':
        return this.outbox.list(request.query);
      case 'listAlarmAttempts':
        return this.outbox.listAttempts(request.query);
      case 'alarmStats':
        return this.outbox.stats();
      case 'unstreamed':
        return this.statement(SQLITE_RELAY_UNSTREAMED_SQL).all(
          request.appendedBy,
          request.limit,
        ) as string[];
      case 'markStreamed':
        this.deleteStreamed.run(JSON.stringify(request.ids));
        return undefined;
      case 'chainRows': {
        const records = this.statement(SQLITE_CHAIN_ROWS_SQL, 'raw').all(
          request.after,
          request.limit,
        );
        return (records as SqliteChainRecord[]).map(chainRowOf);
      }
      case 'chainRowAt': {
        const found = this.statement(SQLITE_CHAIN_AT_SQL, 'raw').get(request.seq) as
          [number, Uint8Array | null] | undefined;
        return found && { position: found[0], hash: found[1] };
      }
      case 'chainHead': {
        const head = this.statement(SQLITE_CHAIN_HEAD_SQL, 'raw').get() as
          [number, Uint8Array] | undefined;
        return head && { seq: head[0], hash: head[1] };
      }
      case 'unchainedEvents': {
        const rows = this.statement(SQLITE_UNCHAINED_EVENTS_SQL, 'raw').all(request.limit);
        return (rows as [number, string][]).map(([position, id]) => ({ position, id }));
      }
    }
  }

  /**
   * Stores several appends in one transaction (one commit, one fsync): all of them or none.
   * Ids and dedup keys already stored, or stored by an earlier append of the list, are skipped.
   */
  appendAll(batches: readonly SqliteAppend[]): void {
    if (batches.some(({ rows, alarms }) => rows.length > 0 || alarms.length > 0)) {
      this.insertBatches.immediate(batches);
    }
  }

  /**
   * Forgets the prepared statements and closes the connection.
   * @param closeDatabase - false leaves a database the application still uses open
   */
  close(closeDatabase = true): void {
    this.statements.clear();
    if (closeDatabase) this.db.close();
  }

  /**
   * A cached statement whose reads return the first column (`'pluck'`) or each row as an array
   * (`'raw'`); each SQL text is always read one way.
   */
  private statement(sql: string, rows: 'pluck' | 'raw' = 'pluck'): SqliteStatement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      const prepared = prepareStatement(this.db, sql);
      statement = rows === 'raw' ? prepared.raw() : prepared.pluck();
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function locationOf(path: string): string {
  return path === ':memory:' ? path : resolve(path);
}

function configure(db: SqliteDatabase, settings: SqliteConnectionSettings, location: string): void {
  try {
    // busy_timeout first, so that switching to WAL waits for other connections too.
    db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
    // A reader's connection (the CLI's) leaves the file's layout as it is: query_only does not
    // stop a switch to WAL, which would rewrite a database kept in another journal mode.
    if (Number(db.pragma('query_only', { simple: true })) !== 1) {
      // Only before the first table exists, and before WAL mode, which fixes the page size.
      if (prepareStatement(db, 'SELECT count(*) FROM sqlite_schema').pluck().get() === 0) {
        db.pragma(`page_size = ${NEW_DATABASE_PAGE_SIZE}`);
      }
      db.pragma('journal_mode = WAL');
    }
    db.pragma(`synchronous = ${settings.synchronous}`);
    db.pragma(`cache_size = -${CACHE_SIZE_KIB}`);
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    db.pragma(`wal_autocheckpoint = ${Math.ceil(WAL_CHECKPOINT_BYTES / pageSize)}`);
  } catch (error) {
    throw openError(location, error);
  }
}

function openFile(path: string, settings: SqliteConnectionSettings): SqliteDatabase {
  const Driver = loadSqliteDriver();
  if (path === ':memory:') {
    try {
      return new Driver(path);
    } catch (error) {
      throw nativeAddonError(error) ?? error;
    }
  }
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
    createIfMissing(file, settings.fileMode);
  } catch (error) {
    const reason = messageOf(error);
    throw new AuditStoreError(
      `Cannot create the audit database "${file}" or its directory: ${reason}. Create the directory, or set "path" to a writable location.`,
      { cause: error },
    );
  }
  try {
    return new Driver(file, { timeout: settings.busyTimeoutMs });
  } catch (error) {
    // The driver loads its native addon here, on the first open: a build for another Node.js
    // must not read as a problem with the path.
    throw nativeAddonError(error) ?? openError(file, error);
  }
}

function openError(location: string, error: unknown): AuditStoreError {
  const reason = messageOf(error);
  return new AuditStoreError(
    `Cannot open the audit database "${location}": ${reason}. Check that the path is a SQLite database written by nestjs-audit (or a new file) and that the process may read and write it.`,
    { cause: error },
  );
}
