/**
 * Wording shared by the e-mail, Slack and webhook notifiers, so an alarm reads the same in every
 * channel. The readers are finance, support and compliance people: plain words, UTC times with
 * the zone spelled out, secrets shown as "[redacted]".
 */
import { escapeControlCharacters } from '../../common/control-characters';
import { REDACTED } from '../../event/redact';
import type {
  AlarmChange,
  AlarmEventSummary,
  AlarmMessage,
  AlarmSeverity,
} from '../../stores/alarm-message';

/** How a value removed by redaction is shown to people. */
export const REDACTED_LABEL = '[redacted]';

/** Longest value shown in a change line; alarm values are meant to be short. */
const MAX_VALUE_CHARS = 300;
const ELLIPSIS = '…';

/**
 * Cuts `text` to at most `max` characters, ending with an ellipsis when something was cut.
 * Never splits a surrogate pair (an emoji stays whole or goes).
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end) + ELLIPSIS;
}

/** `text` with every redaction marker replaced by {@link REDACTED_LABEL}. */
export function showRedactions(text: string): string {
  return text.split(REDACTED).join(REDACTED_LABEL);
}

/**
 * `text` kept on one line: line breaks become a space and other control characters (NEL,
 * U+2028, bidi overrides...) are written as `\uXXXX`, so a user-supplied name or id cannot start
 * a line of its own in a plain-text e-mail or forge a header-looking line.
 */
export function singleLineText(text: string): string {
  return escapeControlCharacters(text.replace(/\s*[\r\n]+\s*/g, ' '));
}

/** A value of a change line as people read it. */
export function showValue(value: string | undefined): string {
  if (value === undefined) return '(none)';
  if (value === '') return '(empty)';
  // Line breaks inside a value would break the one-line-per-change layout.
  return truncate(singleLineText(showRedactions(value)), MAX_VALUE_CHARS);
}

function words(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
}

/**
 * A dotted field path as a label: `phone` → `Phone`, `mfa.phoneNumber` → `Mfa › phone number`,
 * `items.0.price` → `Items #1 › price`.
 */
export function fieldLabel(path: string): string {
  const parts: string[] = [];
  for (const segment of path.split('.')) {
    if (segment === '') continue;
    if (/^\d+$/.test(segment) && parts.length > 0) {
      parts[parts.length - 1] += ` #${Number(segment) + 1}`;
      continue;
    }
    parts.push(words(segment) || segment);
  }
  const label = parts.join(' › ') || path;
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/**
 * One change as a line: `Phone: +1 555 0100 → +1 555 0199`, `Phone: added, now +1 555 0199`,
 * `Phone: removed (was +1 555 0100)`.
 */
export function describeChange(change: AlarmChange): string {
  const label = fieldLabel(change.field);
  switch (change.op) {
    case 'added':
      return `${label}: added, now ${showValue(change.after)}`;
    case 'removed':
      return `${label}: removed (was ${showValue(change.before)})`;
    default:
      return `${label}: ${showValue(change.before)} → ${showValue(change.after)}`;
  }
}

/** Who did it: `Ada Lovelace <ada@acme.test> (id 42)`, `Service billing-worker`, `Anonymous`. */
export function describeActor(actor: AlarmEventSummary['actor']): string {
  const name = actor.name?.trim();
  const email = actor.email?.trim();
  const id = actor.id?.trim();
  let label: string;
  if (name && email && name !== email) label = `${name} <${email}>`;
  else label = name || email || '';
  if (actor.type === 'service') label = label ? `Service ${label}` : 'A service';
  if (actor.type === 'anonymous' && !label && !id) return 'Anonymous';
  if (!label) return id ? `${actor.type === 'service' ? 'Service' : 'User'} ${id}` : 'Unknown';
  return id && id !== name && id !== email ? `${label} (id ${id})` : label;
}

/** What it was done to: `user 42`. */
export function describeTarget(target: AlarmEventSummary['target']): string | undefined {
  if (!target) return undefined;
  return target.id ? `${target.type} ${target.id}` : target.type;
}

/** What happened: `user.update on user 42`, with `(failed)` when the action did not succeed. */
export function describeAction(event: AlarmEventSummary): string {
  const target = describeTarget(event.target);
  const base = target ? `${event.action} on ${target}` : event.action;
  if (event.outcome === 'failure') return `${base} (failed)`;
  if (event.outcome === 'unknown') return `${base} (outcome unknown)`;
  return base;
}

function utcParts(iso: string): { date: string; time: string; seconds: string } | undefined {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return undefined;
  const text = date.toISOString();
  return { date: text.slice(0, 10), time: text.slice(11, 16), seconds: text.slice(16, 19) };
}

/** A point in time as people read it: `2026-03-14 10:02:05 UTC` (the input when unreadable). */
export function formatUtc(iso: string): string {
  const parts = utcParts(iso);
  return parts ? `${parts.date} ${parts.time}${parts.seconds} UTC` : iso;
}

/**
 * A time span: `between 10:02 and 10:11 UTC` on one day, with dates when it spans several
 * (`between 2026-03-14 23:58 and 2026-03-15 00:03 UTC`).
 */
export function formatUtcSpan(firstIso: string, lastIso: string): string {
  const first = utcParts(firstIso);
  const last = utcParts(lastIso);
  if (!first || !last) return `between ${firstIso} and ${lastIso}`;
  if (first.date === last.date) return `between ${first.time} and ${last.time} UTC`;
  return `between ${first.date} ${first.time} and ${last.date} ${last.time} UTC`;
}

/** Severity in capitals, as shown in subjects and badges. */
export function severityLabel(severity: AlarmSeverity): string {
  return severity.toUpperCase();
}

/** `[HIGH] ` or `[CRITICAL] ` for the urgent severities, nothing for the others. */
export function severityPrefix(severity: AlarmSeverity): string {
  return severity === 'high' || severity === 'critical' ? `[${severityLabel(severity)}] ` : '';
}

function plural(count: number): string {
  return count === 1 ? '1 event' : `${count} events`;
}

/** Whether a message stands for several events (a digest, a threshold) rather than one. */
export function isMultiEvent(message: AlarmMessage): boolean {
  return message.count > 1 || message.kind === 'digest' || message.kind === 'threshold';
}

/** `37 events, first 10 listed` (or `3 events`) for several events; undefined for one. */
export function countSummary(message: AlarmMessage): string | undefined {
  if (!isMultiEvent(message)) return undefined;
  const listed = message.events.length;
  if (listed === 0 || listed >= message.count) return plural(message.count);
  return `${plural(message.count)}, first ${listed} listed`;
}

/**
 * The line above the list of a digest: `37 events between 10:02 and 10:11 UTC; the first 10:`.
 * Undefined for a single event.
 */
export function digestHeader(message: AlarmMessage): string | undefined {
  if (!isMultiEvent(message)) return undefined;
  const span =
    message.firstAt === message.lastAt
      ? `at ${formatUtc(message.firstAt)}`
      : formatUtcSpan(message.firstAt, message.lastAt);
  const head = `${plural(message.count)} ${span}`;
  const listed = message.events.length;
  if (listed === 0) return `${head}.`;
  if (listed >= message.count) return `${head}:`;
  return `${head}; the first ${listed}:`;
}

/** One listed event, already worded; every field is plain text (escape it for the channel). */
export interface AlarmEventLines {
  /** `2026-03-14 10:02:05 UTC`. */
  when: string;
  /** Who did it, and from where when known. */
  who: string;
  /** What happened to what. */
  what: string;
  /** One line per changed field. */
  changes: string[];
  /** The rule's text for this event, when it says more than the message text. */
  text?: string;
  /** Link to the event in the viewer. */
  url?: string;
}

/** The listed events of a message, worded for people. */
export function eventLines(message: AlarmMessage): AlarmEventLines[] {
  const messageText = message.text.trim();
  return message.events.map((event) => {
    const from = event.sourceIp ? `, from ${event.sourceIp}` : '';
    const lines: AlarmEventLines = {
      when: formatUtc(event.timestamp),
      who: singleLineText(`${describeActor(event.actor)}${from}`),
      what: singleLineText(describeAction(event)),
      changes: event.changes.map((change) => singleLineText(describeChange(change))),
    };
    const text = showRedactions(event.text.trim());
    // A single-event alarm usually has the same text twice; say it once.
    if (text && text !== showRedactions(messageText)) lines.text = text;
    if (event.url) lines.url = event.url;
    return lines;
  });
}

/** The facts line at the foot of a message: `Severity: high · Rule: x · Service: billing`. */
export function footerFacts(message: AlarmMessage): string[] {
  const facts = [`Severity: ${message.severity}`, `Rule: ${message.rule}`];
  if (message.groupKey !== undefined) facts.push(`Group: ${message.groupKey}`);
  facts.push(`Service: ${message.service}`);
  return facts;
}

/** Whether `url` is an absolute http(s) URL, the only kind a message links to. */
export function isHttpUrl(url: string | undefined): url is string {
  if (url === undefined) return false;
  try {
    const protocol = new URL(url).protocol;
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
