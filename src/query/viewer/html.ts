/**
 * HTML building for the viewer page. Every value interpolated into a template is escaped unless it
 * is already {@link SafeHtml}, so event data (which holds user input and must be assumed hostile)
 * can only ever become text, never markup.
 */

/** Markup that is safe to insert as is: built by {@link markup} or from a trusted constant. */
export class SafeHtml {
  /** Use {@link markup} or {@link trustedHtml}; the constructor does not escape. */
  constructor(private readonly markup: string) {}

  /** The markup. */
  toString(): string {
    return this.markup;
  }
}

/**
 * What a template accepts: markup, text (escaped), numbers, and nothing (`null`, `undefined` and
 * `false` render as nothing, so `cond && markup\`…\`` works); arrays are concatenated.
 */
export type HtmlInput =
  SafeHtml | string | number | null | undefined | false | readonly HtmlInput[];

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

// C0 controls but tab and line feed, and DEL: a browser would drop them, show boxes or (for NUL)
// turn them into U+FFFD, so a reader could not tell what was really stored.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const C0_OR_DEL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
// C1 controls, bidirectional overrides and isolates, zero-width characters and BOM: invisible,
// and the bidi ones can reorder the text around them ("Trojan Source" spoofing).
const INVISIBLE = /[\u0080-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
// Half of a surrogate pair without the other half is not text; show the replacement character.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function codePoint(char: string): string {
  return (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Makes hidden characters visible: C0 controls become their Unicode "control picture" (`␀`, `␇`,
 * `␛`), invisible and direction-changing characters become `⟨U+202E⟩`, lone surrogates `�`.
 * Tabs and line feeds stay; a CR of a CRLF pair is dropped, a lone CR shows as `␍`.
 *
 * @param value - any text
 * @returns text that displays every character that is in it
 */
export function visibleText(value: string): string {
  return value
    .replace(/\r\n/g, '\n')
    .replace(C0_OR_DEL, (char) =>
      char === '\u007f' ? '\u2421' : String.fromCharCode(0x2400 + char.charCodeAt(0)),
    )
    .replace(INVISIBLE, (char) => `\u27e8U+${codePoint(char)}\u27e9`)
    .replace(LONE_SURROGATE, '\ufffd');
}

/**
 * Escapes text for use in element content and in quoted attribute values, after making hidden
 * characters visible (see {@link visibleText}).
 *
 * @param value - any text
 */
export function escapeHtml(value: string): string {
  return visibleText(value).replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

function render(value: HtmlInput): string {
  if (value instanceof SafeHtml) return value.toString();
  if (value === null || value === undefined || value === false) return '';
  if (typeof value === 'number') return escapeHtml(String(value));
  if (typeof value === 'string') return escapeHtml(value);
  let out = '';
  for (const item of value) out += render(item);
  return out;
}

/**
 * Tagged template building {@link SafeHtml}: the literal parts are markup, every interpolated
 * value is escaped (arrays and nested `markup` results are inserted as built). Attribute values
 * must be written in double quotes.
 *
 * @example markup`<td title="${name}">${name}</td>`
 */
export function markup(strings: TemplateStringsArray, ...values: readonly HtmlInput[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) {
    out += render(values[i]) + (strings[i + 1] ?? '');
  }
  return new SafeHtml(out);
}

/**
 * Marks a constant (the page's own CSS or script) as markup. Never pass data to it.
 *
 * @param markup - trusted markup written in this library
 */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A shortened text and the whole text, for a cell that shows the first part with a title. */
export interface ClippedText {
  /** At most the requested number of characters, with `…` when cut. */
  text: string;
  /** Whether it was cut. */
  clipped: boolean;
}

/**
 * The first `max` characters of a text (never splitting a surrogate pair), with `…` when cut.
 *
 * @param value - any text
 * @param max - the most characters to keep, at least 1
 */
export function clipText(value: string, max: number): ClippedText {
  if (value.length <= max) return { text: value, clipped: false };
  let end = Math.max(1, max - 1);
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return { text: `${value.slice(0, end)}\u2026`, clipped: true };
}

/** Most characters of a title attribute: browsers show long tooltips badly, if at all. */
export const MAX_TITLE_CHARS = 4000;

/**
 * A ` title="…"` attribute (with its leading space) holding up to {@link MAX_TITLE_CHARS}
 * characters of `text`, or nothing when `text` is undefined or empty.
 *
 * @param text - the tooltip text
 */
export function titleAttr(text: string | undefined): SafeHtml {
  if (text === undefined || text === '') return new SafeHtml('');
  return markup` title="${clipText(text, MAX_TITLE_CHARS).text}"`;
}

/**
 * A `<span>` showing at most `max` characters of `text`, with the whole text in its title when
 * it was cut.
 *
 * @param text - any text
 * @param max - most characters shown in place
 * @param className - class of the span
 */
export function clippedSpan(text: string, max: number, className: string): SafeHtml {
  const shown = clipText(text, max);
  const title = titleAttr(shown.clipped ? text : undefined);
  return markup`<span class="${className}"${title}>${shown.text}</span>`;
}
