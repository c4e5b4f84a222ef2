/** Thrown at boot for an invalid option; the message names the option and the fix. */
export class AuditConfigurationError extends Error {
  override readonly name = 'AuditConfigurationError';
}
