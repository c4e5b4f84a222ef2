import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditEvent } from '../event/audit-event';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT, type AuditQueryResult } from './audit-query';
import { AuditQueryError } from '../common/audit-query.error';

/**
 * Largest JSON size of one event drawn whole in a page of events (API list and history, viewer
 * timeline). A larger event is sent collapsed: its facts without its payloads, and how big it is;
 * its own endpoint (`events/:id`) serves it whole, bounded by `maxEventBytes` at write time.
 */
export const INLINE_EVENT_BYTES = 16 * 1024;

/** Events measured between two yields to the event loop, so a page of large events never blocks it long. */
const EVENTS_PER_TURN = 8;

/**
 * Events read from the store at once for a page: a store parses what it reads in one go, so a
 * page of 1000 events at `maxEventBytes` (256 MB of JSON) would block the event loop for
 * seconds; read a few at a time, it blocks it for one slice's worth.
 */
export const READ_SLICE_EVENTS = EVENTS_PER_TURN;

/** Where {@link readInSlices} reads a slice: the page's filter with this limit and cursor. */
export type SliceReader = (slice: { limit: number; cursor?: string }) => Promise<AuditQueryResult>;

/**
 * One page of `limit` events read as consecutive keyset slices of {@link READ_SLICE_EVENTS},
 * with a turn of the event loop between slices. The same events and `nextCursor` as one read of
 * `limit`: each slice continues after the previous one's last event.
 *
 * @param read - reads one slice of the page's filter
 * @param limit - the page size asked for (default 50, as `query()`)
 * @param cursor - where the page starts, as given by the reader
 * @throws AuditQueryError for a limit outside 1..1000, or what a slice's read throws.
 */
export async function readInSlices(
  read: SliceReader,
  limit: number = DEFAULT_QUERY_LIMIT,
  cursor?: string,
): Promise<AuditQueryResult> {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
    throw new AuditQueryError(
      `limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${limit}.`,
    );
  }
  const items: AuditEvent[] = [];
  let next = cursor;
  for (;;) {
    const slice = Math.min(READ_SLICE_EVENTS, limit - items.length);
    const page = await read(next === undefined ? { limit: slice } : { limit: slice, cursor: next });
    items.push(...page.items);
    next = page.nextCursor;
    if (next === undefined) return { items };
    if (items.length >= limit) return { items, nextCursor: next };
    await nextTurn();
  }
}

/** The payloads an event collapsed in a page goes without. */
const PAYLOAD_KEYS: readonly string[] = [
  'changes',
  'body',
  'response',
  'filter',
  'results',
  'labels',
  'error',
  'truncated',
] satisfies readonly PayloadKey[];

type PayloadKey =
  'changes' | 'body' | 'response' | 'filter' | 'results' | 'labels' | 'error' | 'truncated';

/** An event of a page whose payloads were left out: fetch `events/:id` for the whole event. */
export type CollapsedAuditEvent = Omit<AuditEvent, PayloadKey> & {
  /** Why the payloads are missing, and the JSON size of the whole event in bytes. */
  collapsed: { reason: 'too large for a page'; bytes: number };
};

/** An event as a page carries it: whole, or collapsed. */
export type AuditPageEvent = AuditEvent | CollapsedAuditEvent;

/** Whether a page event is collapsed. */
export function isCollapsed(event: AuditPageEvent): event is CollapsedAuditEvent {
  return 'collapsed' in event;
}

/**
 * The events of a page, each larger than {@link INLINE_EVENT_BYTES} collapsed. Yields to the
 * event loop every few events: measuring means serializing, which is the costly part.
 */
export async function withinReadBudget(events: readonly AuditEvent[]): Promise<AuditPageEvent[]> {
  const out: AuditPageEvent[] = [];
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && i % EVENTS_PER_TURN === 0) await nextTurn();
    const event = events[i]!;
    const bytes = Buffer.byteLength(JSON.stringify(event), 'utf8');
    if (bytes <= INLINE_EVENT_BYTES) {
      out.push(event);
      continue;
    }
    const kept: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      if (!PAYLOAD_KEYS.includes(key)) kept[key] = value;
    }
    out.push({
      ...(kept as Omit<AuditEvent, PayloadKey>),
      collapsed: { reason: 'too large for a page', bytes },
    });
  }
  return out;
}
