import { AlarmOutbox } from '../alarm-outbox';
import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxStats,
  AlarmSettlement,
  StoredAlarm,
} from '../alarm-outbox-model';
import type { SqliteRequest, SqliteResult } from './sqlite-protocol';

/**
 * How the outbox reaches the store's connection: runs the request `build` makes once the store
 * is open, and rejects naming `operation` before `init()` and after `close()`.
 */
export type SqliteStoreCall = <R extends SqliteRequest>(
  operation: string,
  build: () => R,
) => Promise<SqliteResult<R>>;

/**
 * The alarm outbox of the SQLite store (tables `audit_alarms`, `audit_alarm_attempts`,
 * `audit_alarm_digests`), as the store's callers see it: each operation is one request to the
 * store's connection, run there by `SqliteAlarmOutbox` (on the worker thread with a `path`).
 */
export class SqliteAlarmOutboxClient extends AlarmOutbox {
  /** @param call runs a request on the store's open connection. */
  constructor(private readonly call: SqliteStoreCall) {
    super();
  }

  /**
   * Leases due alarm messages (see {@link AlarmOutbox.claim}) in one `BEGIN IMMEDIATE`
   * transaction; when nothing is due, no lock is taken at all.
   */
  claim(request: AlarmClaimRequest): Promise<AlarmClaim[]> {
    return this.call('alarmOutbox.claim', () => ({ op: 'claimAlarms', request }));
  }

  /** Records attempts and settles their messages (see {@link AlarmOutbox.settle}). */
  settle(settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    return this.call('alarmOutbox.settle', () => ({ op: 'settleAlarms', settlements }));
  }

  /** Outbox entries, newest first. */
  list(query?: AlarmListQuery): Promise<StoredAlarm[]> {
    return this.call('alarmOutbox.list', () => ({ op: 'listAlarms', query }));
  }

  /** Recorded delivery attempts, newest first. */
  listAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    return this.call('alarmOutbox.listAttempts', () => ({ op: 'listAlarmAttempts', query }));
  }

  /** Outbox entries per status. */
  stats(): Promise<AlarmOutboxStats> {
    return this.call('alarmOutbox.stats', () => ({ op: 'alarmStats' }));
  }
}
