import { colorEnabled, outputWidth, sanitize, truncate, type CliStream } from './terminal';

const stream = (isTTY: boolean, columns?: number) => ({ isTTY, columns }) as unknown as CliStream;

describe('terminal helpers', () => {
  it('colours only a terminal, and never with NO_COLOR set', () => {
    expect(colorEnabled(stream(true), {})).toBe(true);
    expect(colorEnabled(stream(false), {})).toBe(false);
    expect(colorEnabled(stream(true), { NO_COLOR: '1' })).toBe(false);
    // no-color.org: an empty value does not count.
    expect(colorEnabled(stream(true), { NO_COLOR: '' })).toBe(true);
  });

  it('takes the width of the terminal, else COLUMNS, else a wide default', () => {
    expect(outputWidth(stream(true, 97), { COLUMNS: '50' })).toBe(97);
    expect(outputWidth(stream(false), { COLUMNS: '120' })).toBe(120);
    expect(outputWidth(stream(false), { COLUMNS: 'wide' })).toBe(200);
    expect(outputWidth(stream(false), {})).toBe(200);
  });

  it('escapes C0, C1 and bidi control characters and keeps the rest', () => {
    expect(sanitize('a\tb\nc\u0085d\u2066e')).toBe('a\\u0009b\\u000ac\\u0085d\\u2066e');
    expect(sanitize('Zoë → 東京 😀')).toBe('Zoë → 東京 😀');
  });

  it('truncates with an ellipsis', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abcdef', 1)).toBe('…');
    expect(truncate('abcdef', 0)).toBe('');
  });
});
