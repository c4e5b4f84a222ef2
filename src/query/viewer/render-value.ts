/**
 * One recorded value (a field before or after a change) as the viewer shows it: text as text,
 * `true` as "Yes", a redacted value as a "redacted" tag, markers as what they stand for.
 */
import { REDACTED } from '../../event/redact';
import { isBinaryMarker, isTruncatedMarker } from '../../event/serialize';
import { clippedSpan, markup, type SafeHtml } from './html';
import { humanName } from './viewer-words';

/** Most characters of a value shown in place; the whole value is in the title. */
export const DEFAULT_VALUE_CHARS = 300;
/** Why a value shows as redacted, for the tag's title. */
const REDACTED_TITLE = 'Hidden by the redaction rules: the value was never stored';

/** The tag shown in place of a redacted value. */
export const REDACTED_TAG: SafeHtml = markup`<span class="tag tag-redacted" title="${REDACTED_TITLE}">redacted</span>`;

function muted(text: string): SafeHtml {
  return markup`<span class="muted">${text}</span>`;
}

function bytes(count: number): string {
  if (count < 1024) return `${count} bytes`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KB`;
  return `${(count / (1024 * 1024)).toFixed(1)} MB`;
}

// A small object of plain values reads better as "Enabled: No, Phone: +1 555 0100" than as JSON.
const MAX_FLAT_KEYS = 8;

function isFlatRecord(value: unknown): value is Record<string, string | number | boolean | null> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.values(value);
  return (
    entries.length > 0 &&
    entries.length <= MAX_FLAT_KEYS &&
    entries.every((item) => item === null || isScalar(item))
  );
}

function capitalised(text: string): string {
  return text.length === 0 ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * A value as markup.
 *
 * - `'[REDACTED]'`: a "redacted" tag (never a blank, which would read as "emptied")
 * - `null` and `''`: "empty" / "empty text", in grey
 * - booleans: "Yes" / "No"; numbers as written
 * - size markers: "too large to keep (12.0 KB)", "binary data (300 bytes)"
 * - a list of plain values: joined with commas; a small object of plain values: "Key: value"
 *   pairs; other objects and lists: compact JSON
 *
 * Text longer than `max` characters is cut, with the whole text in a title.
 *
 * @param value - a JSON value from an event
 * @param max - most characters shown in place
 */
export function renderValue(value: unknown, max: number = DEFAULT_VALUE_CHARS): SafeHtml {
  if (value === REDACTED) return REDACTED_TAG;
  if (value === null) return muted('empty');
  if (value === undefined) return muted('not set');
  if (value === '') return muted('empty text');
  if (typeof value === 'boolean') return markup`${value ? 'Yes' : 'No'}`;
  if (typeof value === 'number') return markup`${String(value)}`;
  if (typeof value === 'string') return clippedSpan(value, max, 'text');
  if (isTruncatedMarker(value)) {
    return muted(
      value.entries === undefined
        ? `too large to keep (${bytes(value.bytes)})`
        : `${value.entries} entries too large to keep (${bytes(value.bytes)})`,
    );
  }
  if (isBinaryMarker(value)) return muted(`binary data (${bytes(value.bytes)})`);
  if (Array.isArray(value)) {
    if (value.length === 0) return muted('empty list');
    if (value.every(isScalar) && !value.includes(REDACTED)) {
      return clippedSpan(value.map(String).join(', '), max, 'text');
    }
  }
  if (isFlatRecord(value)) {
    const pairs = Object.entries(value).map(
      ([key, item], i) =>
        markup`${i > 0 ? ', ' : ''}${capitalised(humanName(key))}: ${renderValue(item, max)}`,
    );
    return markup`<span class="text">${pairs}</span>`;
  }
  // Events hold JSON only, so stringify always has an answer here.
  return clippedSpan(JSON.stringify(value) ?? '', max, 'json');
}
