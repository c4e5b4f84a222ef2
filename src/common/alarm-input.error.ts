import { AuditError } from './audit-error';

/**
 * Thrown for an alarm input that cannot be used: `AuditService.alarm()` input, or an entry,
 * claim or settlement handed to an alarm outbox. The message says how to fix it.
 */
export class AlarmInputError extends AuditError {
  override readonly name = 'AlarmInputError';
  override readonly code = 'AUDIT_ALARM_INPUT_INVALID';
}
