import fc from 'fast-check';
import { GlobError, compileGlob } from './glob';

/** The definition, written the slow obvious way: backtracking over segments, RegExp inside one. */
function referenceMatch(glob: string, input: string): boolean {
  const pattern = glob.split('.');
  const segments = input.split('.');
  const segmentMatches = (p: string, s: string): boolean =>
    new RegExp(
      `^${p
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(s);
  const match = (pi: number, si: number): boolean => {
    if (pi === pattern.length) return si === segments.length;
    const p = pattern[pi] as string;
    if (p === '**') return match(pi + 1, si) || (si < segments.length && match(pi, si + 1));
    return (
      si < segments.length && segmentMatches(p, segments[si] as string) && match(pi + 1, si + 1)
    );
  };
  return match(0, 0);
}

describe('compileGlob', () => {
  it.each([
    ['user.update', 'user.update', true],
    ['user.update', 'user.updated', false],
    ['user.update', 'user', false],
    ['user.*', 'user.update', true],
    ['user.*', 'user.mfa.reset', false],
    ['user.*', 'user', false],
    ['*.delete', 'invoice.delete', true],
    ['*.delete', 'a.b.delete', false],
    ['user.**', 'user', true],
    ['user.**', 'user.mfa.reset', true],
    ['user.**', 'users.x', false],
    ['**.delete', 'a.b.delete', true],
    ['**.delete', 'delete', true],
    ['**', '', true],
    ['**', 'a.b.c', true],
    ['a.**.z', 'a.z', true],
    ['a.**.z', 'a.b.c.z', true],
    ['a.**.z', 'a.b.c', false],
    ['mfa.*', 'mfa.phone', true],
    ['mfa.ph*e', 'mfa.phone', true],
    ['mfa.ph*e', 'mfa.phones', false],
    ['*phone*', 'backupPhone', false],
    ['*Phone*', 'backupPhone', true],
    ['invoice.{void,refund}', 'invoice.void', true],
    ['invoice.{void,refund}', 'invoice.refund', true],
    ['invoice.{void,refund}', 'invoice.create', false],
    ['{user,account}.{create,delete}', 'account.delete', true],
    ['{a,{b,c}}.x', 'c.x', true],
    ['{user.*,*.void}', 'invoice.void', true],
    ['a.b', 'aXb', false],
    ['$audit', '$audit', true],
    ['User.Update', 'user.update', false],
  ])('%s on %s is %s', (glob, input, expected) => {
    expect(compileGlob(glob).test(input)).toBe(expected);
  });

  it('matches when any glob of a list matches', () => {
    const matcher = compileGlob(['user.create', 'order.*']);
    expect(matcher.test('user.create')).toBe(true);
    expect(matcher.test('order.ship')).toBe(true);
    expect(matcher.test('user.delete')).toBe(false);
  });

  it('exposes the exact strings when no glob has a wildcard (for indexing)', () => {
    expect(compileGlob(['a.b', 'invoice.{void,refund}']).literals).toEqual([
      'a.b',
      'invoice.void',
      'invoice.refund',
    ]);
    expect(compileGlob(['a.b', 'c.*']).literals).toBeUndefined();
  });

  it('never throws on inputs that are not strings', () => {
    expect(compileGlob('a.*').test(42 as unknown as string)).toBe(false);
    expect(compileGlob('a.b').test(undefined as unknown as string)).toBe(false);
  });

  it.each([
    ['', /not a glob/],
    ['user..update', /empty segment/],
    ['.user', /empty segment/],
    ['user.', /empty segment/],
    ['user.**x', /"\*\*" must be a whole segment/],
    ['invoice.{void,refund', /unclosed "\{" at position 9/],
    ['invoice.void}', /"\}" outside braces at position 13/],
    ['a,b', /"," outside braces/],
    ['invoice.{void,}', /empty alternative/],
    ['invoice.{}', /empty alternative/],
    ['user.?', /contains "\?"/],
    ['user.[ab]', /contains "\["/],
    ['user update', /contains " "/],
    ['{a,b}.{a,b}.{a,b}.{a,b}.{a,b}.{a,b}.{a,b}.{a,b}.{a,b}', /more than 256 alternatives/],
  ])('rejects %j', (glob, message) => {
    expect(() => compileGlob(glob)).toThrow(GlobError);
    expect(() => compileGlob(glob)).toThrow(message);
  });

  it('rejects an empty list and non-strings', () => {
    expect(() => compileGlob([])).toThrow(/at least one glob/);
    expect(() => compileGlob([7 as unknown as string])).toThrow(/7 is not a glob/);
    expect(() => compileGlob([7n as unknown as string])).toThrow(GlobError);
    expect(() => compileGlob([7n as unknown as string])).toThrow(/^7n is not a glob/);
    expect(() => compileGlob('a'.repeat(501))).toThrow(/longer than 500/);
  });

  describe('properties', () => {
    const segment = fc.oneof(
      { weight: 1, arbitrary: fc.constant('**') },
      {
        weight: 4,
        arbitrary: fc
          .array(fc.constantFrom('a', 'b', '*'), { minLength: 1, maxLength: 4 })
          .map((chars) => chars.join('').replace(/\*+/g, '*')),
      },
    );
    const glob = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
    const input = fc.string({ unit: fc.constantFrom('a', 'b', '.'), maxLength: 12 });

    it('agrees with the slow reference implementation', () => {
      fc.assert(
        fc.property(glob, input, (g, s) => {
          expect(compileGlob(g).test(s)).toBe(referenceMatch(g, s));
        }),
        { numRuns: 3000 },
      );
    });

    it('treats {x,y} as the union of its expansions', () => {
      const word = fc.constantFrom('a', 'b', '*', 'a*', 'ab');
      fc.assert(
        fc.property(word, word, word, input, (x, y, tail, s) => {
          const braced = compileGlob(`{${x},${y}}.${tail}`).test(s);
          expect(braced).toBe(
            referenceMatch(`${x}.${tail}`, s) || referenceMatch(`${y}.${tail}`, s),
          );
        }),
        { numRuns: 1000 },
      );
    });

    // A backtracking RegExp takes O(n^k) (or worse) on these; the segment matcher is linear, so
    // the test finishes in milliseconds instead of timing out.
    it('stays linear on long adversarial inputs', () => {
      const long = 'a'.repeat(200_000);
      expect(compileGlob('*a*a*a*a*a*a*a*b').test(long)).toBe(false);
      expect(compileGlob('*a*a*a*a*a*a*a*a').test(long)).toBe(true);
      const manySegments = Array.from({ length: 50_000 }, () => 'a').join('.');
      expect(compileGlob('**.a.**.a.**.a.**.b').test(manySegments)).toBe(false);
      expect(compileGlob('**.a.**.a.**.a.**').test(manySegments)).toBe(true);
      expect(compileGlob('**.*a*a*.**.*a*b').test(`${manySegments}.xaax.ab`)).toBe(true);
      expect(compileGlob('**.*a*a*.**.*a*b').test(`${manySegments}.xaaxab`)).toBe(false);
      const field = `${'x'.repeat(100_000)}.${'y'.repeat(100_000)}`;
      expect(compileGlob(['mfa.**', '*x*x*x*x*.*y*z']).test(field)).toBe(false);
    });
  });
});
