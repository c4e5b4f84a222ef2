/**
 * Field-level difference between two states of an entity: what an auditor reads first
 * ("phone changed"), and what alarm rules match on.
 */
import {
  DEFAULT_ARRAY_IDENTITY_KEYS,
  applyArrayCuts,
  indexSegment,
  keyedItems,
  type ArrayCut,
} from './array-identity';
import type { AuditFieldChange } from './audit-event';
import { arrayCutEntry } from './diff-entries';
import { equalWithin, isRecord, ownValue, type JsonRecord } from './json-equal';
import { AUDIT_MARKER_KEY, NODE_BUDGET_MARKER } from './serialize';
import type { WalkBudget } from './walk-budget';

export { applyDiff } from './apply-diff';
export {
  DIFF_TRUNCATION_PATH,
  arrayCutEntry,
  changedFieldPaths,
  diffTruncationEntry,
  isArrayCutEntry,
  isDiffTruncationEntry,
} from './diff-entries';
export { jsonEqual } from './json-equal';

export interface DiffOptions {
  /**
   * Visits the comparison may take (one per key or item compared). Once it runs out the diff
   * ends where it is, and `budget.exhausted` says so. @default no bound
   */
  budget?: WalkBudget;
  /**
   * Whether a container of the states was copied only in part (see `WalkBudget.isPartial`): a
   * key missing from it is unknown rather than added or removed, a partial value is never
   * compared as a whole, and the `$audit` key that marks where its copy stopped is no field.
   */
  isPartial?: (value: object) => boolean;
  /**
   * Keys that identify the items of an array: an array is compared item by item by identity
   * (`items.[id=7].quantity`) under the first of them that every item of both arrays holds, as
   * its own string or number, with no two items alike; other arrays by position (`tags.[2]`).
   * @default `['id']`
   */
  identityKeys?: readonly string[];
  /**
   * Most entries kept for one array (entries of arrays nested in it count towards it); the rest
   * are replaced by one entry at the array's path whose `after` is a truncated marker counting
   * them. @default no limit
   */
  maxArrayChanges?: number;
}

/** The complete diff and the cuts {@link DiffOptions.maxArrayChanges} asks for. */
export interface DetailedDiff {
  /** Every change, nothing left out. */
  readonly changes: AuditFieldChange[];
  /** Ranges of {@link DetailedDiff.changes} to leave out, one per array over the limit. */
  readonly cuts: readonly ArrayCut[];
}

interface DiffWalk {
  readonly budget: WalkBudget | undefined;
  readonly isPartial: (value: object) => boolean;
  readonly changes: AuditFieldChange[];
  readonly identityKeys: readonly string[];
  readonly maxArrayChanges: number;
  readonly cuts: ArrayCut[];
  /** Arrays being compared around the current value. */
  arrayDepth: number;
}

const NEVER_PARTIAL = (): boolean => false;

/**
 * The changed fields between two states of an entity, in a stable order (keys sorted).
 *
 * Plain objects are compared key by key, recursively. Arrays are compared item by item: by
 * identity when their items carry one (`['items', '[id=7]', 'quantity']`; an item present on
 * one side only is `added` or `removed` whole, under its identity; order is not compared), else
 * by position (`['tags', '[2]']`; a longer or shorter array adds or removes its last items).
 * Primitives are leaves. A key present on one side only is `added` or `removed` with its whole
 * value.
 *
 * - `before === undefined` (a creation): every top-level key of `after` is `added`
 * - `after === undefined` (a deletion): every top-level key of `before` is `removed`
 * - two non-objects (or an object and a non-object) that differ: one entry with `path: []`
 *
 * With a budget, the work is bounded whatever the size of the states; with `isPartial`, a diff
 * of states copied only in part lists only the changes that are certain.
 *
 * @param before - JSON-safe state before the action (output of `toJsonSafe`), or `undefined`
 * @param after - JSON-safe state after the action, or `undefined`
 * @param options - work budget and partial copies
 * @returns an empty list when the states are deep-equal
 */
export function diffStates(
  before: unknown,
  after: unknown,
  options: DiffOptions = {},
): AuditFieldChange[] {
  const { changes, cuts } = diffStatesDetailed(before, after, options);
  return applyArrayCuts(changes, cuts, arrayCutEntry);
}

/**
 * {@link diffStates} without the per-array cut applied: the complete list (what alarm rules
 * see) and the cuts to apply for the record (see {@link applyArrayCuts}, {@link arrayCutEntry}).
 *
 * @param before - as {@link diffStates}
 * @param after - as {@link diffStates}
 * @param options - as {@link diffStates}
 */
export function diffStatesDetailed(
  before: unknown,
  after: unknown,
  options: DiffOptions = {},
): DetailedDiff {
  const walk: DiffWalk = {
    budget: options.budget,
    isPartial: options.isPartial ?? NEVER_PARTIAL,
    changes: [],
    identityKeys: options.identityKeys ?? DEFAULT_ARRAY_IDENTITY_KEYS,
    maxArrayChanges: options.maxArrayChanges ?? Number.POSITIVE_INFINITY,
    cuts: [],
    arrayDepth: 0,
  };
  const { changes, cuts } = walk;
  if (before === undefined && after === undefined) return { changes, cuts };
  if (before === undefined) {
    if (isRecord(after)) listWhole(after, 'added', walk);
    else if (!isPartialValue(after, walk)) changes.push({ path: [], op: 'added', after });
  } else if (after === undefined) {
    if (isRecord(before)) listWhole(before, 'removed', walk);
    else if (!isPartialValue(before, walk)) changes.push({ path: [], op: 'removed', before });
  } else {
    diffValues(before, after, [], walk);
  }
  return { changes, cuts };
}

/** Two present values at one path: recurse into objects and arrays, else compare. */
function diffValues(old: unknown, current: unknown, path: string[], walk: DiffWalk): boolean {
  if (isRecord(old) && isRecord(current)) return diffRecords(old, current, path, walk);
  if (isPartialValue(old, walk) || isPartialValue(current, walk)) return true;
  if (Array.isArray(old) && Array.isArray(current)) return diffArrays(old, current, path, walk);
  const equal = equalWithin(old, current, walk.budget);
  if (equal === undefined) return false;
  if (!equal) walk.changes.push({ path, op: 'changed', before: old, after: current });
  return true;
}

/** @returns `false` once the budget ran out */
function diffArrays(
  old: readonly unknown[],
  current: readonly unknown[],
  path: string[],
  walk: DiffWalk,
): boolean {
  const outermost = walk.arrayDepth === 0;
  const start = walk.changes.length;
  walk.arrayDepth += 1;
  let going: boolean;
  try {
    const keyed = keyedItems(old, current, walk.identityKeys);
    going =
      keyed === undefined
        ? diffByPosition(old, current, path, walk)
        : diffByIdentity(keyed.before, keyed.after, path, walk);
  } finally {
    walk.arrayDepth -= 1;
  }
  const end = walk.changes.length;
  if (outermost && end - start > walk.maxArrayChanges) {
    walk.cuts.push({ start: start + walk.maxArrayChanges, end, path });
  }
  return going;
}

function diffByIdentity(
  old: ReadonlyMap<string, JsonRecord>,
  current: ReadonlyMap<string, JsonRecord>,
  path: string[],
  walk: DiffWalk,
): boolean {
  for (const [segment, item] of old) {
    if (walk.budget !== undefined && !walk.budget.take()) return false;
    const other = current.get(segment);
    const itemPath = [...path, segment];
    if (other === undefined) walk.changes.push({ path: itemPath, op: 'removed', before: item });
    else if (!diffRecords(item, other, itemPath, walk)) return false;
  }
  for (const [segment, item] of current) {
    if (old.has(segment)) continue;
    if (walk.budget !== undefined && !walk.budget.take()) return false;
    walk.changes.push({ path: [...path, segment], op: 'added', after: item });
  }
  return true;
}

function diffByPosition(
  old: readonly unknown[],
  current: readonly unknown[],
  path: string[],
  walk: DiffWalk,
): boolean {
  const common = Math.min(old.length, current.length);
  for (let i = 0; i < Math.max(old.length, current.length); i += 1) {
    if (walk.budget !== undefined && !walk.budget.take()) return false;
    if (i < common && isSameLeaf(old[i], current[i])) {
      if (walk.budget !== undefined && !walk.budget.take()) return false;
      continue;
    }
    const itemPath = [...path, indexSegment(i)];
    // JSON has no holes: a missing item of a copy is null, never undefined.
    if (i >= common && i < current.length) {
      walk.changes.push({ path: itemPath, op: 'added', after: current[i] });
    } else if (i >= common) {
      walk.changes.push({ path: itemPath, op: 'removed', before: old[i] });
    } else if (!diffValues(old[i], current[i], itemPath, walk)) {
      return false;
    }
  }
  return true;
}

/**
 * Whether two values are one and the same primitive (or null): an unchanged leaf, the most
 * common case, which the walk skips without allocating its path. It still spends the visit the
 * comparison would have, so the budget runs out exactly where it would.
 */
function isSameLeaf(a: unknown, b: unknown): boolean {
  return a === b && (a === null || typeof a !== 'object');
}

function isPartialValue(value: unknown, walk: DiffWalk): boolean {
  return typeof value === 'object' && value !== null && walk.isPartial(value);
}

/** The keys of a record that are fields: without the marker where a partial copy stopped. */
function fieldKeys(record: JsonRecord, walk: DiffWalk): string[] {
  const keys = Object.keys(record);
  if (!walk.isPartial(record)) return keys;
  return keys.filter((key) => !(key === AUDIT_MARKER_KEY && record[key] === NODE_BUDGET_MARKER));
}

/**
 * Every key of two records, sorted; `before`'s own array when both list the same keys in the
 * same order (the common case: an update keeps the record's shape), so that no set is built.
 */
function keyUnion(before: string[], after: readonly string[]): string[] {
  let same = before.length === after.length;
  for (let i = 0; same && i < before.length; i += 1) same = before[i] === after[i];
  if (same) return sortKeys(before);
  const keys = new Set(before);
  for (const key of after) keys.add(key);
  return sortKeys(Array.from(keys));
}

/** Above this many keys, `Array.prototype.sort` (O(n log n)) beats the insertion sort. */
const INSERTION_SORT_MAX = 48;

/**
 * Sorts a key list in place, in the order of `Array.prototype.sort()` (UTF-16 code units).
 * Records have a few dozen keys at most, and V8's sort allocates a work copy of the array on
 * every call: an insertion sort allocates nothing (a sixth of the diff's garbage on an update).
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i += 1) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j -= 1;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function listWhole(record: JsonRecord, op: 'added' | 'removed', walk: DiffWalk): void {
  for (const key of sortKeys(fieldKeys(record, walk))) {
    if (walk.budget !== undefined && !walk.budget.take()) return;
    const value = record[key];
    if (value === undefined) continue;
    walk.changes.push(
      op === 'added' ? { path: [key], op, after: value } : { path: [key], op, before: value },
    );
  }
}

/** @returns `false` once the budget ran out */
function diffRecords(
  before: JsonRecord,
  after: JsonRecord,
  path: string[],
  walk: DiffWalk,
): boolean {
  const beforeIsPartial = walk.isPartial(before);
  const afterIsPartial = walk.isPartial(after);
  for (const key of keyUnion(fieldKeys(before, walk), fieldKeys(after, walk))) {
    if (walk.budget !== undefined && !walk.budget.take()) return false;
    const old = ownValue(before, key);
    const current = ownValue(after, key);
    if (old === undefined && current === undefined) continue;
    if (isSameLeaf(old, current)) {
      if (walk.budget !== undefined && !walk.budget.take()) return false;
      continue;
    }
    const childPath = [...path, key];
    if (old === undefined) {
      // Absent from a copy cut short: it may be in the part that was not read.
      if (!beforeIsPartial) walk.changes.push({ path: childPath, op: 'added', after: current });
    } else if (current === undefined) {
      if (!afterIsPartial) walk.changes.push({ path: childPath, op: 'removed', before: old });
    } else if (!diffValues(old, current, childPath, walk)) {
      return false;
    }
  }
  return true;
}
