import { SqliteAuditStore } from '../../src';
import type { AuditQueryResult, NormalizedAuditQuery } from '../../src/query/audit-query';

/**
 * The real SQLite store, counting the pages it is asked for and able to fail one of them (a disk
 * or connection error in the middle of an export).
 */
export class CountingSqliteStore extends SqliteAuditStore {
  /** Calls to query() so far. */
  queries = 0;
  /** The query() call (1-based) that fails; none when undefined. */
  failAtQuery: number | undefined;

  override async query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    this.queries += 1;
    if (this.failAtQuery !== undefined && this.queries >= this.failAtQuery) {
      throw new Error('SQLITE_IOERR: disk I/O error (test store)');
    }
    return super.query(query);
  }
}
