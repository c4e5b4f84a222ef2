import { AuditError } from '../common/audit-error';

/**
 * The spool file cannot be used as expected: it is not a spool file, another program changed
 * it, it was damaged on disk, or the file system failed. The message names the file and the
 * way out; `cause` holds the file-system error when there is one.
 */
export class SpoolFileError extends AuditError {
  override readonly name = 'SpoolFileError';
  override readonly code = 'AUDIT_SPOOL_FAILED';
}
