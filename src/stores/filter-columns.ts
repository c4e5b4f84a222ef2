import type { AuditEventColumns } from '../event/event-columns';
import type { NormalizedAuditQuery } from './audit-query-model';

/**
 * The equality filters of the query API, each with the {@link AuditEventColumns} field (same
 * name) and the SQL column it filters on, so every engine filters the same fields.
 */
export const EQUALITY_FILTER_COLUMNS = [
  ['actorId', 'actor_id'],
  ['resourceType', 'resource_type'],
  ['resourceId', 'resource_id'],
  ['action', 'action'],
  ['outcome', 'outcome'],
  ['requestId', 'request_id'],
  ['tenant', 'tenant'],
] as const satisfies readonly (readonly [
  keyof NormalizedAuditQuery & keyof AuditEventColumns,
  string,
])[];
