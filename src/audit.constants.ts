/** Reflect-metadata key of `@Audited()`. */
export const AUDITED_METADATA = 'audit:audited';
/** Reflect-metadata key of `@AuditExempt()`. */
export const AUDIT_EXEMPT_METADATA = 'audit:exempt';
/** DI token of the validated, defaulted module options (`ResolvedAuditOptions`). */
export const AUDIT_RESOLVED_OPTIONS = Symbol('audit:resolved-options');
/** Name used for the library's own Nest logger. */
export const AUDIT_LOGGER_CONTEXT = 'AuditModule';
/**
 * Reflect-metadata key set on the library's own read routes (API, viewer): they record their
 * successful reads themselves, and capture records only the refusals a guard answers for them.
 */
export const AUDIT_REFUSALS_METADATA = 'audit:refusals';
