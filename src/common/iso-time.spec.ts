import { isoNow, isoTime } from './iso-time';

describe('isoTime', () => {
  it.each([
    0, -1, 1, 9, 10, 99, 100, 999, 1000, 1999, -999, -1000, -1001, 1_733_404_800_123, 8.64e15,
    -8.64e15, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001,
  ])('writes %p as toISOString does', (ms) => {
    expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('writes every millisecond of a second, and the next second, as toISOString does', () => {
    const start = Date.UTC(2026, 11, 5, 13, 24, 7);
    for (let ms = start - 3; ms < start + 2004; ms += 1) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('cuts fractions as a Date does, toward zero', () => {
    for (const ms of [1.5, -1.5, 999.9, -0.5, 1_733_404_800_123.7]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('refuses a time no Date can hold, as toISOString does', () => {
    // Each time comes after the edge next to it, so a cached second cannot answer for it.
    for (const [edge, ms] of [
      [8.64e15, 8.64e15 + 1],
      [-8.64e15, -8.64e15 - 1],
      [0, Number.NaN],
      [8.64e15, Infinity],
    ] as const) {
      isoTime(edge);
      expect(() => isoTime(ms)).toThrow(RangeError);
    }
  });

  it('gives the current time', () => {
    const before = Date.now();
    const now = Date.parse(isoNow());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
