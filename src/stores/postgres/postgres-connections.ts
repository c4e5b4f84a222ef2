import { loadPostgresDriver, type PostgresPool, type PostgresPoolClient } from './postgres-driver';
import { postgresStoreError } from './postgres-errors';
import type { PostgresPoolSource } from './postgres-options';
import type { PostgresStatement } from './postgres-query';
import { PostgresSession, type PostgresTimeouts } from './postgres-session';
import { AuditStoreError } from '../../common/audit-store.error';

/**
 * The connections of one {@link PostgresAuditStore}: the pool (created on first use when the
 * store owns it), bounded checkouts, and the fewest round trips each kind of work needs.
 */
export class PostgresConnections {
  /** Created on first use when the store owns the pool; kept for a retried `init()`. */
  private ownedPool: PostgresPool | undefined;

  /**
   * @param source the pool to create, or the application's.
   * @param timeouts limits applied to every statement.
   * @param connectionTimeoutMs longest wait for a connection.
   */
  constructor(
    private readonly source: PostgresPoolSource,
    private readonly timeouts: PostgresTimeouts,
    private readonly connectionTimeoutMs: number,
  ) {}

  /** Whether the store created the pool, whose sessions then carry its statement_timeout. */
  get owned(): boolean {
    return this.source.kind === 'owned';
  }

  /**
   * The pool, created on first call when the store owns it.
   * @throws AuditConfigurationError naming `npm install pg` when the store must create a pool and pg is missing.
   */
  pool(): PostgresPool {
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

  /** Ends the pool when the store created it; the application's pool is left open. */
  async end(): Promise<void> {
    const owned = this.ownedPool;
    this.ownedPool = undefined;
    await owned?.end();
  }

  /**
   * Runs statements that must all commit or none: one round trip when there is one statement
   * and the sessions carry the store's timeout (a statement is a transaction on its own), else
   * one transaction.
   */
  async run(statements: readonly PostgresStatement[]): Promise<void> {
    await this.withSession(async (session) => {
      const [only] = statements;
      if (this.owned && statements.length === 1 && only) {
        await session.sql(only.text, only.values);
        return;
      }
      await session.transaction(async (sql) => {
        for (const statement of statements) await sql(statement.text, statement.values);
      });
    });
  }

  /** Runs one read-only statement and returns its rows. */
  rows(statement: PostgresStatement): Promise<unknown[][]> {
    return this.withSession((session) =>
      this.owned
        ? session.sql(statement.text, statement.values)
        : // A pool of the application's has no statement_timeout of ours on its sessions.
          session.transaction((sql) => sql(statement.text, statement.values)),
    );
  }

  /**
   * Checks a connection out for `work` and gives it back, or discards it when a statement left
   * it in an unknown state (client-side timeout, broken socket).
   */
  async withSession<T>(work: (session: PostgresSession) => Promise<T>): Promise<T> {
    const client = await this.connect(this.pool());
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
          new AuditStoreError(
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
}

/**
 * The rows of one read-only statement, or the store's error saying it could not do `what`.
 * @param table the store's qualified table name, for the message.
 */
export async function readRows(
  connections: PostgresConnections,
  table: string,
  what: string,
  statement: PostgresStatement,
): Promise<unknown[][]> {
  try {
    return await connections.rows(statement);
  } catch (error) {
    throw postgresStoreError(table, what, error);
  }
}
