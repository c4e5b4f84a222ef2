import { AuditError, type AuditErrorCode } from '../../common/audit-error';
import { AlarmInputError } from '../../common/alarm-input.error';
import { AuditInternalError } from '../../common/audit-internal.error';
import { AuditQueryError } from '../../common/audit-query.error';
import { AuditStateError } from '../../common/audit-state.error';
import { AuditStoreError } from '../../common/audit-store.error';
import { AuditConfigurationError } from '../../common/audit-configuration.error';
import { AuditRecordError } from '../../common/audit-record.error';

/*
 * The AuditErrors a SQLite worker thread throws, rebuilt on the store's thread. A structured
 * clone keeps only the message, name and code of an error, so without this an application
 * would get plain Errors from a `path` store where a `database` store throws AuditErrors.
 */

type AuditErrorClass = new (message: string) => AuditError;

/** The class that stands for each code thrown in the worker; see {@link relayedAuditError}. */
const CLASS_OF_CODE: Partial<Record<AuditErrorCode, AuditErrorClass>> = {
  AUDIT_CONFIGURATION_INVALID: AuditConfigurationError,
  AUDIT_RECORD_INVALID: AuditRecordError,
  AUDIT_QUERY_INVALID: AuditQueryError,
  AUDIT_ALARM_INPUT_INVALID: AlarmInputError,
  AUDIT_STATE_INVALID: AuditStateError,
  AUDIT_STORE_FAILED: AuditStoreError,
  AUDIT_INTERNAL: AuditInternalError,
};

/**
 * An AuditError of the worker that has no class of its own on this side (e.g. the schema
 * check's); it keeps the code and, set by the caller, the name it had in the worker.
 */
class RelayedAuditError extends AuditError {
  override readonly code: AuditErrorCode;

  constructor(message: string, code: AuditErrorCode) {
    super(message);
    this.code = code;
  }
}

/** Whether a thrown error's code is one of nestjs-audit's (`AUDIT_...`). */
function isAuditErrorCode(code: string | undefined): code is AuditErrorCode {
  return code !== undefined && /^AUDIT_[A-Z]+(?:_[A-Z]+)*$/.test(code);
}

/**
 * The AuditError with `code` that a worker threw, rebuilt here with its message, or `undefined`
 * when it was no AuditError (a driver's or Node's error, which the caller rebuilds as it was).
 * The caller restores the name (when a subclass shares a code, e.g. `SchemaTooNewError`), the
 * stack and the cause.
 */
export function relayedAuditError(
  code: string | undefined,
  message: string,
): AuditError | undefined {
  if (!isAuditErrorCode(code)) return undefined;
  const Known = CLASS_OF_CODE[code];
  return Known === undefined ? new RelayedAuditError(message, code) : new Known(message);
}
