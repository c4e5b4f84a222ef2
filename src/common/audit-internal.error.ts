import { AuditError } from './audit-error';

/**
 * Thrown when an internal invariant of nestjs-audit does not hold: a bug of the library, not a
 * mistake of the application. Please report it with the message and stack.
 */
export class AuditInternalError extends AuditError {
  override readonly name = 'AuditInternalError';
  override readonly code = 'AUDIT_INTERNAL';
}
