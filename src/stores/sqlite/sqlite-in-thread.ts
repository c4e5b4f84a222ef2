import { settle } from '../settle';
import type { SqliteConnection } from './sqlite-connection';
import type { SqliteDatabase } from './sqlite-driver';
import type { SqliteBackend, SqliteRequest, SqliteResult } from './sqlite-protocol';
import { sqliteStoreError } from './sqlite-errors';
import { AuditStoreError } from '../../common/audit-store.error';

/** How often a call waiting for the application's transaction looks again, in milliseconds. */
const TRANSACTION_POLL_MS = 1;

/**
 * Runs requests on the caller's thread, for a database the application handed in.
 *
 * The application may share that connection (an ORM's, for the atomic mode): a transaction it
 * opened stays open across its awaits, and anything run on the connection meanwhile would join
 * it, to be rolled back with it. So a call waits until no transaction is open on the connection,
 * as long as the busy timeout (a write to a file locked by another connection waits as long).
 */
export class InThreadBackend implements SqliteBackend {
  constructor(
    private readonly connection: SqliteConnection,
    private readonly db: SqliteDatabase,
    private readonly busyTimeoutMs: number,
    /** Whether `close()` closes the database (false when the application keeps using it). */
    private readonly closesDatabase: boolean,
  ) {}

  async call<R extends SqliteRequest>(request: R): Promise<SqliteResult<R>> {
    if (this.db.inTransaction) await this.outsideTransaction(request.op);
    try {
      return this.connection.handle(request);
    } catch (error) {
      throw sqliteStoreError(this.connection.location, request.op, error);
    }
  }

  close(): Promise<void> {
    return settle(() => this.connection.close(this.closesDatabase));
  }

  /** Resolves once no transaction is open on the connection (checked again after every wait). */
  private async outsideTransaction(operation: string): Promise<void> {
    const deadline = Date.now() + this.busyTimeoutMs;
    while (this.db.inTransaction) {
      if (Date.now() >= deadline) {
        throw new AuditStoreError(
          `nestjs-audit: the SQLite audit store ("${this.connection.location}") could not run ${operation}: a transaction of the application stayed open on the shared connection for ${this.busyTimeoutMs} ms (busyTimeoutMs). Do not wait for an audit write inside a transaction on that connection.`,
        );
      }
      await new Promise<void>((resolve) => setTimeout(resolve, TRANSACTION_POLL_MS));
    }
  }
}
