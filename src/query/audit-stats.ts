import type { AuditEvent } from '../event/audit-event';
import type { AuditStore } from '../stores/audit-store';
import { decodeCursor, MAX_QUERY_LIMIT, type NormalizedAuditQuery } from './audit-query';
import { AuditQueryError } from '../common/audit-query.error';

/** How many events of one group (one action, one actor or one outcome). */
export interface AuditStatsCount {
  /** The action, the actor id (or `(anonymous)`, `(service)` for actors without one), or the outcome. */
  key: string;
  /** Number of events. */
  count: number;
}

/** Counts of the events matching a query, by action, by actor and by outcome. */
export interface AuditStats {
  /** Number of matching events. */
  total: number;
  /** Counts by outcome, largest first. */
  byOutcome: AuditStatsCount[];
  /** Counts by action, largest first. */
  byAction: AuditStatsCount[];
  /** Counts by actor id, largest first. */
  byActor: AuditStatsCount[];
}

/** Options of {@link collectAuditStats}. */
export interface AuditStatsOptions {
  /**
   * Events read per store query.
   * @default 1000
   */
  pageSize?: number;
  /** Stops reading (the promise then rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called after each page with the number of events counted so far. */
  onProgress?: (counted: number) => void;
}

/** The key an actor is counted under: its id, or its type in parentheses when it has none. */
export function actorStatsKey(event: AuditEvent): string {
  return event.actor?.id ?? `(${event.actor?.type ?? 'anonymous'})`;
}

function sorted(counts: Map<string, number>): AuditStatsCount[] {
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * Counts the events matching `query` by action, by actor and by outcome.
 *
 * Stores answer no aggregate queries, so this reads every matching event through the keyset
 * pages of {@link AuditStore.query}, one page at a time: memory holds one page and the counts,
 * whatever the number of events. The query's `limit` and `before` are ignored.
 *
 * @example
 * ```ts
 * const stats = await collectAuditStats(store, parseAuditQuery({ from: '2026-03-01' }));
 * ```
 */
export async function collectAuditStats(
  store: AuditStore,
  query: NormalizedAuditQuery,
  options: AuditStatsOptions = {},
): Promise<AuditStats> {
  const pageSize = options.pageSize ?? MAX_QUERY_LIMIT;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_QUERY_LIMIT) {
    throw new AuditQueryError(
      `collectAuditStats: pageSize must be a whole number from 1 to ${MAX_QUERY_LIMIT}, got ${pageSize}.`,
    );
  }
  const byOutcome = new Map<string, number>();
  const byAction = new Map<string, number>();
  const byActor = new Map<string, number>();
  let total = 0;
  const page: NormalizedAuditQuery = { ...query, limit: pageSize, before: undefined };
  for (;;) {
    options.signal?.throwIfAborted();
    const result = await store.query(page);
    for (const event of result.items) {
      total += 1;
      increment(byOutcome, event.outcome);
      increment(byAction, event.action);
      increment(byActor, actorStatsKey(event));
    }
    options.onProgress?.(total);
    if (result.nextCursor === undefined) break;
    page.before = decodeCursor(result.nextCursor);
  }
  return {
    total,
    byOutcome: sorted(byOutcome),
    byAction: sorted(byAction),
    byActor: sorted(byActor),
  };
}
