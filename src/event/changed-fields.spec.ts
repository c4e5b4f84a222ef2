import { isDeepStrictEqual } from 'node:util';
import { changedFields, sameFieldValue, sameFields } from './changed-fields';

describe('changedFields', () => {
  it('keeps on each side only the fields whose values differ', () => {
    expect(
      changedFields({ id: 1, note: 'a', tags: ['x'] }, { id: 1, note: 'b', tags: ['x'], extra: 2 }),
    ).toEqual({ before: { note: 'a' }, after: { note: 'b', extra: 2 } });
  });

  it('counts a missing field as undefined', () => {
    expect(changedFields({ gone: undefined }, {})).toEqual({ before: {}, after: {} });
  });

  it('takes another comparison when given one', () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const before = { price: new Money(5) };
    const after = { price: { cents: 5 } };
    expect(changedFields(before, after).after).toEqual({});
    expect(changedFields(before, after, isDeepStrictEqual).after).toEqual(after);
  });
});

describe('sameFieldValue', () => {
  it('compares dates by instant, objects by content and BigInt without throwing', () => {
    expect(sameFieldValue(new Date(5), new Date(5))).toBe(true);
    expect(sameFieldValue(new Date(5), new Date(6))).toBe(false);
    expect(sameFieldValue({ a: 1 }, { a: 1 })).toBe(true);
    expect(sameFieldValue(10n, 10n)).toBe(true);
    expect(sameFieldValue(10n, '10')).toBe(false);
    expect(sameFieldValue(1, '1')).toBe(false);
    expect(sameFieldValue(null, undefined)).toBe(false);
  });
});

describe('sameFields', () => {
  it('is true only when no field changed', () => {
    expect(sameFields({ a: 1, b: new Date(1) }, { b: new Date(1), a: 1 })).toBe(true);
    expect(sameFields({ a: 1 }, { a: 2 })).toBe(false);
  });
});
