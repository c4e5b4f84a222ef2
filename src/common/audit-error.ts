/**
 * The one base class of the errors nestjs-audit throws, so an application can tell them from its
 * own with `instanceof AuditError` and branch on a stable `code` instead of matching messages
 * (which are written for people and may be reworded in any release).
 */

/**
 * The stable identifier of every error nestjs-audit throws. A code is never renamed or reused
 * for another condition within a major version; new codes may be added in minor releases.
 * Errors that describe a caller's mistake end in `_INVALID`.
 */
export type AuditErrorCode =
  /** Module or component options that cannot be used (thrown at boot). */
  | 'AUDIT_CONFIGURATION_INVALID'
  /** An entry (`record()`, `setAction()`, event fields) or read argument that cannot be used. */
  | 'AUDIT_RECORD_INVALID'
  /** A query filter that cannot be used. */
  | 'AUDIT_QUERY_INVALID'
  /** `verify()` got a `from` / `to` / `pageSize` that cannot be verified. */
  | 'AUDIT_CHAIN_RANGE_INVALID'
  /** `AuditService.alarm()` got an input it cannot raise. */
  | 'AUDIT_ALARM_INPUT_INVALID'
  /** An alarm template that cannot be parsed. */
  | 'AUDIT_ALARM_TEMPLATE_INVALID'
  /** An alarm rule glob that cannot be compiled. */
  | 'AUDIT_GLOB_INVALID'
  /** A duration (`10m`, `24h`...) that cannot be read. */
  | 'AUDIT_DURATION_INVALID'
  /** `parseCheckpointLines()` met a line that says it is a checkpoint but is malformed. */
  | 'AUDIT_CHECKPOINT_INVALID'
  /** A call the component cannot take now: before `init()` / `open()`, or after `close()`. */
  | 'AUDIT_STATE_INVALID'
  /** `record()`, `alarm()` or an ORM write came after the application shut down. */
  | 'AUDIT_SHUT_DOWN'
  /** An event could neither be committed to the store nor spooled. */
  | 'AUDIT_COMMIT_FAILED'
  /** The audit store (or a worker thread it runs) could not complete an operation. */
  | 'AUDIT_STORE_FAILED'
  /** The store's schema cannot be brought to the layout this release expects. */
  | 'AUDIT_STORE_SCHEMA_INCOMPATIBLE'
  /** The spool has no room for the events. */
  | 'AUDIT_SPOOL_FULL'
  /** Another process (or another spool instance) holds the spool's lock file. */
  | 'AUDIT_SPOOL_LOCKED'
  /** The spool file is not a spool, was changed or damaged, or could not be read or written. */
  | 'AUDIT_SPOOL_FAILED'
  /** An export matched more events than the export limit allows. */
  | 'AUDIT_EXPORT_LIMIT_EXCEEDED'
  /** A notifier could not deliver an alarm. */
  | 'AUDIT_ALARM_DELIVERY_FAILED'
  /** A `nestjs-audit` command-line run failed; see the error's `exitCode`. */
  | 'AUDIT_CLI_FAILED'
  /** A broken internal invariant: a bug of nestjs-audit; please report it. */
  | 'AUDIT_INTERNAL';

/**
 * Base class of every error nestjs-audit throws. Catch it with `instanceof AuditError` and branch
 * on {@link AuditError.code}; the subclass and its `name` say the same thing in finer grain.
 * @example
 * if (error instanceof AuditError && error.code === 'AUDIT_QUERY_INVALID') {
 *   reply(400, error.message);
 * }
 */
export abstract class AuditError extends Error {
  /** Stable identifier of the condition; see {@link AuditErrorCode}. */
  abstract readonly code: AuditErrorCode;
  override readonly name: string = 'AuditError';

  /**
   * @param message what was wrong and how to fix it.
   * @param options standard error options: `cause`, the error behind this one.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
}
