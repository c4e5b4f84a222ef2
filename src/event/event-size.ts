/**
 * The size caps of an event: each payload and diff value within `maxValueBytes`, the whole event
 * within `maxEventBytes`, and a record of every cut so a reader knows what is missing. The list
 * of changed fields is the last thing cut, and only when the names alone do not fit.
 */
import type { AuditChanges, AuditEvent, AuditFieldChange, AuditTruncation } from './audit-event';
import { diffTruncationEntry } from './diff';
import {
  composeEventJson,
  keepEventJson,
  LARGE_EVENT_KEYS,
  type LargeValueJson,
} from './event-json';
import { PlacedJson } from './placed-json';
import { truncatedMarker } from './serialize';

type JsonRecord = Record<string, unknown>;

/** Where a payload sits in the event, in the order {@link AuditTruncation.payloads} lists them. */
export const PAYLOAD_LOCATIONS = [
  'changes.before',
  'changes.after',
  'body',
  'response.body',
  'filter',
  'results',
] as const;
/** One of {@link PAYLOAD_LOCATIONS}. */
export type PayloadLocation = (typeof PAYLOAD_LOCATIONS)[number];

// The largest the entry that marks a cut diff can be, so the cut is sized before it is made.
const DIFF_TRUNCATION_ENTRY_MAX_BYTES = jsonBytes({
  path: ['$audit'],
  op: 'changed',
  after: {
    $audit: 'truncated',
    bytes: Number.MAX_SAFE_INTEGER,
    sha256: 'f'.repeat(64),
    entries: Number.MAX_SAFE_INTEGER,
  },
});
// The most the summary and flags of an event-size cut can add, reserved before cutting.
const CUT_RECORD_MAX_BYTES =
  jsonBytes({
    truncated: {
      payloads: PAYLOAD_LOCATIONS,
      diffValues: Number.MAX_SAFE_INTEGER,
      diffEntries: Number.MAX_SAFE_INTEGER,
      fields: Number.MAX_SAFE_INTEGER,
      budgetExhausted: true,
    },
    diffTruncated: true,
    fieldsTruncated: true,
  }) + 2;

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

// Printable ASCII other than `"` and `\`: JSON writes it as it is, one byte per character.
const PLAIN_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** UTF-8 size of a string's JSON, without making the JSON in the common case. */
function stringJsonBytes(text: string): number {
  return PLAIN_TEXT.test(text) ? text.length + 2 : jsonBytes(text);
}

/** UTF-8 size of a diff entry's JSON whose values are placed in `slots`. */
function entryBytes(entry: AuditFieldChange, slots: readonly PayloadSlot[] | undefined): number {
  // {"path":[...],"op":"..."} plus ,"before":<value> and ,"after":<value>
  let bytes = 17 + entry.op.length + 1 + entry.path.length;
  for (const key of entry.path) bytes += stringJsonBytes(key);
  for (const slot of slots ?? []) bytes += slot.key.length + 4 + slot.bytes;
  return bytes;
}

/** The JSON of a slot's value: of the original value as long as the slot is unmarked. */
function originalJson(slot: PayloadSlot): string {
  slot.json ??= JSON.stringify(slot.value);
  return slot.json;
}

/** A value placed in the event, with its JSON measured once. */
interface PayloadSlot {
  readonly holder: JsonRecord;
  readonly key: string;
  /** What the event holds: the value, or a marker that replaced it. */
  value: unknown;
  /**
   * JSON of {@link PayloadSlot.value} (while unmarked, of the original value); made when first
   * needed, as a short string's size is known without it.
   */
  json: string | undefined;
  bytes: number;
  marked: boolean;
  /** The payload's place, or `undefined` for a diff value. */
  readonly location: PayloadLocation | undefined;
}

/**
 * Places payload and diff values in an event under construction, replacing each one larger than
 * `maxValueBytes` (or read only in part) by a truncated marker of its own JSON, then fits the
 * event in `maxEventBytes` ({@link PayloadPlacer.fit}).
 */
export class PayloadPlacer {
  private readonly slots: PayloadSlot[] = [];
  private readonly payloads = new Set<PayloadLocation>();
  private diffValues = 0;
  private diffEntries = 0;
  private fields = 0;

  /**
   * @param maxValueBytes - largest JSON size of one value kept as it is
   * @param budgetExhausted - whether the work budget ran out while the values were read
   */
  constructor(
    private readonly maxValueBytes: number,
    private readonly budgetExhausted: boolean,
  ) {}

  /**
   * Puts `value` at `holder[key]` (a `null` stands in until {@link PayloadPlacer.fit}).
   *
   * @param holder - the object being built
   * @param key - its key
   * @param value - a JSON-safe, redacted value; `undefined` places nothing
   * @param partial - the value was read only in part: it always becomes a marker
   * @param location - the payload's place; leave out for a diff value
   */
  place(
    holder: JsonRecord,
    key: string,
    value: unknown,
    partial: boolean,
    location?: PayloadLocation,
  ): void {
    if (value === undefined) return;
    let json: string | undefined;
    let bytes: number;
    if (typeof value === 'string') {
      bytes = stringJsonBytes(value);
    } else {
      json = JSON.stringify(value);
      if (json === undefined) return;
      bytes = Buffer.byteLength(json, 'utf8');
    }
    holder[key] = null;
    const slot: PayloadSlot = { holder, key, value, json, bytes, marked: false, location };
    this.slots.push(slot);
    if (partial || bytes > this.maxValueBytes) this.mark(slot, partial);
  }

  /** Whether a diff value or entry was cut so far. */
  get diffCut(): boolean {
    return this.diffValues > 0 || this.diffEntries > 0;
  }

  /**
   * Puts the placed values in and cuts until the event fits `maxEventBytes`: first the largest
   * values (payloads or diff values) become markers, then diff entries are left out from the
   * end (the last entry stands for them, with the size and digest of the original entries),
   * then, only if the names alone do not fit, field paths from the end. Records every cut in
   * `event.truncated` and the `changes` flags, and gives the event the JSON its writers use
   * (see `keepEventJson`): the event must not change afterwards.
   *
   * @param event - the event, with every other field set
   * @param original - the complete redacted diff with whole values (the change set's), which
   *   the event's diff mirrors entry by entry
   * @param maxEventBytes - largest JSON size of the event
   */
  fit(event: AuditEvent, original: readonly AuditFieldChange[], maxEventBytes: number): void {
    this.record(event);
    for (const slot of this.slots) slot.holder[slot.key] = slot.value;
    // The event's JSON, spliced from the values' measured JSON, gives its exact size; when it
    // fits (the common case), it is the text its writers use.
    const fragments = this.largeValueJson(event);
    const whole = composeEventJson(event, fragments);
    let total = Buffer.byteLength(whole, 'utf8');
    if (total <= maxEventBytes) {
      keepEventJson(event, fragments, whole, total);
      return;
    }
    total += CUT_RECORD_MAX_BYTES;
    total = this.truncateLargest(total, maxEventBytes);
    const changes = event.changes;
    if (total > maxEventBytes && changes !== undefined) {
      total = this.cutDiff(changes, original, total, maxEventBytes);
    }
    if (total > maxEventBytes && changes !== undefined) {
      this.cutFields(changes, total - maxEventBytes);
    }
    this.record(event);
    keepEventJson(event, this.largeValueJson(event));
  }

  /** The JSON of the event's large values, spliced from the JSON each value was measured by. */
  private largeValueJson(event: AuditEvent): LargeValueJson {
    const placed = new PlacedJson(this.slots);
    const record = event as unknown as JsonRecord;
    const fragments: LargeValueJson = {};
    for (const key of LARGE_EVENT_KEYS) fragments[key] = placed.jsonAt(record, key);
    return fragments;
  }

  private mark(slot: PayloadSlot, partial: boolean): void {
    this.replace(slot, truncatedMarker(originalJson(slot), undefined, { partial }));
  }

  private replace(slot: PayloadSlot, marker: unknown): void {
    slot.value = marker;
    slot.json = JSON.stringify(marker);
    slot.bytes = Buffer.byteLength(slot.json, 'utf8');
    slot.marked = true;
    if (slot.location === undefined) this.diffValues += 1;
    else this.payloads.add(slot.location);
  }

  /** Writes what was cut into the event: the `truncated` summary and the `changes` flags. */
  private record(event: AuditEvent): void {
    const summary: AuditTruncation = {};
    if (this.payloads.size > 0) {
      summary.payloads = PAYLOAD_LOCATIONS.filter((location) => this.payloads.has(location));
    }
    if (this.diffValues > 0) summary.diffValues = this.diffValues;
    if (this.diffEntries > 0) summary.diffEntries = this.diffEntries;
    if (this.fields > 0) summary.fields = this.fields;
    if (this.budgetExhausted) summary.budgetExhausted = true;
    if (Object.keys(summary).length > 0) event.truncated = summary;
    if (event.changes !== undefined && this.diffCut) event.changes.diffTruncated = true;
    if (event.changes !== undefined && this.fields > 0) event.changes.fieldsTruncated = true;
  }

  /** Replaces the largest values by markers until the event fits; returns the new size. */
  private truncateLargest(total: number, maxBytes: number): number {
    const bySize = this.slots.filter((slot) => !slot.marked).sort((a, b) => b.bytes - a.bytes);
    let size = total;
    for (const slot of bySize) {
      if (size <= maxBytes) break;
      // The slot is unmarked, so its JSON is the original value's: the marker describes it.
      const marker = truncatedMarker(originalJson(slot));
      const saved = slot.bytes - jsonBytes(marker);
      // Sorted by size: once a marker saves nothing, no later value is worth replacing either.
      if (saved <= 0) break;
      this.replace(slot, marker);
      slot.holder[slot.key] = marker;
      size -= saved;
    }
    return size;
  }

  /**
   * Leaves diff entries out from the end until the event fits, keeping every field path;
   * returns the new size.
   */
  private cutDiff(
    changes: AuditChanges,
    original: readonly AuditFieldChange[],
    total: number,
    maxBytes: number,
  ): number {
    const { diff } = changes;
    if (diff.length === 0) return total;
    const excess = total - maxBytes;
    // Sized from the values' measured JSON: serialising thousands of entries again would cost
    // more than the rest of the build.
    const entrySlots = new Map<object, PayloadSlot[]>();
    for (const slot of this.slots) {
      if (slot.location === undefined)
        entrySlots.set(slot.holder, [...(entrySlots.get(slot.holder) ?? []), slot]);
    }
    let keep = diff.length;
    let freed = 0;
    // Each dropped entry frees its JSON and one comma; the marking entry takes some back.
    while (keep > 0 && freed - 1 - DIFF_TRUNCATION_ENTRY_MAX_BYTES < excess) {
      keep -= 1;
      const entry = diff[keep] as AuditFieldChange;
      freed += entryBytes(entry, entrySlots.get(entry)) + 1;
    }
    // Of the entries as they were before any cut, so the digest matches the values themselves.
    const marking = diffTruncationEntry(original.slice(keep, diff.length));
    changes.diff = [...diff.slice(0, keep), marking];
    this.diffEntries = diff.length - keep;
    return total - freed + 1 + jsonBytes(marking);
  }

  /** Leaves field paths out from the end until `excess` bytes are freed. */
  private cutFields(changes: AuditChanges, excess: number): void {
    const { fields } = changes;
    let keep = fields.length;
    let freed = 0;
    while (keep > 0 && freed - 1 < excess) {
      keep -= 1;
      freed += stringJsonBytes(fields[keep] as string) + 1;
    }
    changes.fields = fields.slice(0, keep);
    this.fields = fields.length - keep;
  }
}
