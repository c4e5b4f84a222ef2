import type { AlarmOutboxEntry } from '../stores/alarm-outbox-model';
import type { AuditEvent } from '../event/audit-event';

/** What is pending in the spool: appended and not yet acknowledged. */
export interface SpoolStats {
  /** Bytes of the pending frames (headers included). */
  bytes: number;
  /** Number of pending events. */
  events: number;
  /** Number of pending frames (one per successful {@link AuditSpool.append}). */
  frames: number;
}

/** What {@link AuditSpool.open} found and repaired; the caller should log anything present here. */
export interface SpoolOpenReport {
  /** Events left to replay from a previous run. */
  pending: SpoolStats;
  /**
   * Present when the end of the file held no whole, valid frame and was cut off. `incomplete`: the
   * last frame ends past the end of the file, the trace of a crash in the middle of an append,
   * which had therefore not resolved. `invalid`: a frame has a bad magic number or checksum, which
   * a crash can also leave behind on some file systems but may mean disk damage; frames after it
   * are discarded with it.
   */
  truncated?: { offset: number; bytes: number; reason: 'incomplete' | 'invalid' };
  /** Pid of a lock file whose process was no longer running; that lock was taken over. */
  staleLockPid?: number;
}

declare const ackTokenBrand: unique symbol;

/**
 * Opaque receipt of {@link AuditSpool.peek}, to give back to {@link AuditSpool.acknowledge} once
 * the events have been committed to the store.
 */
export interface SpoolAckToken {
  readonly [ackTokenBrand]: true;
}

/** The oldest pending events, returned by {@link AuditSpool.peek}. */
export interface SpoolBatch {
  /** Events in the order they were appended. */
  events: AuditEvent[];
  /** Alarm outbox entries appended with those events (they commit together). */
  alarms: AlarmOutboxEntry[];
  /** Pass to {@link AuditSpool.acknowledge} after the events were committed. */
  token: SpoolAckToken;
}
