import type { AuditEvent } from '../event/audit-event';
import type { AuditQueryResult, NormalizedAuditQuery } from '../query/audit-query';

/**
 * The storage contract, and the DI token of the store in use.
 *
 * Implementations persist events and answer the query paths the library promises. Only the
 * pipeline writes to a store. Optional hooks have safe defaults so that a capability added
 * later never breaks a third-party store.
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
   * Persists events atomically (all or none). Inserting an event whose id is already stored
   * is a no-op, so a retried batch never duplicates records.
   */
  abstract append(events: readonly AuditEvent[]): Promise<void>;

  /** One page of events matching the filter, newest first (timestamp desc, id desc). */
  abstract query(query: NormalizedAuditQuery): Promise<AuditQueryResult>;

  /** Every event on one resource, oldest first. */
  abstract history(resourceType: string, resourceId: string): Promise<AuditEvent[]>;

  /** One event by id, or `undefined`. */
  abstract get(id: string): Promise<AuditEvent | undefined>;

  /** Releases resources. Called once on application shutdown, after the last write. */
  async close(): Promise<void> {}
}
