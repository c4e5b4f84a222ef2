import { AuditError } from './audit-error';

/**
 * Thrown for an entry that cannot be recorded, or an argument of a read (`get()`, `history()`)
 * that cannot be used: a manual `record()`, the request context's `setAction()` /
 * `setTarget()`, or an event field such as its action, id or timestamp. The message says what
 * to fix.
 */
export class AuditRecordError extends AuditError {
  override readonly name = 'AuditRecordError';
  override readonly code = 'AUDIT_RECORD_INVALID';
}
