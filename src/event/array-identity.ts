/**
 * How the diff names the items of an array: by identity (`[id=7]`) when every item is an object
 * with its own unique id, else by position (`[2]`). One path segment per item, so a diff path
 * stays a list of strings (`['items', '[id=7]', 'quantity']`): joined with dots it reads
 * `items.[id=7].quantity`, and an alarm rule on `items` still matches it.
 */
import type { AuditFieldChange } from './audit-event';
import { sanitizeString } from './json-text';
import { isSensitiveKey } from './sensitive-keys';

/** Default of the keys that identify the items of an array (`arrayIdentityKeys`). */
export const DEFAULT_ARRAY_IDENTITY_KEYS: readonly string[] = Object.freeze(['id']);

/** Longest id text kept in a segment; a longer one is cut (the uniqueness check sees the cut). */
const MAX_ID_CHARS = 120;

const INDEX_SEGMENT = /^\[(0|[1-9][0-9]*)\]$/;
const ID_SEGMENT = /^\[([^=\]]+)=(.*)\]$/s;

type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The segment of the item at a position: `[2]`.
 *
 * @param index - position in the array
 */
export function indexSegment(index: number): string {
  return `[${index}]`;
}

/**
 * The segment of an item by identity, `[id=7]`, or `undefined` when the value under the key is
 * not a string or a finite number.
 *
 * @param key - the identity key
 * @param id - the item's value under it
 */
export function idSegment(key: string, id: unknown): string | undefined {
  let text: string;
  if (typeof id === 'number' && Number.isFinite(id)) text = String(id + 0);
  else if (typeof id === 'string' && id !== '') text = sanitizeString(id);
  else return undefined;
  if (text.length > MAX_ID_CHARS) text = `${text.slice(0, MAX_ID_CHARS)}\u2026`;
  return `[${key}=${text}]`;
}

/**
 * The items of an array by their segment, when the key identifies every one of them: each is
 * an object with its own string or number under `key`, and no two share a segment (so `7` and
 * `'7'` count as the same id).
 */
function itemsByKey(list: readonly unknown[], key: string): Map<string, JsonRecord> | undefined {
  const items = new Map<string, JsonRecord>();
  for (const item of list) {
    if (!isRecord(item) || !Object.prototype.hasOwnProperty.call(item, key)) return undefined;
    const segment = idSegment(key, item[key]);
    if (segment === undefined || items.has(segment)) return undefined;
    items.set(segment, item);
  }
  return items;
}

/** Two arrays' items by identity, under the first key that identifies the items of both. */
export interface KeyedItems {
  readonly key: string;
  readonly before: Map<string, JsonRecord>;
  readonly after: Map<string, JsonRecord>;
}

/**
 * Pairs the items of two arrays by identity: the first of `keys` that identifies every item of
 * both arrays (see {@link idSegment}); `undefined` when none does (the arrays are then compared
 * by position). Two empty arrays have no key: there is nothing to pair.
 *
 * @param before - the earlier array
 * @param after - the later array
 * @param keys - identity keys, in order of preference
 */
export function keyedItems(
  before: readonly unknown[],
  after: readonly unknown[],
  keys: readonly string[],
): KeyedItems | undefined {
  if (before.length === 0 && after.length === 0) return undefined;
  for (const key of keys) {
    // The id becomes part of the path, which redaction never hides.
    if (isSensitiveKey(key)) continue;
    const beforeItems = itemsByKey(before, key);
    if (beforeItems === undefined) continue;
    const afterItems = itemsByKey(after, key);
    if (afterItems !== undefined) return { key, before: beforeItems, after: afterItems };
  }
  return undefined;
}

/** A segment read back: a position, or an identity key and id text. */
export type ParsedSegment =
  { kind: 'index'; index: number } | { kind: 'id'; key: string; id: string };

/**
 * Reads an array segment back (`[2]`, `[id=7]`); `undefined` for a plain object key.
 *
 * @param segment - one segment of a diff path
 */
export function parseArraySegment(segment: string): ParsedSegment | undefined {
  const index = INDEX_SEGMENT.exec(segment);
  if (index !== null) return { kind: 'index', index: Number(index[1]) };
  const id = ID_SEGMENT.exec(segment);
  if (id !== null) return { kind: 'id', key: id[1] as string, id: id[2] as string };
  return undefined;
}

/**
 * The position in `list` of the item a segment names, or -1.
 *
 * @param list - an array of a state
 * @param segment - the parsed segment
 */
export function findItem(list: readonly unknown[], segment: ParsedSegment): number {
  if (segment.kind === 'index') return segment.index;
  return list.findIndex(
    (item) =>
      isRecord(item) &&
      idSegment(segment.key, item[segment.key]) === `[${segment.key}=${segment.id}]`,
  );
}

/** Entries of a diff list that stand for the changes of one array left out (see the cap). */
export interface ArrayCut {
  /** Index in the complete list of the first entry left out. */
  readonly start: number;
  /** Index after the last entry left out. */
  readonly end: number;
  /** Path of the array. */
  readonly path: readonly string[];
}

/**
 * A list with the entries of each cut replaced by one entry made by `marker` (cuts sorted by
 * `start`, never overlapping).
 *
 * @param list - the complete list (diff entries, or anything aligned with them)
 * @param cuts - the cuts to apply
 * @param marker - makes the entry that stands for one cut from the entries it replaces
 */
export function applyArrayCuts<T>(
  list: readonly T[],
  cuts: readonly ArrayCut[],
  marker: (omitted: readonly T[], cut: ArrayCut) => T,
): T[] {
  if (cuts.length === 0) return [...list];
  const out: T[] = [];
  let next = 0;
  for (const cut of cuts) {
    for (let i = next; i < cut.start; i += 1) out.push(list[i] as T);
    out.push(marker(list.slice(cut.start, cut.end), cut));
    next = cut.end;
  }
  for (let i = next; i < list.length; i += 1) out.push(list[i] as T);
  return out;
}

/** Whether a diff entry stands for the changes of an array left out by the per-array cap. */
export function isArrayCutShape(change: AuditFieldChange): boolean {
  const after = change.after as { $audit?: unknown; entries?: unknown } | undefined;
  return (
    change.op === 'changed' &&
    change.before === undefined &&
    isRecord(after) &&
    after.$audit === 'truncated' &&
    typeof after.entries === 'number'
  );
}
