import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import {
  DIFF_TRUNCATION_PATH,
  applyDiff,
  changedFieldPaths,
  diffStates,
  diffTruncationEntry,
  isDiffTruncationEntry,
  jsonEqual,
} from './diff';
import { toJsonSafe } from './json-safe';
import { WalkBudget } from './walk-budget';

describe('diffStates', () => {
  it('lists changed, added and removed fields with sorted keys', () => {
    const before = { name: 'Ada', email: 'a@x.io', age: 36 };
    const after = { name: 'Ada L.', age: 36, phone: '+33 1' };
    expect(diffStates(before, after)).toEqual([
      { path: ['email'], op: 'removed', before: 'a@x.io' },
      { path: ['name'], op: 'changed', before: 'Ada', after: 'Ada L.' },
      { path: ['phone'], op: 'added', after: '+33 1' },
    ]);
  });

  it('descends into nested objects', () => {
    const before = { mfa: { phone: '+33 1', enabled: true }, name: 'Ada' };
    const after = { mfa: { phone: '+33 2', enabled: true }, name: 'Ada' };
    expect(diffStates(before, after)).toEqual([
      { path: ['mfa', 'phone'], op: 'changed', before: '+33 1', after: '+33 2' },
    ]);
  });

  it('adds or removes a nested object as a whole', () => {
    expect(diffStates({ a: 1 }, { a: 1, mfa: { phone: '1' } })).toEqual([
      { path: ['mfa'], op: 'added', after: { phone: '1' } },
    ]);
    expect(diffStates({ mfa: { phone: '1' } }, {})).toEqual([
      { path: ['mfa'], op: 'removed', before: { phone: '1' } },
    ]);
  });

  it('compares arrays without identity item by item, by position', () => {
    expect(diffStates({ roles: ['a', 'b'] }, { roles: ['a', 'c'] })).toEqual([
      { path: ['roles', '[1]'], op: 'changed', before: 'b', after: 'c' },
    ]);
    expect(diffStates({ items: [{ id: 1 }] }, { items: [{ id: 1 }] })).toEqual([]);
  });

  it('reports a type change at a key as changed', () => {
    expect(diffStates({ v: { a: 1 } }, { v: [1] })).toEqual([
      { path: ['v'], op: 'changed', before: { a: 1 }, after: [1] },
    ]);
    expect(diffStates({ v: null }, { v: 0 })).toEqual([
      { path: ['v'], op: 'changed', before: null, after: 0 },
    ]);
  });

  it('lists every top-level key as added for a creation and removed for a deletion', () => {
    expect(diffStates(undefined, { b: 2, a: { x: 1 } })).toEqual([
      { path: ['a'], op: 'added', after: { x: 1 } },
      { path: ['b'], op: 'added', after: 2 },
    ]);
    expect(diffStates({ b: 2, a: 1 }, undefined)).toEqual([
      { path: ['a'], op: 'removed', before: 1 },
      { path: ['b'], op: 'removed', before: 2 },
    ]);
    expect(diffStates(undefined, undefined)).toEqual([]);
  });

  it('uses the empty path for values that are not objects', () => {
    expect(diffStates('draft', 'published')).toEqual([
      { path: [], op: 'changed', before: 'draft', after: 'published' },
    ]);
    expect(diffStates([1], [1])).toEqual([]);
    expect(diffStates(undefined, 'x')).toEqual([{ path: [], op: 'added', after: 'x' }]);
    expect(diffStates([1], undefined)).toEqual([{ path: [], op: 'removed', before: [1] }]);
    expect(diffStates({ a: 1 }, 'x')).toEqual([
      { path: [], op: 'changed', before: { a: 1 }, after: 'x' },
    ]);
  });

  it('never reads inherited properties for keys missing on one side', () => {
    const before = JSON.parse('{"toString":"x"}') as unknown;
    expect(diffStates(before, {})).toEqual([{ path: ['toString'], op: 'removed', before: 'x' }]);
    const after = JSON.parse('{"__proto__":{"a":1},"constructor":1}') as unknown;
    expect(diffStates({}, after)).toEqual([
      { path: ['__proto__'], op: 'added', after: { a: 1 } },
      { path: ['constructor'], op: 'added', after: 1 },
    ]);
  });
});

describe('jsonEqual', () => {
  it('compares JSON values structurally, ignoring key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual(0, -0)).toBe(true);
    expect(jsonEqual(null, {})).toBe(false);
  });

  it('counts keys whose value is undefined as absent', () => {
    expect(jsonEqual({ a: undefined }, {})).toBe(true);
    expect(jsonEqual({}, { a: undefined, b: 1 })).toBe(false);
  });
});

describe('changedFieldPaths', () => {
  it('joins paths with dots', () => {
    const diff = diffStates({ mfa: { phone: '1' }, name: 'a' }, { mfa: { phone: '2' }, name: 'b' });
    expect(changedFieldPaths(diff)).toEqual(['mfa.phone', 'name']);
    expect(changedFieldPaths(diffStates(1, 2))).toEqual(['']);
  });

  it('leaves out the entry that marks a cut diff', () => {
    const omitted = diffStates({}, { a: 1, b: 2 });
    const marker = diffTruncationEntry(omitted);
    expect(marker.path).toEqual(DIFF_TRUNCATION_PATH);
    expect(isDiffTruncationEntry(marker)).toBe(true);
    expect(marker.after).toEqual(expect.objectContaining({ $audit: 'truncated', entries: 2 }));
    expect(changedFieldPaths([{ path: ['x'], op: 'added', after: 1 }, marker])).toEqual(['x']);
  });

  it('does not mistake a real $audit field for the cut marker', () => {
    expect(isDiffTruncationEntry({ path: ['$audit'], op: 'changed', before: 1, after: 2 })).toBe(
      false,
    );
  });
});

describe('applyDiff', () => {
  it('rebuilds the later state without modifying its inputs', () => {
    const before = { mfa: { phone: '1', enabled: true }, name: 'a', gone: 1 };
    const after = { mfa: { phone: '2', enabled: true }, name: 'a', added: { x: [1] } };
    const snapshot = structuredClone(before);
    const diff = diffStates(before, after);
    const rebuilt = applyDiff(before, diff);
    expect(rebuilt).toEqual(after);
    expect(before).toEqual(snapshot);
    (rebuilt as { added: { x: number[] } }).added.x.push(2);
    expect(diff).toContainEqual({ path: ['added'], op: 'added', after: { x: [1] } });
  });

  it('rebuilds creations and root-level changes', () => {
    expect(applyDiff(undefined, diffStates(undefined, { a: 1 }))).toEqual({ a: 1 });
    expect(applyDiff('x', diffStates('x', 'y'))).toBe('y');
    expect(applyDiff([1], diffStates([1], undefined))).toBeUndefined();
  });

  it('writes __proto__ keys as data', () => {
    const after = JSON.parse('{"__proto__":{"polluted":true}}') as unknown;
    const rebuilt = applyDiff({}, diffStates({}, after)) as object;
    expect(Object.getPrototypeOf(rebuilt)).toBe(Object.prototype);
    expect(JSON.stringify(rebuilt)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

function comparePaths(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const left = a[i] as string;
    const right = b[i] as string;
    if (left !== right) return left < right ? -1 : 1;
  }
  return a.length - b.length;
}

describe('diff properties', () => {
  const key = fc.oneof(
    fc.constantFrom('a', 'b', 'c', 'id', 'mfa', '__proto__', 'constructor', 'toString'),
    fc.string({ maxLength: 4 }),
  );
  const { object: jsonObject } = fc.letrec<{ value: unknown; object: Record<string, unknown> }>(
    (tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(null, true, false, 0, 1, 'x', ''),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string({ maxLength: 5 }),
        fc.array(tie('value'), { maxLength: 3 }),
        tie('object'),
      ),
      object: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    }),
  );
  // Inputs are JSON-safe in production (output of toJsonSafe): normalise through JSON.
  const state = jsonObject.map(
    (value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>,
  );

  it('applyDiff(before, diffStates(before, after)) deep-equals after', () => {
    fc.assert(
      fc.property(state, state, (before, after) => {
        const rebuilt = applyDiff(before, diffStates(before, after));
        expect(isDeepStrictEqual(rebuilt, after)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('yields an empty diff exactly when the states are deep-equal', () => {
    const copyOrOther = (before: Record<string, unknown>) =>
      fc.oneof(fc.constant(JSON.parse(JSON.stringify(before)) as Record<string, unknown>), state);
    fc.assert(
      fc.property(
        state.chain((before) => fc.tuple(fc.constant(before), copyOrOther(before))),
        ([before, after]) => {
          const empty = diffStates(before, after).length === 0;
          expect(empty).toBe(isDeepStrictEqual(before, after));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('produces sorted, unique paths', () => {
    fc.assert(
      fc.property(state, state, (before, after) => {
        const diff = diffStates(before, after);
        const paths = diff.map((change) => JSON.stringify(change.path));
        expect(new Set(paths).size).toBe(paths.length);
        expect(changedFieldPaths(diff)).toHaveLength(paths.length);
        for (let i = 1; i < diff.length; i += 1) {
          expect(comparePaths(diff[i - 1]?.path ?? [], diff[i]?.path ?? [])).toBeLessThan(0);
        }
      }),
    );
  });
  it.each([5, 48, 49, 200])(
    'lists the changes of a record with %i keys in code-unit order, whatever their insertion order',
    (count) => {
      const keys = fc.sample(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), {
        numRuns: count * 2,
        seed: count,
      });
      const unique = [...new Set(keys)].slice(0, count);
      const before = Object.fromEntries(unique.map((key, i) => [key, i]));
      const after = Object.fromEntries([...unique].reverse().map((key, i) => [key, -i - 1]));
      const paths = diffStates(before, after).map((change) => change.path[0]);
      expect(paths).toEqual([...unique].sort());
    },
  );
});

describe('diffStates within a budget and on partial copies', () => {
  it('stops when its budget runs out and says so', () => {
    const before = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    const after = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i + 1]));
    const budget = new WalkBudget(10);
    const changes = diffStates(before, after, { budget });
    expect(changes.length).toBeLessThan(10);
    expect(budget.visited).toBeLessThanOrEqual(10);
    expect(budget.exhausted).toBe(true);
  });

  it('bounds the comparison of large leaves too', () => {
    const budget = new WalkBudget(50);
    const changes = diffStates(
      { list: Array(10_000).fill(1) },
      { list: Array(10_000).fill(1) },
      { budget },
    );
    expect(changes).toEqual([]);
    expect(budget.exhausted).toBe(true);
  });

  it('reports no added or removed key where a side was read only in part', () => {
    const reads = new WalkBudget(3);
    const before = toJsonSafe({ a: 1, b: 2, c: 3 }, { budget: reads.within(3) }) as object;
    const after = { a: 9, d: 4 };
    reads.markPartial(after);
    expect(reads.isPartial(before)).toBe(true);
    // `a` was read on both sides; `b`, `c` and `d` may be in the parts not read.
    expect(diffStates(before, after, { isPartial: (v) => reads.isPartial(v) })).toEqual([
      { path: ['a'], op: 'changed', before: 1, after: 9 },
    ]);
  });

  it('never compares a partial value as a whole, nor lists the cut marker as a field', () => {
    const reads = new WalkBudget(4);
    const after = toJsonSafe({ list: [1, 2, 3, 4], x: 1 }, { budget: reads }) as object;
    const isPartial = (v: object): boolean => reads.isPartial(v);
    expect(diffStates({ list: [1, 2, 3, 4], x: 1 }, after, { isPartial })).toEqual([]);
    expect(diffStates(undefined, after, { isPartial }).map((c) => c.path)).toEqual([['list']]);
  });
});
