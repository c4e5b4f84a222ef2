import type {
  AlarmAttempt,
  AlarmAttemptQuery,
  AlarmClaim,
  AlarmClaimRequest,
  AlarmListQuery,
  AlarmOutboxStats,
  AlarmSettlement,
  StoredAlarm,
} from './alarm-outbox-model';
import type { AuditStore } from './audit-store';
import { AuditConfigurationError } from '../common/audit-configuration.error';

/**
 * The durable alarm outbox of a store: an optional capability, reached through
 * `AuditStore.alarmOutbox`, that the alarm dispatcher claims, settles and lists. Entries are
 * written by the store's own `append(events, alarms)`, in the transaction of the events that
 * raised them; this contract covers what happens to them afterwards:
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
 * Every method fails with a rejection (never a synchronous throw), also when the store it
 * belongs to is not initialised yet or closed already.
 *
 * @example
 * ```ts
 * const dead = await store.alarmOutbox?.list({ status: 'dead' });
 * ```
 */
export abstract class AlarmOutbox {
  /**
   * Leases up to `limit` messages that are due at `now` to the caller, most severe first
   * (critical, high, medium, low, info), then oldest due, then oldest stored: single
   * entries and digest heads whose next attempt is due and whose lease is free or expired, after
   * forming the groups of digest keys whose throttle period is over (see the class comment).
   * @returns one claim per message, each with the lease token `settle()` needs.
   */
  abstract claim(request: AlarmClaimRequest): Promise<AlarmClaim[]>;

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
  abstract settle(settlements: readonly AlarmSettlement[]): Promise<boolean[]>;

  /** Outbox entries matching the filter, newest first (seq desc). */
  abstract list(query?: AlarmListQuery): Promise<StoredAlarm[]>;

  /** Recorded delivery attempts matching the filter, newest first. */
  abstract listAttempts(query?: AlarmAttemptQuery): Promise<AlarmAttempt[]>;

  /** Entries per status and the oldest pending one, for `health()`. */
  abstract stats(): Promise<AlarmOutboxStats>;
}

/**
 * The outbox of `store`, for a caller that needs one.
 * @param use what needs it, for the message, e.g. `listAlarms()`.
 * @throws AuditConfigurationError naming the store and how to get an outbox, when it keeps none.
 */
export function requireAlarmOutbox(store: AuditStore, use: string): AlarmOutbox {
  const outbox = store.alarmOutbox;
  if (outbox !== undefined) return outbox;
  throw new AuditConfigurationError(`nestjs-audit: ${use} needs ${noAlarmOutboxFix(store)}`);
}

/**
 * The end of every "this store keeps no alarm outbox" message: which store, and the fix.
 * @example `nestjs-audit: option "alarms" needs ${noAlarmOutboxFix(store)}`
 */
export function noAlarmOutboxFix(store: AuditStore): string {
  const name = store.constructor.name || 'the store';
  return `a store that keeps the alarm outbox, and ${name} (engine "${store.engine}") does not (its alarmOutbox is undefined). Use the SQLite default, PostgresAuditStore or InMemoryAuditStore, or give ${name} an alarmOutbox (implement AlarmOutbox from nestjs-audit/store, and store the alarms its append() receives).`;
}
