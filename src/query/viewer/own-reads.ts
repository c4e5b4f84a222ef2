/**
 * The trail's own reads on the viewer's list. Every page view and API call is recorded as an
 * `audit.read` event, so a busy viewer would fill its first page with its own entries: the list
 * hides them unless asked (`?reads=1`, the "Show reads of the audit trail" box), or unless the
 * filters ask for them (an `action` or a `requestId`). Failed and refused reads stay visible:
 * someone denied access to the trail is worth seeing.
 */
import type { AuditEvent } from '../../event/audit-event';
import {
  encodeCursor,
  MAX_QUERY_LIMIT,
  type AuditQuery,
  type AuditQueryResult,
} from '../audit-query';
import { AUDIT_READ_ACTION } from '../audit-read';

/** The list page's URL parameter that shows the trail's own reads (`reads=1`). */
export const SHOW_READS_PARAM = 'reads';

// The `via` labels of reads made through the library's own routes (viewer pages, HTTP API).
const OWN_READ_VIA: ReadonlySet<string> = new Set(['viewer', 'api']);

/** Store pages scanned for one list page at most, so a trail of reads costs a bounded time. */
export const MAX_SCANNED_PAGES = 5;

/** Whether an event is a successful read of the trail through the viewer or the HTTP API. */
export function isOwnRead(event: AuditEvent): boolean {
  const via = event.labels?.via;
  return (
    event.action === AUDIT_READ_ACTION &&
    event.outcome === 'success' &&
    via !== undefined &&
    OWN_READ_VIA.has(via)
  );
}

/** Whether the list shows the trail's own reads, from its URL parameters and filter. */
export function showsOwnReads(
  params: Readonly<Record<string, string>>,
  filter: AuditQuery,
): boolean {
  return (
    params[SHOW_READS_PARAM] === '1' ||
    filter.action !== undefined ||
    filter.requestId !== undefined
  );
}

/** One list page without the trail's own reads. */
export interface PageWithoutReads {
  /** The page: events, newest first, and the cursor that continues after them. */
  result: AuditQueryResult;
  /** Reads of the trail left out while filling the page. */
  hidden: number;
}

/**
 * Fills one page of `filter.limit` events that are not the trail's own reads, reading the store
 * page by page (at most {@link MAX_SCANNED_PAGES}); the cursor continues right after the last
 * event looked at, so paging neither skips nor repeats an event. When the scan stops early, the
 * page may hold fewer events (even none) and still have a next cursor.
 *
 * @param query - runs one store query (`AuditService.query`)
 * @param filter - a validated list filter with its `limit` set
 */
export async function queryWithoutOwnReads(
  query: (filter: AuditQuery) => Promise<AuditQueryResult>,
  filter: AuditQuery & { limit: number },
): Promise<PageWithoutReads> {
  const want = filter.limit;
  const scanLimit = Math.min(MAX_QUERY_LIMIT, Math.max(want * 2, 100));
  const shown: AuditEvent[] = [];
  // Reads before the last event shown, and reads after it (seen again when paging from it).
  let hidden = 0;
  let pending = 0;
  let cursor = filter.cursor;
  for (let round = 0; round < MAX_SCANNED_PAGES; round += 1) {
    const page = await query({ ...filter, limit: scanLimit, ...(cursor ? { cursor } : {}) });
    for (const event of page.items) {
      const read = isOwnRead(event);
      if (shown.length === want && !read) return done(shown, hidden, cursorAfter(shown));
      if (read) {
        pending += 1;
      } else {
        shown.push(event);
        hidden += pending;
        pending = 0;
      }
    }
    if (page.nextCursor === undefined) return done(shown, hidden + pending, undefined);
    if (shown.length === want) return done(shown, hidden, cursorAfter(shown));
    cursor = page.nextCursor;
  }
  return done(shown, hidden + pending, cursor);
}

/** The cursor right after the last event of a non-empty page. */
function cursorAfter(shown: readonly AuditEvent[]): string {
  const last = shown[shown.length - 1] as AuditEvent;
  return encodeCursor({ ts: Date.parse(last.timestamp), id: last.id });
}

function done(
  items: AuditEvent[],
  hidden: number,
  nextCursor: string | undefined,
): PageWithoutReads {
  return { result: nextCursor === undefined ? { items } : { items, nextCursor }, hidden };
}
