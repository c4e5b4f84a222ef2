import { readableDuration, readableTime } from './viewer-time';

describe('readableTime', () => {
  it('writes UTC with the weekday, with or without seconds', () => {
    expect(readableTime('2026-03-31T14:05:09.120Z')).toBe('Tue 31 Mar 2026, 14:05:09 UTC');
    expect(readableTime('2026-03-31T14:05:09.120Z', false)).toBe('Tue 31 Mar 2026, 14:05 UTC');
    expect(readableTime('2026-01-04T00:00:00+02:00')).toBe('Sat 3 Jan 2026, 22:00:00 UTC');
  });

  it('returns a value that is not a date unchanged', () => {
    expect(readableTime('not a date')).toBe('not a date');
  });
});

describe('readableDuration', () => {
  it('uses milliseconds below a second and seconds above', () => {
    expect(readableDuration(0.4)).toBe('0 ms');
    expect(readableDuration(85)).toBe('85 ms');
    expect(readableDuration(1234)).toBe('1.2 s');
    expect(readableDuration(65_000)).toBe('65 s');
  });
});
