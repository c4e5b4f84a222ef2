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
