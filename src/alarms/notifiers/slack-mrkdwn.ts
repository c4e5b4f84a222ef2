/**
 * Slack mrkdwn for alarm text. Two kinds of text reach Slack: values from events (user data,
 * made inert) and the rule author's own template text (trusted configuration, whose markup is
 * kept). Kept apart here so the template renderer and the Slack notifier escape alike.
 */
import { truncate } from './alarm-text';

/**
 * `text` with Slack's control characters escaped, so user data cannot open a link, a mention
 * (`<!channel>`) or a user reference.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Look-alikes of mrkdwn's markup characters, which Slack has no escape for. */
const MARKUP_LOOKALIKE: Readonly<Record<string, string>> = {
  '*': '\u2217', // ∗ asterisk operator
  _: '\u02cd', // ˍ modifier letter low macron
  '~': '\u223c', // ∼ tilde operator
  '`': '\u02cb', // ˋ modifier letter grave accent
};

/** `scheme://host` of a URL, and a `www.` host, in user text (bounded, no backtracking). */
const URL_START =
  /\b([a-z][a-z0-9+.-]{0,31}):\/\/([^\s/?#<>|]{0,253})|\bwww\.([^\s/?#<>|]{0,253})/gi;

function defangHost(host: string): string {
  return host.replace(/\./g, '[.]');
}

/**
 * User-supplied `text` made inert in mrkdwn: escaped like {@link escapeMrkdwn}; `*`, `_`, `~` and
 * `` ` `` replaced by look-alikes (∗ ˍ ∼ ˋ) so a value cannot make text bold, italic, struck or
 * code; and links defanged (`https://evil.test/x` → `hxxps[://]evil[.]test/x`, `www.evil.test`
 * → `www[.]evil[.]test`) so Slack does not turn them into clickable links in an official-looking
 * alarm.
 */
export function neutralizeMrkdwn(text: string): string {
  const defanged = text
    .replace(/[*_~`]/g, (char) => MARKUP_LOOKALIKE[char] ?? char)
    .replace(URL_START, (_match, scheme?: string, host?: string, wwwHost?: string) =>
      scheme === undefined
        ? `www[.]${defangHost(wwwHost ?? '')}`
        : `${scheme.replace(/^http/i, 'hxxp')}[://]${defangHost(host ?? '')}`,
    );
  return escapeMrkdwn(defanged);
}

/**
 * Slack's angle-bracket forms an author may write: `<https://…>`, `<https://…|label>`,
 * `<mailto:…|label>`, `<!here>`, `<@U123>`, `<#C123>`, on one line.
 */
const SLACK_ANGLE = /<(?:https?:\/\/|mailto:|[!@#])[^\s<>|]+(?:\|[^<>\n]*)?>/gi;
/** An `&` that does not start one of the three entities Slack decodes. */
const LONE_AMPERSAND = /&(?!(?:amp|lt|gt);)/g;

function escapeAuthorText(text: string): string {
  return text.replace(LONE_AMPERSAND, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * A rule author's own template text as mrkdwn: trusted configuration, so `*bold*`, `_italic_`,
 * `~struck~`, `` `code` ``, links (`<https://runbook.example/x|runbook>`) and mentions stay as
 * written. Only what would garble the message is escaped: an `&` that is not already `&amp;`,
 * `&lt;` or `&gt;` (also inside a link's URL), and a `<` or `>` outside those forms (`a < b`).
 */
export function authorMrkdwn(text: string): string {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(SLACK_ANGLE)) {
    out += escapeAuthorText(text.slice(last, match.index));
    out += match[0].replace(LONE_AMPERSAND, '&amp;');
    last = match.index + match[0].length;
  }
  return out + escapeAuthorText(text.slice(last));
}

/** One piece of rendered alarm text and who wrote it. */
export interface AlarmTextPiece {
  /** The text, as plain text. */
  readonly text: string;
  /** `true` for a value from an event (user data), `false` for the rule's own template text. */
  readonly user: boolean;
}

/**
 * Marks the characters Slack must treat as user data: the values, and every `scheme://host` or
 * `www.host` a value takes part in, so template text cannot complete a link with a value
 * (`https://{labels.host}`).
 */
function userMask(pieces: readonly AlarmTextPiece[], plain: string): Uint8Array {
  const mask = new Uint8Array(plain.length);
  let at = 0;
  for (const piece of pieces) {
    if (piece.user) mask.fill(1, at, at + piece.text.length);
    at += piece.text.length;
  }
  for (const match of plain.matchAll(URL_START)) {
    const end = match.index + match[0].length;
    if (mask.subarray(match.index, end).includes(1)) mask.fill(1, match.index, end);
  }
  return mask;
}

/**
 * Rendered alarm text as Slack mrkdwn: the author's template text through
 * {@link authorMrkdwn} (markup kept), the values through {@link neutralizeMrkdwn} (markup shown
 * as look-alikes, links defanged). Adjacent values are neutralized together, so two values
 * cannot join into a link.
 *
 * @param pieces - the template's literal text and values, in order
 * @example toSlackMrkdwn([{ text: '*Changed* by ', user: false }, { text: '*Eve*', user: true }]) // '*Changed* by ∗Eve∗'
 */
export function toSlackMrkdwn(pieces: readonly AlarmTextPiece[]): string {
  const plain = pieces.map((piece) => piece.text).join('');
  const mask = userMask(pieces, plain);
  let out = '';
  let start = 0;
  for (let i = 1; i <= plain.length; i += 1) {
    if (i < plain.length && mask[i] === mask[start]) continue;
    const run = plain.slice(start, i);
    out += mask[start] === 1 ? neutralizeMrkdwn(run) : authorMrkdwn(run);
    start = i;
  }
  return out;
}

/**
 * Mrkdwn cut to `max` characters at a safe point: never inside an `&amp;`-style entity or an
 * angle-bracket link or mention (what was cut of it goes), ending with `…` when cut.
 */
export function truncateMrkdwn(mrkdwn: string, max: number): string {
  const cut = truncate(mrkdwn, max);
  if (cut === mrkdwn || cut === '') return cut;
  let body = cut.slice(0, -1);
  const open = body.lastIndexOf('<');
  if (open >= 0 && !body.includes('>', open)) body = body.slice(0, open);
  const partial = /&[a-z]{0,4}$/.exec(body);
  if (partial) body = body.slice(0, partial.index);
  return `${body}…`;
}
