import { AuditError } from './audit-error';

/**
 * Thrown for a call the component cannot take in its current state: before `init()` / `open()`,
 * after `close()`, or a second `open()`. The message says which call to make first.
 */
export class AuditStateError extends AuditError {
  override readonly name = 'AuditStateError';
  override readonly code = 'AUDIT_STATE_INVALID';
}
