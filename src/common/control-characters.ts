/*
 * C0 and C1 control characters, the Unicode line and paragraph separators (which
 * Unicode-aware line splitters break lines at), and the bidirectional overrides and isolates that make text
 * display in another order than it is stored ("Trojan Source"). Audit data comes from users: a
 * user agent or a name must not move a terminal's cursor, recolour it, reorder a line, or smuggle
 * an escape sequence into a file someone opens later.
 */
/* eslint-disable no-control-regex -- matching control characters is the point */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, less tab, line feed and carriage return. */
const UNSAFE_KEEPING_LINES =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

const HAS_LINE_SEPARATOR = /[\u0085\u2028\u2029]/;
const LINE_SEPARATORS = /[\u0085\u2028\u2029]/g;

/** One character as a `\uXXXX` escape (a JSON and JavaScript escape, and readable text). */
export function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Writes control and bidirectional-override characters as `\uXXXX` text.
 * @param keepLines - leave tab, line feed and carriage return as they are (for a format that
 *   quotes them, like CSV)
 */
export function escapeControlCharacters(text: string, keepLines = false): string {
  return text.replace(keepLines ? UNSAFE_KEEPING_LINES : UNSAFE, unicodeEscape);
}

/**
 * NEL (U+0085), U+2028 and U+2029 as JSON escapes: JSON allows them raw, and a line splitter that follows
 * Unicode (some log shippers and viewers do) would break the line there, letting a user's text
 * start a line of its own. Escaped, a JSON line parses to the same document.
 */
export function escapeLineSeparators(text: string): string {
  if (!HAS_LINE_SEPARATOR.test(text)) return text;
  return text.replace(LINE_SEPARATORS, unicodeEscape);
}
