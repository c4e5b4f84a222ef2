import { REDACTED } from '../../event/redact';
import { truncatedMarker } from '../../event/serialize';
import { REDACTED_TAG, renderValue } from './render-value';

const text = (value: unknown, max?: number): string => renderValue(value, max).toString();

describe('renderValue', () => {
  it('shows a redacted value as a "redacted" tag, never as the marker or a blank', () => {
    expect(text(REDACTED)).toBe(REDACTED_TAG.toString());
    expect(text(REDACTED)).toContain('>redacted</span>');
    expect(text(REDACTED)).not.toContain(REDACTED);
  });

  it('names empty values instead of showing nothing', () => {
    expect(text(null)).toBe('<span class="muted">empty</span>');
    expect(text('')).toBe('<span class="muted">empty text</span>');
    expect(text(undefined)).toBe('<span class="muted">not set</span>');
    expect(text([])).toBe('<span class="muted">empty list</span>');
  });

  it('writes booleans as Yes / No and numbers as they are', () => {
    expect(text(true)).toBe('Yes');
    expect(text(false)).toBe('No');
    expect(text(0)).toBe('0');
    expect(text(-1.5)).toBe('-1.5');
  });

  it('escapes text', () => {
    expect(text('<img src=x onerror=alert(1)>')).toBe(
      '<span class="text">&lt;img src=x onerror=alert(1)&gt;</span>',
    );
  });

  it('cuts long text and keeps the whole value in the title', () => {
    const long = `${'a'.repeat(400)}<b>`;
    const out = text(long, 100);
    expect(out).toContain(`title="${'a'.repeat(400)}&lt;b&gt;"`);
    expect(out).toContain(`>${'a'.repeat(99)}\u2026</span>`);
  });

  it('joins lists of plain values and shows small objects as pairs', () => {
    expect(text(['admin', 'support', 3])).toBe('<span class="text">admin, support, 3</span>');
    const pairs = text({ enabled: false, phone: '+1 555 0100', secretCode: REDACTED });
    expect(pairs).toContain(
      'Enabled: No, Phone: <span class="text">+1 555 0100</span>, Secret code: ',
    );
    expect(pairs).toContain('>redacted</span>');
  });

  it('falls back to compact JSON for nested values, escaped', () => {
    expect(text({ a: { b: '</script>' } })).toBe(
      '<span class="json">{&quot;a&quot;:{&quot;b&quot;:&quot;&lt;/script&gt;&quot;}}</span>',
    );
    expect(text(['x', REDACTED])).toContain('json');
  });

  it('describes size markers instead of showing their fields', () => {
    expect(text(truncatedMarker('x'.repeat(5000)))).toBe(
      '<span class="muted">too large to keep (4.9 KB)</span>',
    );
    expect(text({ $audit: 'binary', bytes: 300, sha256: 'ab' })).toBe(
      '<span class="muted">binary data (300 bytes)</span>',
    );
  });
});
