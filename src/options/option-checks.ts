import { auditOptionChecks } from '../audit-configuration-checks';

/**
 * The module options' checks: the shared ones of `common/option-checks`, bound to the module's
 * message form (`nestjs-audit: option "<name>" <problem>. <fix>`) and AuditConfigurationError.
 */

/** Throws the error of an invalid module option: which option, what is wrong, how to fix it. */
export function fail(option: string, problem: string, fix: string): never {
  return auditOptionChecks.fail(option, problem, fix);
}

/** A whole number of at least `min`, or `fallback` when the option is not given. */
export function positiveInteger(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
): number {
  return auditOptionChecks.wholeNumber(option, value, { fallback, min });
}

/** One of the `allowed` words, or `fallback` when the option is not given. */
export const oneOf = auditOptionChecks.oneOf;

/** A function, or `undefined` when the option is not given (or `null`). */
export const optionalFunction = auditOptionChecks.optionalFunction;

/** `true` or `false`, or `fallback` when the option is not given. */
export const optionalBoolean = auditOptionChecks.optionalBoolean;
