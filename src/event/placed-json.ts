/**
 * The JSON of the parts of an event that hold placed values, spliced from the JSON the size caps
 * already made of each value: an event's states and diff are its largest part, and making their
 * JSON a second time for the stored payload and the ECS line cost as much as the first time.
 */

type JsonRecord = Record<string, unknown>;

/** A value the placer put at `holder[key]`, with its JSON when it was made. */
export interface PlacedValue {
  readonly holder: JsonRecord;
  readonly key: string;
  readonly value: unknown;
  readonly json: string | undefined;
}

/**
 * Writes `JSON.stringify(holder[key])` for an event whose values were placed, reusing each
 * placed value's JSON. The result is the same text as long as the event was not changed after
 * its values were placed (a placed value that was replaced since is stringified again).
 */
export class PlacedJson {
  private readonly byHolder = new Map<object, Map<string, PlacedValue>>();

  /** @param placed - every value placed, in any order */
  constructor(placed: readonly PlacedValue[]) {
    for (const entry of placed) {
      let keys = this.byHolder.get(entry.holder);
      if (keys === undefined)
        this.byHolder.set(entry.holder, (keys = new Map<string, PlacedValue>()));
      keys.set(entry.key, entry);
    }
  }

  /**
   * `JSON.stringify(holder[key])`.
   *
   * @returns `undefined` where `JSON.stringify` gives `undefined` (an absent value)
   */
  jsonAt(holder: JsonRecord, key: string): string | undefined {
    const value = holder[key];
    const placed = this.byHolder.get(holder)?.get(key);
    if (placed !== undefined && placed.value === value) {
      return placed.json ?? JSON.stringify(value);
    }
    return this.jsonOf(value);
  }

  private jsonOf(value: unknown): string | undefined {
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    if (Array.isArray(value)) {
      if (!value.some((item) => this.holdsPlaced(item))) return JSON.stringify(value);
      const items = value.map((item: unknown) => this.jsonOf(item) ?? 'null');
      return `[${items.join(',')}]`;
    }
    if (!this.holdsPlaced(value)) return JSON.stringify(value);
    const record = value as JsonRecord;
    const members: string[] = [];
    for (const key of Object.keys(record)) {
      const json = this.jsonAt(record, key);
      if (json !== undefined) members.push(`${JSON.stringify(key)}:${json}`);
    }
    return `{${members.join(',')}}`;
  }

  /** Whether placed values sit in `value` itself or in an array of objects that hold them. */
  private holdsPlaced(value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    if (this.byHolder.has(value)) return true;
    return Array.isArray(value) && value.some((item) => this.byHolder.has(item as object));
  }
}
