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
} from '../alarms/alarm-outbox';
import type { AuditEvent } from '../event/audit-event';
import type { AuditQueryResult, NormalizedAuditQuery } from '../query/audit-query';

/**
 * The storage contract, and the DI token of the store in use.
 *
 * Implementations persist events and answer the query paths the library promises. Only the
 * pipeline writes to a store. Optional hooks have safe defaults so that a capability added
 * later never breaks a third-party store.
 *
 * **Alarm outbox** (optional capability, {@link AuditStore.supportsAlarms}): alarms raised by an
 * event are stored by the same `append()` transaction as the event, then claimed, settled and
 * listed by the alarm dispatcher through the `*Alarm*` methods. The contract of those methods:
 *
 * - Each entry is unique by `dedupKey`: appending a stored key again is a no-op.
 * - An entry without `digestKey` is one message. It is due from its `createdAt`, and after a
 *   failed attempt from the `nextAttemptAt` of that settlement.
 * - Entries sharing a `digestKey` are sent as groups: a claim turns every pending entry of the
 *   key that is not in a group yet into one group (its oldest entry is the head, whose dedup key
 *   is the message id), and does so at most once per `throttleMs` (the head's) per key, across
 *   every store instance on the same database. Entries raised while the key is throttled wait
 *   for the next group. A group never changes once formed, so a retried message carries the
 *   same entries and the same count, and every entry is counted in exactly one message.
 * - A claimed message is leased until `now + leaseMs`: no other claim returns it until it is
 *   settled or its lease expires (a dispatcher that died), so a message is sent by one
 *   dispatcher at a time.
 * - Settling records the attempt and, in the same transaction, marks the message (and its group)
 *   delivered or dead, or schedules its next attempt.
 *
 * @example
 * ```ts
 * constructor(private readonly store: AuditStore) {}
 * ```
 */
export abstract class AuditStore {
  /** Short engine name used in messages and health reports, e.g. `sqlite`. */
  abstract readonly engine: string;

  /** Creates or migrates the schema. Called once before the first write. */
  async init(): Promise<void> {}

  /**
   * Persists events, and the alarm outbox entries they raised, atomically (all or none).
   * Inserting an event whose id, or an entry whose dedup key, is already stored is a no-op, so
   * a retried batch never duplicates records or alarms.
   *
   * `alarms` is only passed to stores whose {@link AuditStore.supportsAlarms} is true.
   */
  abstract append(
    events: readonly AuditEvent[],
    alarms?: readonly AlarmOutboxEntry[],
  ): Promise<void>;

  /** One page of events matching the filter, newest first (timestamp desc, id desc). */
  abstract query(query: NormalizedAuditQuery): Promise<AuditQueryResult>;

  /** Every event on one resource, oldest first. */
  abstract history(resourceType: string, resourceId: string): Promise<AuditEvent[]>;

  /** One event by id, or `undefined`. */
  abstract get(id: string): Promise<AuditEvent | undefined>;

  /**
   * Whether this store keeps the alarm outbox: `append()` accepts alarms and the `*Alarm*`
   * methods work. A store that returns false cannot be used with `alarms` rules.
   */
  get supportsAlarms(): boolean {
    return false;
  }

  /**
   * Leases up to `limit` messages that are due at `now` to the caller, most severe first
   * (critical, high, medium, low, info), then oldest due, then oldest stored: single
   * entries and digest heads whose next attempt is due and whose lease is free or expired, after
   * forming the groups of digest keys whose throttle period is over (see the class comment).
   * @returns one claim per message, each with the lease token `settleAlarms()` needs.
   */
  claimAlarms(_request: AlarmClaimRequest): Promise<AlarmClaim[]> {
    return Promise.reject(noAlarmOutbox(this, 'claimAlarms'));
  }

  /**
   * Records each attempt and settles its message, each settlement in one transaction:
   * - `delivered`: the entry and every member of its digest group become `delivered`
   *   (`deliveredWith` = the head's seq). Applied while the entry is pending, even when the
   *   lease was lost, so that a message known to be delivered is not sent again.
   * - `failed`: attempts + 1, `lastError`, `nextAttemptAt`, and the lease is released.
   * - `dead`: the entry and its group become `dead`, with `lastError`.
   *
   * `failed` and `dead` apply only while the settlement's lease is still the entry's own.
   * @returns per settlement, whether the entry was updated (false: the lease was lost, or the
   *   entry was settled already); the attempt is recorded either way.
   */
  settleAlarms(_settlements: readonly AlarmSettlement[]): Promise<boolean[]> {
    return Promise.reject(noAlarmOutbox(this, 'settleAlarms'));
  }

  /** Outbox entries matching the filter, newest first (seq desc). */
  listAlarms(_query?: AlarmListQuery): Promise<StoredAlarm[]> {
    return Promise.reject(noAlarmOutbox(this, 'listAlarms'));
  }

  /** Recorded delivery attempts matching the filter, newest first. */
  listAlarmAttempts(_query?: AlarmAttemptQuery): Promise<AlarmAttempt[]> {
    return Promise.reject(noAlarmOutbox(this, 'listAlarmAttempts'));
  }

  /** Entries per status and the oldest pending one, for `health()`. */
  alarmStats(): Promise<AlarmOutboxStats> {
    return Promise.reject(noAlarmOutbox(this, 'alarmStats'));
  }

  /** Releases resources. Called once on application shutdown, after the last write. */
  async close(): Promise<void> {}
}

/** The rejection of an outbox method on a store that does not implement the outbox. */
function noAlarmOutbox(store: AuditStore, method: string): Error {
  const name = store.constructor.name || 'this store';
  return new Error(
    `nestjs-audit: ${name} (engine "${store.engine}") keeps no alarm outbox, so ${method}() is not available. Use SqliteAuditStore, PostgresAuditStore or InMemoryAuditStore for alarms, or implement supportsAlarms, append(events, alarms), claimAlarms, settleAlarms, listAlarms, listAlarmAttempts and alarmStats in ${name}.`,
  );
}
