import { AuditError } from './audit-error';

/**
 * Thrown when the audit store, or a worker thread it runs, could not complete an operation
 * (the database is unreachable, a statement failed, the worker stopped). `cause` holds the
 * underlying error when there is one; the message says whether retrying is safe.
 */
export class AuditStoreError extends AuditError {
  override readonly name = 'AuditStoreError';
  override readonly code = 'AUDIT_STORE_FAILED';
}
