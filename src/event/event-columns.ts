import { isAuditOutcome, type AuditEvent } from './audit-event';
import { AuditRecordError } from '../common/audit-record.error';
import { describe } from '../common/option-checks';

/**
 * The fields of an event that stores index and filter on, extracted once so that every engine
 * agrees on what `actorId`, `resourceType`, ... mean and on the (ts, id) order.
 */
export interface AuditEventColumns {
  /** Event id (primary key, tie-breaker of the order). */
  id: string;
  /** `timestamp` as epoch milliseconds (the sort key). */
  ts: number;
  /** `action`. */
  action: string;
  /** `outcome`. */
  outcome: string;
  /** `actor.id`, or `null` for actors without an id. */
  actorId: string | null;
  /** `target.type`, or `null`. */
  resourceType: string | null;
  /** `target.id`, or `null`. */
  resourceId: string | null;
  /** `request.id`, or `null`. */
  requestId: string | null;
  /** `tenant`, or `null`. */
  tenant: string | null;
  /** `schemaVersion`. */
  schemaVersion: number;
}

function invalid(event: AuditEvent, problem: string): AuditRecordError {
  const id = typeof event?.id === 'string' ? ` ${JSON.stringify(event.id.slice(0, 64))}` : '';
  return new AuditRecordError(
    `Cannot store audit event${id}: ${problem}. Record events through AuditService or build them with the full AuditEvent shape.`,
  );
}

function optionalString(event: AuditEvent, name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(event, `"${name}" must be a string`);
  return value;
}

/**
 * The columns of an event as a store reads them back, in the order both engines select them:
 * id, ts (epoch ms), action, outcome, actor_id, resource_type, resource_id, request_id, tenant,
 * schema_version, starting at `values[first]`.
 */
export function eventColumnsFrom(values: readonly unknown[], first: number): AuditEventColumns {
  const at = (i: number) => values[first + i] as string | null;
  return {
    id: values[first] as string,
    ts: values[first + 1] as number,
    action: values[first + 2] as string,
    outcome: values[first + 3] as string,
    actorId: at(4),
    resourceType: at(5),
    resourceId: at(6),
    requestId: at(7),
    tenant: at(8),
    schemaVersion: values[first + 9] as number,
  };
}

/**
 * Validates the fields a store depends on and returns them in column form.
 * Checked before anything is written, so a bad event fails the whole batch instead of
 * being stored half-indexed.
 * @throws AuditRecordError naming the event and the offending field.
 */
export function toEventColumns(event: AuditEvent): AuditEventColumns {
  if (event === null || typeof event !== 'object') {
    throw invalid(event, 'expected an AuditEvent object');
  }
  if (typeof event.id !== 'string' || event.id.length === 0 || event.id.length > 64) {
    throw invalid(event, '"id" must be a non-empty string of at most 64 characters (a UUIDv7)');
  }
  const ts = typeof event.timestamp === 'string' ? Date.parse(event.timestamp) : Number.NaN;
  if (!Number.isSafeInteger(ts)) {
    throw invalid(
      event,
      `"timestamp" ${describe(event.timestamp)} is not an ISO-8601 instant such as "2026-01-31T12:00:00.000Z"`,
    );
  }
  if (typeof event.action !== 'string' || event.action.length === 0) {
    throw invalid(event, '"action" must be a non-empty string such as "user.update"');
  }
  if (!isAuditOutcome(event.outcome)) {
    throw invalid(event, '"outcome" must be "success", "failure" or "unknown"');
  }
  if (!Number.isSafeInteger(event.schemaVersion)) {
    throw invalid(event, '"schemaVersion" must be an integer');
  }
  return {
    id: event.id,
    ts,
    action: event.action,
    outcome: event.outcome,
    actorId: optionalString(event, 'actor.id', event.actor?.id),
    resourceType: optionalString(event, 'target.type', event.target?.type),
    resourceId: optionalString(event, 'target.id', event.target?.id),
    requestId: optionalString(event, 'request.id', event.request?.id),
    tenant: optionalString(event, 'tenant', event.tenant),
    schemaVersion: event.schemaVersion,
  };
}

/**
 * Compares two positions in the (ts, id) order used for sorting and keyset paging.
 * Ids are compared by UTF-16 code units, which matches SQLite's BINARY collation for the
 * ASCII ids (UUIDs) the library generates.
 * @returns a negative number when `a` comes first, positive when `b` does, 0 when equal.
 */
export function compareEventPosition(
  a: { ts: number; id: string },
  b: { ts: number; id: string },
): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}
