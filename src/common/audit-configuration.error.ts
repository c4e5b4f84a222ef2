import { AuditError } from './audit-error';

/** Thrown at boot for an invalid option; the message names the option and the fix. */
export class AuditConfigurationError extends AuditError {
  override readonly name = 'AuditConfigurationError';
  override readonly code = 'AUDIT_CONFIGURATION_INVALID';
}
