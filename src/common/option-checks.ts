/**
 * The checks every component runs on the options it is given (the module, the stores, the API,
 * alarms, notifiers, checkpoints), written once. Each component binds them with
 * {@link optionChecker} to its own message form and error class, so its messages keep one
 * wording and no check is written twice.
 */

/** The error class a component throws for an invalid option. */
export type OptionErrorClass = new (message: string) => Error;

/** How one component words its option errors, and what it throws. */
export interface OptionSubject {
  /** Thrown for every invalid option. */
  readonly error: OptionErrorClass;
  /**
   * The whole message for `option`: what is wrong with it (`problem`) and how to fix it (`fix`,
   * `''` when the problem says it all).
   */
  message(option: string, problem: string, fix: string): string;
  /**
   * How a problem sets what was expected beside what was given (already described).
   * @default `must be ${expected} (got ${given})`
   */
  mismatch?(expected: string, given: string): string;
  /**
   * The fix of an option with a default that was given a wrong value.
   * @default '' (none)
   */
  useDefault?(fallback: string): string;
  /**
   * The whole message for a key that is no option.
   * @default message(key, 'is not a known option', 'Known options: <the known keys>.')
   */
  unknownKey?(key: string, known: readonly string[]): string;
}

/**
 * Every key an options object may hold, as `{ key: true }`. Declare the table with
 * `satisfies Record<keyof TheOptions, true>`: an option added to the type but not to the table
 * then fails to compile, and so does a listed key that is no option.
 */
export type KnownKeys = Readonly<Record<string, true>>;

/** A whole-number option: its default and its range. */
export interface WholeNumberRange {
  /** Used when the option is not given. */
  readonly fallback: number;
  /** Smallest value accepted. */
  readonly min: number;
  /** Largest value accepted; without it, any safe integer from `min`. */
  readonly max?: number;
  /** What the number counts, e.g. `'milliseconds'`, for the message. */
  readonly unit?: string;
}

/** The option checks of one component, throwing its error class with its message form. */
export interface OptionChecker {
  /** Throws the component's error for `option`. */
  readonly fail: (option: string, problem: string, fix?: string) => never;
  /** Throws the component's error for `option`, which should have been `expected`. */
  readonly mismatch: (option: string, expected: string, value: unknown, fix?: string) => never;
  /** A whole number in `range`, or its fallback when the option is not given. */
  readonly wholeNumber: (option: string, value: unknown, range: WholeNumberRange) => number;
  /** One of the `allowed` words, or `fallback` when the option is not given. */
  readonly oneOf: <T extends string>(
    option: string,
    value: unknown,
    allowed: readonly T[],
    fallback: T,
  ) => T;
  /** A function, or `undefined` when the option is not given (or `null`). */
  readonly optionalFunction: <T>(option: string, value: unknown, example: string) => T | undefined;
  /** `true` or `false`, or `fallback` when the option is not given. */
  readonly optionalBoolean: (
    option: string,
    value: unknown,
    fallback: boolean,
    fix?: string,
  ) => boolean;
  /**
   * Refuses the first key of `options` that `known` does not list.
   * @param path - the option path of a key in messages, e.g. `` (key) => `api.${key}` ``
   * @param fix - replaces the default fix, which lists the known keys
   */
  readonly knownKeys: (
    options: object,
    known: KnownKeys,
    path?: (key: string) => string,
    fix?: string,
  ) => void;
}

/**
 * A value as an error message shows it: strings quoted (long ones cut) so that `"1"` and `1`
 * look different, bigints with their `n`, arrays as JSON when short, objects by their keys
 * (never their values, which may be secrets), functions by name.
 *
 * @example describe('sec') // '"sec"'
 * @example describe({ host: 'db' }) // 'an object with keys ["host"]'
 */
export function describe(value: unknown): string {
  if (typeof value === 'function') return value.name ? `function ${value.name}` : 'a function';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) {
    const json = jsonOf(value);
    return json !== undefined && json.length <= 80 ? json : `an array of ${value.length} items`;
  }
  return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 10))}`;
}

/**
 * A value as an error message shows it when a string must be seen whole (a glob, a tampered
 * column): a string in full, as JSON text; anything else as {@link describe} shows it.
 */
export function quotedWhole(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : describe(value);
}

function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    // A cycle or a bigint inside: the caller falls back to a summary.
    return undefined;
  }
}

/** The first key of `options` that `known` does not list, if any. */
export function unknownKeyOf(options: object, known: KnownKeys): string | undefined {
  return Object.keys(options).find((key) => !Object.prototype.hasOwnProperty.call(known, key));
}

/** The expected form of a whole-number option, e.g. `a whole number from 1 to 100`. */
function wholeNumberForm({ min, max, unit }: WholeNumberRange): string {
  const what = unit === undefined ? 'a whole number' : `a whole number of ${unit}`;
  return max === undefined ? `${what} of at least ${min}` : `${what} from ${min} to ${max}`;
}

/**
 * Binds the option checks to one component's message form and error class; create it once per
 * component.
 *
 * @example
 * const check = optionChecker({
 *   error: AuditConfigurationError,
 *   message: (option, problem) => `Invalid SqliteAuditStore option "${option}": ${problem}.`,
 *   mismatch: (expected, given) => `expected ${expected}, got ${given}`,
 * });
 * check.wholeNumber('busyTimeoutMs', options.busyTimeoutMs, { fallback: 5000, min: 0 });
 */
export function optionChecker(subject: OptionSubject): OptionChecker {
  const fail = (option: string, problem: string, fix = ''): never => {
    throw new subject.error(subject.message(option, problem, fix));
  };
  const mismatch = (option: string, expected: string, value: unknown, fix = ''): never => {
    const given = describe(value);
    const problem = subject.mismatch
      ? subject.mismatch(expected, given)
      : `must be ${expected} (got ${given})`;
    return fail(option, problem, fix);
  };
  const useDefault = (fallback: string): string => subject.useDefault?.(fallback) ?? '';
  return {
    fail,
    mismatch,
    wholeNumber(option, value, range) {
      if (value === undefined) return range.fallback;
      const { min, max = Number.MAX_SAFE_INTEGER } = range;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        mismatch(option, wholeNumberForm(range), value, useDefault(String(range.fallback)));
      }
      return value as number;
    },
    oneOf(option, value, allowed, fallback) {
      if (value === undefined) return fallback;
      if (!allowed.includes(value as never)) {
        const words = allowed.map((word) => `'${word}'`).join(', ');
        mismatch(option, `one of ${words}`, value, useDefault(`'${fallback}'`));
      }
      return value as typeof fallback;
    },
    optionalFunction<T>(option: string, value: unknown, example: string): T | undefined {
      if (value === undefined || value === null) return undefined;
      if (typeof value !== 'function')
        mismatch(option, 'a function', value, `Example: ${example}.`);
      return value as T;
    },
    optionalBoolean(option, value, fallback, fix) {
      if (value === undefined) return fallback;
      if (typeof value !== 'boolean') mismatch(option, 'true or false', value, fix);
      return value as boolean;
    },
    knownKeys(options, known, path = (key) => key, fix) {
      const key = unknownKeyOf(options, known);
      if (key === undefined) return;
      const keys = Object.keys(known);
      if (fix === undefined && subject.unknownKey) {
        throw new subject.error(subject.unknownKey(path(key), keys));
      }
      fail(path(key), 'is not a known option', fix ?? `Known options: ${keys.join(', ')}.`);
    },
  };
}
