import type { PostgresPoolClient } from './postgres-driver';
import { isStatementError } from './postgres-errors';
import { storeTypes } from './postgres-types';

/** Runs one parameterised statement and returns its rows as arrays of column values. */
export type PostgresSql = (text: string, values?: unknown[]) => Promise<unknown[][]>;

/** Time limits applied to the statements of a session. */
export interface PostgresTimeouts {
  /** Server-side `statement_timeout` for the statements of a transaction, in milliseconds. */
  statementTimeoutMs: number;
  /**
   * Client-side limit per statement, in milliseconds: the last resort when the server cannot
   * answer at all (network loss), a little longer than the server-side limit so that the
   * server's clearer error normally wins.
   */
  queryTimeoutMs: number;
}

/**
 * One connection checked out of the pool, and how the store runs statements on it: every
 * statement with the client-side timeout, and a record of whether the connection can still be
 * trusted, so that it is returned to the pool only when it can.
 */
export class PostgresSession {
  /** Whether a statement failed in a way that leaves the connection unusable. */
  broken = false;

  /**
   * @param client the checked-out connection.
   * @param timeouts limits applied to its statements.
   */
  constructor(
    private readonly client: PostgresPoolClient,
    private readonly timeouts: PostgresTimeouts,
  ) {}

  /** Runs one statement outside any explicit transaction (one statement commits on its own). */
  readonly sql: PostgresSql = (text, values) => this.run(text, values ?? []);

  /**
   * Runs `work` in one transaction, with `statement_timeout` set for that transaction only
   * (`SET LOCAL`), so a pool shared with the application keeps its own session settings.
   * Rolls back when `work` fails; a broken connection is not rolled back (there is no one to
   * answer): it is discarded, which aborts the transaction on the server.
   */
  async transaction<T>(work: (sql: PostgresSql) => Promise<T>): Promise<T> {
    // Without values, pg sends both commands in one round trip (simple query protocol).
    await this.run(
      `BEGIN; SET LOCAL statement_timeout = ${Math.trunc(this.timeouts.statementTimeoutMs)}`,
    );
    try {
      const result = await work(this.sql);
      await this.run('COMMIT');
      return result;
    } catch (error) {
      // The error of the work is the one worth reporting; a failed ROLLBACK marks the
      // connection broken, so it is discarded and its transaction ends with it.
      if (!this.broken) await this.run('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private async run(text: string, values?: unknown[]): Promise<unknown[][]> {
    try {
      const types = storeTypes();
      const result = await this.client.query({
        text,
        ...(values === undefined ? {} : { values, rowMode: 'array' as const }),
        query_timeout: this.timeouts.queryTimeoutMs,
        ...(types === undefined ? {} : { types }),
      });
      // Several commands in one simple query answer with one result each, without rows here.
      return (result.rows as unknown[][] | undefined) ?? [];
    } catch (error) {
      if (!isStatementError(error)) this.broken = true;
      throw error;
    }
  }
}
