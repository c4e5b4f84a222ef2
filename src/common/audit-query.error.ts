import { AuditError } from './audit-error';

/**
 * Thrown for a query filter that cannot be used (`query()`, the API, the viewer, an alarm
 * outbox's `listAlarms()` / `listAlarmAttempts()`); the message says which and how to fix it.
 */
export class AuditQueryError extends AuditError {
  override readonly name = 'AuditQueryError';
  override readonly code = 'AUDIT_QUERY_INVALID';
}
