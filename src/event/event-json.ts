import type { AuditEvent } from './audit-event';

/**
 * The JSON text of each event, made once and shared by everything that writes it: the store's
 * payload and the ECS line. The large parts of an event (its states and diff, a captured body,
 * a read's filter and results) are stringified once each, as fragments that both texts splice
 * in; `JSON.stringify` of a 1.3 KB state costs several µs, and each event used to pay it once
 * per output. Keyed by the event object, so the texts go with the event; an event must not be
 * changed once its JSON was taken.
 */

/** The top-level event keys whose values are large and appear in the ECS line as they are. */
export const LARGE_EVENT_KEYS = ['changes', 'body', 'filter', 'results'] as const;

/** One of {@link LARGE_EVENT_KEYS}. */
export type LargeEventKey = (typeof LARGE_EVENT_KEYS)[number];

/** `,"key":` of each large key, made once rather than per event. */
const MEMBER_PREFIXES = Object.fromEntries(
  LARGE_EVENT_KEYS.map((key) => [key, `,${JSON.stringify(key)}:`]),
) as Record<LargeEventKey, string>;

interface EventTexts {
  whole?: string;
  fragments: Partial<Record<LargeEventKey, string>>;
}

const texts = new WeakMap<AuditEvent, EventTexts>();

function textsOf(event: AuditEvent): EventTexts {
  let entry = texts.get(event);
  if (entry === undefined) {
    entry = { fragments: {} };
    texts.set(event, entry);
  }
  return entry;
}

/**
 * `JSON.stringify(event[key])`, computed at most once per event, or `undefined` when the event
 * has no such value.
 */
export function eventFragmentJson(event: AuditEvent, key: LargeEventKey): string | undefined {
  const value: unknown = event[key];
  if (value === undefined) return undefined;
  const { fragments } = textsOf(event);
  return (fragments[key] ??= JSON.stringify(value));
}

/**
 * Gives the event the JSON of its large values, made by whoever built it (the same text as
 * `JSON.stringify(event[key])`), so that the first writer does not make it again.
 *
 * @param json - the JSON of `event[key]` for each large key; `undefined` for an absent value
 */
export function shareFragmentJson(
  event: AuditEvent,
  json: (key: LargeEventKey) => string | undefined,
): void {
  const { fragments } = textsOf(event);
  for (const key of LARGE_EVENT_KEYS) {
    if (event[key] === undefined) continue;
    const text = json(key);
    if (text !== undefined) fragments[key] = text;
  }
}

/**
 * `,"key":<fragment>` for each large value `present` says the text holds, in the order of
 * {@link LARGE_EVENT_KEYS}: the tail a writer appends before the closing brace of an object
 * whose large values it left out.
 */
export function largeValuesTail(
  event: AuditEvent,
  present: (key: LargeEventKey) => boolean,
): string {
  let tail = '';
  for (const key of LARGE_EVENT_KEYS) {
    if (!present(key)) continue;
    const fragment = eventFragmentJson(event, key);
    if (fragment !== undefined) tail += MEMBER_PREFIXES[key] + fragment;
  }
  return tail;
}

/** `objectJson` (a JSON object's text) with `tail` (`,"key":value...`) added as its last members. */
export function withTail(objectJson: string, tail: string): string {
  if (tail === '') return objectJson;
  return objectJson === '{}' ? `{${tail.slice(1)}}` : `${objectJson.slice(0, -1)}${tail}}`;
}

/**
 * The event as a store keeps it (what `JSON.parse` turns back into an equal event, less its
 * `sequence`), made at most once per event object; the large values come last, from their
 * shared fragments. `sequence` is left out: a store assigns it when it chains the event and adds
 * it to what it reads back, so an event read from one store and appended to another never
 * carries the first store's number into the second one's payload and hash.
 */
export function eventJson(event: AuditEvent): string {
  const entry = textsOf(event);
  if (entry.whole !== undefined) return entry.whole;
  const { changes: _c, body: _b, filter: _f, results: _r, sequence: _s, ...small } = event;
  entry.whole = withTail(
    JSON.stringify(small),
    largeValuesTail(event, (key) => event[key] !== undefined),
  );
  return entry.whole;
}
