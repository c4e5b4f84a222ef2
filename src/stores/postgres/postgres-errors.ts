import { AuditStoreError } from '../../common/audit-store.error';
import { reasonOf } from '../../common/message-of';
/*
 * Reading errors thrown by pg and Node.js. Everything here is duck-typed: network errors can
 * come from another realm (test runners, workers), where `instanceof Error` is false.
 */

/** SQLSTATE of a check violation, which includes "no partition of relation found for row". */
const CHECK_VIOLATION = '23514';
/** SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * Whether `error` was reported by the server about one statement, which leaves the connection
 * usable. Anything else (a client-side timeout, a broken socket, a FATAL error that ends the
 * session) leaves the connection in an unknown state.
 */
export function isStatementError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return (
    typeof code === 'string' &&
    /^[0-9A-Z]{5}$/.test(code) &&
    typeof severity === 'string' &&
    severity !== 'FATAL' &&
    severity !== 'PANIC'
  );
}

/** Whether an insert failed because no partition accepts a row's timestamp. */
export function isMissingPartition(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code } = error as { code?: unknown };
  return code === CHECK_VIOLATION && reasonOf(error).includes('no partition');
}

/** Whether a statement failed on a key that is stored already (e.g. an event id). */
export function isUniqueViolation(error: unknown): boolean {
  return (
    error !== null &&
    typeof error === 'object' &&
    (error as { code?: unknown }).code === UNIQUE_VIOLATION
  );
}

/**
 * The error a `PostgresAuditStore` operation rejects with: what it could not do, on which table,
 * why, and what to do about it.
 * @param table the store's qualified table name.
 * @param what the operation, as in "could not <what>".
 */
export function postgresStoreError(table: string, what: string, error: unknown): AuditStoreError {
  const hint = what.startsWith('append')
    ? `Retrying the batch is safe: appends are idempotent by event id${what.includes('alarm') ? ' and alarm dedup key' : ''}.`
    : what.includes('alarm')
      ? 'Check that PostgreSQL is reachable and answering; the alarm dispatcher tries again at its next poll.'
      : what === 'initialise'
        ? 'Check that PostgreSQL is reachable with the configured connection and that the role may create the schema and table, then call init() again.'
        : 'Check that PostgreSQL is reachable and answering.';
  return new AuditStoreError(
    `PostgresAuditStore could not ${what} (table ${table}): ${reasonOf(error)}. ${hint}`,
    { cause: error },
  );
}
