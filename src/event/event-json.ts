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
  /** Every character of `whole` (so of every fragment) is ASCII. */
  ascii?: boolean;
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

/** The JSON of an event's large values, by key (absent: the event has no such value). */
export type LargeValueJson = Partial<Record<LargeEventKey, string>>;

/**
 * The text {@link eventJson} makes, from the given JSON of the event's large values, without
 * keeping it: what the event's builder measures before it knows the event is final.
 *
 * @param fragments - `JSON.stringify(event[key])` for each large value the event has
 */
export function composeEventJson(event: AuditEvent, fragments: LargeValueJson): string {
  const { changes: _c, body: _b, filter: _f, results: _r, sequence: _s, ...small } = event;
  let tail = '';
  for (const key of LARGE_EVENT_KEYS) {
    const fragment = event[key] === undefined ? undefined : fragments[key];
    if (fragment !== undefined) tail += MEMBER_PREFIXES[key] + fragment;
  }
  return withTail(JSON.stringify(small), tail);
}

/**
 * Gives the event the texts its builder made (the same as {@link eventJson} and
 * `JSON.stringify(event[key])` would make), so that its writers do not make them again. The
 * event must not change afterwards.
 *
 * @param fragments - the JSON of each large value the event has
 * @param whole - {@link composeEventJson} of the final event, when it was made
 * @param wholeBytes - the UTF-8 size of `whole` (equal to its length when it is all ASCII)
 */
export function keepEventJson(
  event: AuditEvent,
  fragments: LargeValueJson,
  whole?: string,
  wholeBytes?: number,
): void {
  const texts = textsOf(event);
  for (const key of LARGE_EVENT_KEYS) {
    const fragment = fragments[key];
    if (event[key] !== undefined && fragment !== undefined) texts.fragments[key] = fragment;
  }
  if (whole !== undefined) {
    texts.whole = whole;
    // UTF-8 takes one byte per UTF-16 unit only for ASCII: anything else takes two or more.
    texts.ascii = wholeBytes === whole.length;
  }
}

/**
 * Whether the JSON of every large value of the event is known to be ASCII only (so it holds no
 * line separator a writer would have to escape). `false` when unknown.
 */
export function largeValuesAreAscii(event: AuditEvent): boolean {
  return texts.get(event)?.ascii === true;
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
  const fragments: LargeValueJson = {};
  for (const key of LARGE_EVENT_KEYS) fragments[key] = eventFragmentJson(event, key);
  entry.whole = composeEventJson(event, fragments);
  return entry.whole;
}
