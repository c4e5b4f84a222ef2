import { AuditConfigurationError } from '../audit-configuration.error';

/**
 * Throws the error every invalid module option gets: which option, what is wrong with it, and
 * how to fix it.
 */
export function fail(option: string, problem: string, fix: string): never {
  throw new AuditConfigurationError(`nestjs-audit: option "${option}" ${problem}. ${fix}`);
}

/** A whole number of at least `min`, or `fallback` when the option is not given. */
export function positiveInteger(
  option: string,
  value: unknown,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(
      option,
      `must be a whole number of at least ${min} (got ${JSON.stringify(value) ?? typeof value})`,
      `Remove it to use the default ${fallback}.`,
    );
  }
  return value;
}

/** One of the `allowed` words, or `fallback` when the option is not given. */
export function oneOf<T extends string>(
  option: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    fail(
      option,
      `must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${JSON.stringify(value) ?? typeof value})`,
      `Remove it to use the default '${fallback}'.`,
    );
  }
  return value as T;
}

/** A function, or `undefined` when the option is not given (or `null`). */
export function optionalFunction<T>(
  option: string,
  value: unknown,
  example: string,
): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'function')
    fail(option, `must be a function (got ${typeof value})`, `Example: ${example}.`);
  return value as T;
}

/** `true` or `false`, or `fallback` when the option is not given. */
export function optionalBoolean(
  option: string,
  value: unknown,
  fallback: boolean,
  fix: string,
): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(option, 'must be true or false', fix);
  return value;
}
