import { describe as shown, optionChecker, unknownKeyOf, type KnownKeys } from './option-checks';

class ExampleError extends Error {}

const check = optionChecker({
  error: ExampleError,
  message: (option, problem, fix) => `x: option "${option}" ${problem}.${fix ? ` ${fix}` : ''}`,
  useDefault: (fallback) => `Default: ${fallback}.`,
});

const terse = optionChecker({
  error: TypeError,
  message: (option, problem) => `Invalid Example option "${option}": ${problem}.`,
  mismatch: (expected, given) => `expected ${expected}, got ${given}`,
  unknownKey: (key, known) => `Unknown Example option "${key}". Known: ${known.join(', ')}.`,
});

interface ExampleOptions {
  size?: number;
  mode?: 'a' | 'b';
}
const KNOWN: KnownKeys = { size: true, mode: true } satisfies Record<keyof ExampleOptions, true>;

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a throw');
}

describe('describe', () => {
  it.each([
    ['sec', '"sec"'],
    [1, '1'],
    [Number.NaN, 'NaN'],
    [undefined, 'undefined'],
    [null, 'null'],
    [true, 'true'],
    [10n, '10n'],
    [[1, 'a'], '[1,"a"]'],
    [new Array(40).fill('abc'), 'an array of 40 items'],
    [{ host: 'db', password: 'secret' }, 'an object with keys ["host","password"]'],
    [function guard() {}, 'function guard'],
    [() => 1, 'a function'],
  ])('shows %p as %s', (value, expected) => {
    // An arrow function assigned in the table takes no name, which the case above relies on.
    expect(shown(value)).toBe(expected);
  });

  it('cuts long strings', () => {
    expect(shown('x'.repeat(100))).toBe(JSON.stringify(`${'x'.repeat(57)}...`));
  });
});

describe('optionChecker', () => {
  it('throws the subject error with its message form', () => {
    const error = (() => {
      try {
        check.fail('a', 'is wrong', 'Fix it.');
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ExampleError);
    expect((error as Error).message).toBe('x: option "a" is wrong. Fix it.');
  });

  it('checks whole numbers, with the default and the range in the message', () => {
    expect(check.wholeNumber('n', undefined, { fallback: 5, min: 1 })).toBe(5);
    expect(check.wholeNumber('n', 7, { fallback: 5, min: 1 })).toBe(7);
    expect(messageOf(() => check.wholeNumber('n', 0, { fallback: 5, min: 1 }))).toBe(
      'x: option "n" must be a whole number of at least 1 (got 0). Default: 5.',
    );
    expect(
      messageOf(() =>
        terse.wholeNumber('t', 1.5, { fallback: 5, min: 0, max: 9, unit: 'milliseconds' }),
      ),
    ).toBe(
      'Invalid Example option "t": expected a whole number of milliseconds from 0 to 9, got 1.5.',
    );
    expect(() => check.wholeNumber('n', 2 ** 60, { fallback: 5, min: 1 })).toThrow(/at least 1/);
  });

  it('checks words, functions and booleans', () => {
    expect(check.oneOf('m', undefined, ['a', 'b'], 'a')).toBe('a');
    expect(messageOf(() => check.oneOf('m', 'c', ['a', 'b'], 'a'))).toBe(
      `x: option "m" must be one of 'a', 'b' (got "c"). Default: 'a'.`,
    );
    expect(check.optionalFunction('f', null, 'f: () => 1')).toBeUndefined();
    expect(messageOf(() => check.optionalFunction('f', 'x', 'f: () => 1'))).toBe(
      'x: option "f" must be a function (got "x"). Example: f: () => 1.',
    );
    expect(check.optionalBoolean('b', undefined, true)).toBe(true);
    expect(messageOf(() => terse.optionalBoolean('b', 'no', true))).toBe(
      'Invalid Example option "b": expected true or false, got "no".',
    );
  });

  it('refuses unknown keys, listing the known ones', () => {
    expect(() => check.knownKeys({ size: 1, mode: 'a' }, KNOWN)).not.toThrow();
    expect(messageOf(() => check.knownKeys({ sise: 1 }, KNOWN, (key) => `ex.${key}`))).toBe(
      'x: option "ex.sise" is not a known option. Known options: size, mode.',
    );
    expect(messageOf(() => check.knownKeys({ sise: 1 }, KNOWN, undefined, 'See the docs.'))).toBe(
      'x: option "sise" is not a known option. See the docs.',
    );
    expect(messageOf(() => terse.knownKeys({ sise: 1 }, KNOWN))).toBe(
      'Unknown Example option "sise". Known: size, mode.',
    );
  });

  it('does not take inherited names for known keys', () => {
    expect(unknownKeyOf({ toString: 1 }, KNOWN)).toBe('toString');
    expect(unknownKeyOf({ size: 1 }, KNOWN)).toBeUndefined();
  });
});
