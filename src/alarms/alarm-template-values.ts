/**
 * How event values read in an alarm: short, single-line text a person can scan in an e-mail
 * subject or a Slack line. Values arrive already redacted by the pipeline; `[REDACTED]` is a
 * string like any other and is shown as it is.
 */
import type { AuditFieldChange } from '../event/audit-event';
import { isDiffTruncationEntry } from '../event/diff';
import { isTruncatedMarker, sanitizeString } from '../event/serialize';
import type { AlarmChange } from '../stores/alarm-message';

/** What a template shows for a value the event does not have. */
export const MISSING_VALUE = '—';

/** Longest rendered value, in characters (an ellipsis ends a cut value). */
export const MAX_VALUE_CHARS = 200;

/** How many changed fields `{changes}` and `{changed}` list before "and N more". */
export const MAX_LISTED_CHANGES = 10;

/** Field name shown for a change of the whole value (a diff entry with an empty path). */
export const WHOLE_VALUE_FIELD = '(value)';

const ELLIPSIS = '\u2026';
// Characters that end a line in a text view: collapsed to one space, so a value stays on its line.
const LINE_BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
// Other C0/C1 controls, DEL, and the invisible direction marks that can make a value read
// differently from what it is ("trojan source"): removed.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const SUSPECT =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/;

/**
 * Cuts `text` to at most `maxChars` UTF-16 units, ending with `…` when it was cut, never
 * splitting a surrogate pair.
 *
 * @param text - any string
 * @param maxChars - budget, ellipsis included (at least 1)
 */
export function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let end = Math.max(0, maxChars - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end) + ELLIPSIS;
}

/**
 * One line of plain text: line breaks and tabs become one space, other control characters and
 * bidirectional overrides are removed, lone surrogates become U+FFFD.
 *
 * @param text - any string
 */
export function singleLine(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return sanitizeString(text.replace(LINE_BREAKS, ' ').replace(INVISIBLE, ''));
}

/**
 * A value as short single-line text: strings as they are, numbers and booleans as written,
 * `null` as `null`, arrays and objects as compact JSON; cleaned by {@link singleLine} and cut at
 * `maxChars`.
 *
 * @param value - a JSON-safe value from an event
 * @param maxChars - @default {@link MAX_VALUE_CHARS}
 * @returns {@link MISSING_VALUE} for `undefined`
 */
export function renderValue(value: unknown, maxChars: number = MAX_VALUE_CHARS): string {
  if (value === undefined) return MISSING_VALUE;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    text = String(value);
  } else if (value === null) text = 'null';
  else {
    try {
      text = JSON.stringify(value) ?? MISSING_VALUE;
    } catch {
      // Events are JSON-safe; this only guards against a hand-made one.
      text = '[unrenderable]';
    }
  }
  return cutText(singleLine(text), maxChars);
}

function fieldName(change: AuditFieldChange): string {
  return change.path.length === 0 ? WHOLE_VALUE_FIELD : renderValue(change.path.join('.'));
}

/** How many diff entries the size cap left out (0 when the diff is whole). */
export function omittedChangeCount(diff: readonly AuditFieldChange[]): number {
  let omitted = 0;
  for (const change of diff) {
    if (isDiffTruncationEntry(change) && isTruncatedMarker(change.after)) {
      omitted += change.after.entries ?? 0;
    }
  }
  return omitted;
}

/**
 * The changed fields of a diff as alarm changes (text values, redacted ones stay redacted). The
 * entry standing for a cut diff is left out.
 *
 * @param diff - `event.changes.diff`
 * @param max - most entries returned
 */
export function alarmChanges(diff: readonly AuditFieldChange[], max: number): AlarmChange[] {
  const out: AlarmChange[] = [];
  for (const change of diff) {
    if (out.length >= max) break;
    if (isDiffTruncationEntry(change)) continue;
    const item: AlarmChange = { field: fieldName(change), op: change.op };
    if (change.op !== 'added') item.before = renderValue(change.before);
    if (change.op !== 'removed') item.after = renderValue(change.after);
    out.push(item);
  }
  return out;
}

/**
 * One change as a phrase: `phone: +1 555 0100 → +1 555 0199`, `nickname: added Ada`,
 * `fax: removed (was 0100)`.
 */
export function describeChange(change: AlarmChange): string {
  if (change.op === 'added') return `${change.field}: added ${change.after ?? MISSING_VALUE}`;
  if (change.op === 'removed') {
    return `${change.field}: removed (was ${change.before ?? MISSING_VALUE})`;
  }
  return `${change.field}: ${change.before ?? MISSING_VALUE} → ${change.after ?? MISSING_VALUE}`;
}

function withMore(items: readonly string[], more: number, separator: string): string {
  if (more <= 0) return items.join(separator);
  return `${items.join(separator)}${separator}and ${more} more`;
}

/**
 * The `{changes}` text: `phone: +1 555 0100 → +1 555 0199; mfa.enabled: false → true`, at most
 * `max` fields, then `and N more` (fields left out by the event size cap included).
 *
 * @returns `undefined` when nothing changed
 */
export function renderChanges(
  diff: readonly AuditFieldChange[],
  max: number = MAX_LISTED_CHANGES,
): string | undefined {
  const omitted = omittedChangeCount(diff);
  const real = diff.length - countMarkers(diff);
  if (real === 0 && omitted === 0) return undefined;
  const listed = alarmChanges(diff, max).map(describeChange);
  return withMore(listed, real - listed.length + omitted, '; ');
}

function countMarkers(diff: readonly AuditFieldChange[]): number {
  let markers = 0;
  for (const change of diff) if (isDiffTruncationEntry(change)) markers += 1;
  return markers;
}

/**
 * The `{changed}` text: changed field names, comma separated, at most `max`, then `and N more`.
 *
 * @param fields - dotted paths (`event.changes.fields`)
 * @param omitted - fields the event size cap left out
 * @returns `undefined` when nothing changed
 */
export function renderChangedFields(
  fields: readonly string[],
  omitted: number,
  max: number = MAX_LISTED_CHANGES,
): string | undefined {
  if (fields.length === 0 && omitted === 0) return undefined;
  const listed = fields
    .slice(0, max)
    .map((field) => (field === '' ? WHOLE_VALUE_FIELD : renderValue(field)));
  return withMore(listed, fields.length - listed.length + omitted, ', ');
}

/**
 * A duration in words, with the largest unit that divides it: `1 minute`, `90 seconds`,
 * `2 hours`, `1500 milliseconds`.
 *
 * @param ms - positive whole milliseconds
 */
export function describeDuration(ms: number): string {
  const units: readonly [number, string][] = [
    [604_800_000, 'week'],
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${ms} millisecond${ms === 1 ? '' : 's'}`;
}

/**
 * An ISO-8601 time as people read it in a message: `2026-11-22 10:02:13 UTC`.
 *
 * @param iso - an ISO-8601 instant
 * @returns the input, cleaned, when it is not a valid date
 */
export function describeTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return renderValue(iso);
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
