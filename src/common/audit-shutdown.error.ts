import { AuditError } from './audit-error';

/**
 * Thrown by `record()` (and `alarm()`, and the ORM integrations) once the application has shut
 * down; also the abort reason a notifier sees when the shutdown cuts its send short.
 */
export class AuditShutdownError extends AuditError {
  override readonly name = 'AuditShutdownError';
  override readonly code = 'AUDIT_SHUT_DOWN';
}
