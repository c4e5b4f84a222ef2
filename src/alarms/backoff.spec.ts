import fc from 'fast-check';
import { backoffDelay, MAX_RETRY_AFTER_MS } from './backoff';

const settings = { initialMs: 1000, maxMs: 300_000 };

describe('backoffDelay', () => {
  it('doubles the ceiling with each attempt until maxMs', () => {
    const almostOne = () => 0.999999999;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, settings, undefined, almostOne))).toEqual([
      999, 1999, 3999, 7999, 15999,
    ]);
    expect(backoffDelay(9, settings, undefined, almostOne)).toBe(255_999);
    expect(backoffDelay(10, settings, undefined, almostOne)).toBe(299_999);
    expect(backoffDelay(10_000, settings, undefined, almostOne)).toBe(299_999);
  });

  it('waits from 0 up to the ceiling (full jitter)', () => {
    expect(backoffDelay(3, settings, undefined, () => 0)).toBe(0);
    expect(backoffDelay(3, settings, undefined, () => 0.5)).toBe(2000);
  });

  it('stays within [0, min(maxMs, initialMs * 2^(n-1))) for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, initialMs, maxMs, r) => {
          const delay = backoffDelay(attempt, { initialMs, maxMs }, undefined, () => r);
          const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
          return Number.isInteger(delay) && delay >= 0 && delay <= ceiling;
        },
      ),
    );
  });

  it('spreads delays over the whole range with the real random source', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, settings));
    expect(Math.min(...delays)).toBeLessThan(800);
    expect(Math.max(...delays)).toBeGreaterThan(7200);
    expect(Math.max(...delays)).toBeLessThan(8000);
    expect(new Set(delays).size).toBeGreaterThan(1000);
  });

  it('never waits less than a Retry-After, even above maxMs', () => {
    expect(backoffDelay(1, settings, 30_000, () => 0.5)).toBe(30_000);
    expect(backoffDelay(5, settings, 100, () => 0.5)).toBe(8000);
    expect(backoffDelay(2, { initialMs: 100, maxMs: 1000 }, 60_000)).toBe(60_000);
    expect(backoffDelay(1, settings, 1500.2, () => 0)).toBe(1501);
  });

  it('caps a Retry-After at six hours, and ignores one that is not a positive number', () => {
    expect(backoffDelay(1, settings, 30 * 24 * 3_600_000)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(21_600_000);
    for (const bogus of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(backoffDelay(1, settings, bogus, () => 0.5)).toBe(500);
    }
  });
});
