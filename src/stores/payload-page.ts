import type { AuditEvent } from '../event/audit-event';
import { encodeCursor, type AuditQueryResult } from './audit-query-model';

/** An event from the JSON text a SQL store keeps it as. */
export function parsePayload(payload: unknown): AuditEvent {
  return JSON.parse(payload as string) as AuditEvent;
}

/**
 * An event read back with its place in the store's hash chain (`AuditEvent.sequence`), or
 * without one when the store has not chained it (yet). The number is the store's, never the
 * payload's: the stored JSON does not carry it.
 */
export function withSequence(event: AuditEvent, seq: number | null | undefined): AuditEvent {
  if (seq !== null && seq !== undefined) event.sequence = seq;
  else if (event.sequence !== undefined) delete event.sequence;
  return event;
}

/**
 * The page a SQL store answers from the rows it read, newest first: it reads `limit + 1` rows,
 * and the extra one only says that a next page exists (whose cursor is the last item's).
 * @param parse - one row as its event (by default, a row is the event's JSON text)
 */
export function pageOfPayloads<R>(
  rows: readonly R[],
  limit: number,
  parse: (row: R) => AuditEvent = parsePayload,
): AuditQueryResult {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map((row) => parse(row));
  const result: AuditQueryResult = { items };
  const last = items[items.length - 1];
  if (more && last) {
    result.nextCursor = encodeCursor({ ts: Date.parse(last.timestamp), id: last.id });
  }
  return result;
}
