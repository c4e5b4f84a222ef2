import fc from 'fast-check';
import { toJsonSafe } from './json-safe';
import { NODE_BUDGET_MARKER, type KeyGuard } from './json-safe-options';
import { WalkBudget } from './walk-budget';

/** A guard that rejects the keys named, at any depth (as a redactor's key names do). */
function rejecting(...names: string[]): KeyGuard<number> {
  return {
    root: 0,
    replacement: '[X]',
    child: (state, key) => (names.includes(key) ? null : state),
    item: (state) => state,
  };
}

describe('toJsonSafe within a budget', () => {
  it('visits one value per object, array and entry, and no more', () => {
    const budget = new WalkBudget(100);
    expect(toJsonSafe({ a: 1, b: [true, null], c: { d: 'x' } }, { budget })).toEqual({
      a: 1,
      b: [true, null],
      c: { d: 'x' },
    });
    // root, a, b, true, null, c, d
    expect(budget.visited).toBe(7);
    expect(budget.exhausted).toBe(false);
  });

  it('stops where the budget runs out, marks the cut and every container around it', () => {
    const budget = new WalkBudget(4);
    const copy = toJsonSafe({ a: 1, list: [1, 2, 3], z: 'after' }, { budget }) as {
      list: unknown[];
    };
    // root, a, list, 1: the fifth visit (2) is refused.
    expect(copy).toEqual({ a: 1, list: [1, NODE_BUDGET_MARKER], $audit: NODE_BUDGET_MARKER });
    expect(budget.isPartial(copy)).toBe(true);
    expect(budget.isPartial(copy.list)).toBe(true);
    expect(budget.exhausted).toBe(true);
  });

  it('marks the containers around a cut made at their last entry', () => {
    const budget = new WalkBudget(3);
    const copy = toJsonSafe({ b: { x: 1, y: 2 } }, { budget }) as { b: object };
    expect(copy).toEqual({ b: { x: 1, $audit: NODE_BUDGET_MARKER } });
    expect(budget.isPartial(copy.b)).toBe(true);
    expect(budget.isPartial(copy)).toBe(true);
  });

  it('gives a partial stand-in when nothing at all could be read', () => {
    const budget = new WalkBudget(0);
    const copy = toJsonSafe({ a: 1 }, { budget });
    expect(copy).toEqual({ $audit: NODE_BUDGET_MARKER });
    expect(budget.isPartial(copy)).toBe(true);
  });

  it('reads a huge array and a huge object only up to the budget', () => {
    const sparse = new Array<unknown>(1e9);
    const budget = new WalkBudget(1000);
    const copy = toJsonSafe(sparse, { budget }) as unknown[];
    expect(copy).toHaveLength(1000);
    expect(budget.visited).toBe(1000);
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    const objectBudget = new WalkBudget(1000);
    const objectCopy = toJsonSafe(wide, { budget: objectBudget }) as object;
    expect(Object.keys(objectCopy)).toHaveLength(1000);
    expect(objectBudget.visited).toBe(1000);
  });

  it('leaves a copy that fits untouched and unmarked (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const budget = new WalkBudget(1_000_000);
        const copy = toJsonSafe(value, { budget });
        expect(copy).toEqual(JSON.parse(JSON.stringify(value)) as unknown);
        expect(budget.isPartial(copy)).toBe(false);
        expect(budget.exhausted).toBe(false);
      }),
    );
  });

  it('never visits more than the budget, whatever the value (property)', () => {
    fc.assert(
      fc.property(fc.anything(), fc.integer({ min: 0, max: 30 }), (value, limit) => {
        const budget = new WalkBudget(limit);
        const copy = toJsonSafe(value, { budget });
        expect(budget.visited).toBeLessThanOrEqual(limit);
        // A copy is partial exactly when something was refused.
        if (!budget.exhausted) expect(budget.isPartial(copy)).toBe(false);
        if (typeof copy === 'object' && copy !== null && budget.exhausted) {
          expect(budget.isPartial(copy)).toBe(true);
        }
      }),
    );
  });
});

describe('toJsonSafe with maxBytes', () => {
  it('stops once the copy is certainly larger, keeping the value that crossed the line', () => {
    const budget = new WalkBudget(1000);
    const copy = toJsonSafe(
      { a: 'x'.repeat(50), b: 'y'.repeat(50), c: 1 },
      { budget, maxBytes: 40 },
    );
    expect(copy).toEqual({ a: 'x'.repeat(50), $audit: NODE_BUDGET_MARKER });
    expect(budget.isPartial(copy)).toBe(true);
  });

  it('copies a single long string whole, and does not mark it', () => {
    const budget = new WalkBudget(10);
    expect(toJsonSafe('z'.repeat(10_000), { budget, maxBytes: 10 })).toBe('z'.repeat(10_000));
    expect(budget.exhausted).toBe(false);
  });

  it('counts no more than the JSON holds, so a value that fits is read whole (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
        const budget = new WalkBudget(1_000_000);
        const copy = toJsonSafe(value, { budget, maxBytes: bytes });
        expect(budget.isPartial(copy)).toBe(false);
        expect(copy).toEqual(JSON.parse(JSON.stringify(value)) as unknown);
      }),
    );
  });
});

describe('toJsonSafe with a key guard', () => {
  it('replaces rejected values without walking into them, in objects, Maps and errors', () => {
    const budget = new WalkBudget(100);
    const secret = { deep: { deeper: Array.from({ length: 50 }, (_, i) => i) } };
    const error = Object.assign(new Error('boom'), { extra: 1 });
    const copy = toJsonSafe(
      { token: secret, keep: 1, map: new Map([['token', secret]]), error, gone: undefined },
      { budget, guard: rejecting('token', 'message') },
    );
    expect(copy).toEqual({
      token: '[X]',
      keep: 1,
      map: { token: '[X]' },
      error: { type: 'Error', message: '[X]' },
    });
    expect(budget.visited).toBeLessThan(10);
  });

  it('omits a rejected key whose value JSON would omit, but keeps an array slot', () => {
    const guard: KeyGuard<number> = {
      root: 0,
      replacement: '[X]',
      child: (state, key) => (key === 'f' ? null : state),
      item: (state, index) => (index === 0 ? null : state),
    };
    expect(toJsonSafe({ f: () => 1, list: [undefined, 2] }, { guard })).toEqual({
      list: ['[X]', 2],
    });
  });

  it('passes the state down the path', () => {
    const seen: string[] = [];
    const guard: KeyGuard<string> = {
      root: '',
      replacement: null,
      child: (state, key) => {
        seen.push(`${state}/${key}`);
        return `${state}/${key}`;
      },
      item: (state, index) => `${state}/${index}`,
    };
    toJsonSafe({ a: { b: [{ c: 1 }] } }, { guard, guardState: '~' });
    expect(seen).toEqual(['~/a', '~/a/b', '~/a/b/0/c']);
  });
});
