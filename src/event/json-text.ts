/**
 * The text primitives every part of the event builder shares: strings made storable, cut to a
 * byte budget, and properties set without touching prototypes. Nothing here walks a value.
 */
import { types } from 'node:util';

/** Key that identifies a marker object inserted by this library in place of a value. */
export const AUDIT_MARKER_KEY = '$audit';

/** Prefix of the string that replaces a value whose `toJSON` or getter threw. */
export const UNSERIALIZABLE_PREFIX = '[Unserializable: ';

// Lone surrogates cannot be encoded in UTF-8; PostgreSQL rejects them (and NUL) in text columns.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SUSPECT = /[\0\uD800-\uDFFF]/;
const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';
const ELLIPSIS = '\u2026';
const ELLIPSIS_BYTES = 3;
const MAX_THROWN_MESSAGE_CHARS = 200;

/**
 * Replaces lone UTF-16 surrogates and NUL with U+FFFD so the string can be stored as UTF-8 text
 * (PostgreSQL refuses both). Every other character, control characters included, is kept.
 *
 * @param value - any string
 * @returns the same string when nothing had to change
 */
export function sanitizeString(value: string): string {
  // One scan for the rare case; nearly every string has neither NUL nor any surrogate.
  if (!SUSPECT.test(value)) return value;
  const withoutNul = value.includes(NUL) ? value.replaceAll(NUL, REPLACEMENT) : value;
  return withoutNul.replace(LONE_SURROGATE, REPLACEMENT);
}

/**
 * Shortens a string to at most `maxBytes` UTF-8 bytes, cutting on a character boundary and
 * ending with `…` when it was cut.
 *
 * @param value - a string (sanitise it first if it may contain lone surrogates)
 * @param maxBytes - UTF-8 byte budget, ellipsis included
 */
export function capString(value: string, maxBytes: number): string {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit, so short strings skip the byte count.
  if (value.length * 3 <= maxBytes) return value;
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  const budget = maxBytes - ELLIPSIS_BYTES;
  if (budget <= 0) return maxBytes >= ELLIPSIS_BYTES ? ELLIPSIS : '';
  let end = Math.min(value.length, budget);
  const last = value.charCodeAt(end - 1);
  // Keep a surrogate pair whole so the cut below lands on a real character boundary.
  if (last >= 0xd800 && last <= 0xdbff && end < value.length) end += 1;
  const encoded = Buffer.from(value.slice(0, end), 'utf8');
  let cut = Math.min(budget, encoded.length);
  while (cut > 0 && ((encoded[cut] ?? 0) & 0xc0) === 0x80) cut -= 1;
  return encoded.subarray(0, cut).toString('utf8') + ELLIPSIS;
}

/**
 * The string that replaces a value whose `toJSON`, getter or proxy trap threw.
 *
 * @param thrown - whatever was thrown
 * @returns `[Unserializable: <ErrorName>: <message>]`
 */
export function unserializableMarker(thrown: unknown): string {
  let description: string;
  try {
    if (thrown instanceof Error || types.isNativeError(thrown)) {
      const error = thrown;
      const name = typeof error.name === 'string' && error.name !== '' ? error.name : 'Error';
      description = `${name}: ${String(error.message)}`;
    } else {
      description = `${typeof thrown}: ${String(thrown)}`;
    }
  } catch {
    description = 'Error: (the thrown value could not be described)';
  }
  // The message can echo the data that failed; keep it short.
  if (description.length > MAX_THROWN_MESSAGE_CHARS) {
    description = `${description.slice(0, MAX_THROWN_MESSAGE_CHARS)}${ELLIPSIS}`;
  }
  return `${UNSERIALIZABLE_PREFIX}${sanitizeString(description)}]`;
}

/**
 * Sets `target[key] = value` as an own data property. `__proto__` is defined rather than
 * assigned: assignment would replace the object's prototype instead of storing the data.
 *
 * @param target - a plain object being built
 * @param key - any key, including `__proto__`
 * @param value - the value to store
 */
export function setJsonProperty(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * A key as the copy records it: cleaned, with any secret found by shape replaced, and numbered
 * (`[REDACTED]#2`) when two keys become the same, so no entry overwrites another.
 */
export function shownKey(
  rawKey: string,
  scrub: ((text: string) => string) | undefined,
  out: Record<string, unknown>,
): string {
  const clean = sanitizeString(rawKey);
  if (scrub === undefined) return clean;
  const key = scrub(clean);
  if (key === clean || !Object.hasOwn(out, key)) return key;
  let n = 2;
  while (Object.hasOwn(out, `${key}#${n}`)) n += 1;
  return `${key}#${n}`;
}
