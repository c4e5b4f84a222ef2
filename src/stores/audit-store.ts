import type { AuditEvent } from '../event/audit-event';
import type { AlarmOutbox } from './alarm-outbox';
import type { AlarmOutboxEntry } from './alarm-outbox-model';
import type { AuditQueryResult, NormalizedAuditQuery } from './audit-query-model';

/**
 * The storage contract, and the DI token of the store in use.
 *
 * Implementations persist events and answer the query paths the library promises. Only the
 * pipeline writes to a store. Optional hooks have safe defaults so that a capability added
 * later never breaks a third-party store.
 *
 * A store implements five members: `engine`, `append()`, `query()`, `history()` and `get()`;
 * `init()`, `close()` and `alarmOutbox` are optional.
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
   * `alarms` is only passed to a store whose {@link AuditStore.alarmOutbox} is defined: it stores
   * them in the same transaction as the events, where its outbox finds them.
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
   * The store's durable alarm outbox, or `undefined` (the default) when it keeps none. A store
   * without an outbox cannot be used with the `alarms` option; one that returns an outbox must
   * also store the `alarms` that `append()` receives.
   */
  get alarmOutbox(): AlarmOutbox | undefined {
    return undefined;
  }

  /** Releases resources. Called once on application shutdown, after the last write. */
  async close(): Promise<void> {}
}
