import { SqliteAuditStore } from '../../src';
import type { AuditQueryResult, NormalizedAuditQuery } from '../../src/query/audit-query';

/**
 * The real SQLite store, counting the reads it is asked for and the events they return, and
 * able to fail one of them (a disk or connection error in the middle of an export).
 */
export class CountingSqliteStore extends SqliteAuditStore {
  /** Calls to query() so far. */
  queries = 0;
  /** Events the calls to query() returned so far. */
  eventsRead = 0;
  /** The first query() started once this many events were read fails; none when undefined. */
  failAfterEvents: number | undefined;

  override async query(query: NormalizedAuditQuery): Promise<AuditQueryResult> {
    this.queries += 1;
    if (this.failAfterEvents !== undefined && this.eventsRead >= this.failAfterEvents) {
      throw new Error('SQLITE_IOERR: disk I/O error (test store)');
    }
    const result = await super.query(query);
    this.eventsRead += result.items.length;
    return result;
  }
}
