import type { AuditEvent } from '../event/audit-event';
import { encodeCursor, type AuditQueryResult } from '../query/audit-query';

/** An event from the JSON text a SQL store keeps it as. */
export function parsePayload(payload: unknown): AuditEvent {
  return JSON.parse(payload as string) as AuditEvent;
}

/**
 * The page a SQL store answers from the payloads it read, newest first: it reads `limit + 1`
 * rows, and the extra one only says that a next page exists (whose cursor is the last item's).
 */
export function pageOfPayloads(payloads: readonly unknown[], limit: number): AuditQueryResult {
  const more = payloads.length > limit;
  const items = (more ? payloads.slice(0, limit) : payloads).map(parsePayload);
  const result: AuditQueryResult = { items };
  const last = items[items.length - 1];
  if (more && last) {
    result.nextCursor = encodeCursor({ ts: Date.parse(last.timestamp), id: last.id });
  }
  return result;
}
