/**
 * Field-level difference between two states of an entity: what an auditor reads first
 * ("phone changed"), and what alarm rules match on.
 */
import type { AuditFieldChange } from './audit-event';
import {
  AUDIT_MARKER_KEY,
  NODE_BUDGET_MARKER,
  isTruncatedMarker,
  setJsonProperty,
  truncatedMarker,
} from './serialize';
import type { WalkBudget } from './walk-budget';

type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Own properties only: a key missing on one side must not be found on Object.prototype
// (`toString`, `__proto__`), and `undefined` counts as absent, as it does in JSON.
function ownValue(record: JsonRecord, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/**
 * Deep equality of JSON values: same primitives (`0` equals `-0`), arrays with equal items in
 * the same order, objects with the same keys and equal values (key order ignored; a key whose
 * value is `undefined` counts as absent).
 *
 * @param a - a JSON-safe value
 * @param b - a JSON-safe value
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const left = a as unknown[];
    const right = b as unknown[];
    if (left.length !== right.length) return false;
    for (let i = 0; i < left.length; i += 1) {
      if (!jsonEqual(left[i], right[i])) return false;
    }
    return true;
  }
  const left = a as JsonRecord;
  const right = b as JsonRecord;
  let leftCount = 0;
  for (const key of Object.keys(left)) {
    const value = left[key];
    if (value === undefined) continue;
    leftCount += 1;
    const other = ownValue(right, key);
    if (other === undefined || !jsonEqual(value, other)) return false;
  }
  let rightCount = 0;
  for (const key of Object.keys(right)) {
    if (right[key] !== undefined) rightCount += 1;
  }
  return leftCount === rightCount;
}

/** How {@link diffStates} bounds its work and reads states that were copied only in part. */
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
}

interface DiffWalk {
  readonly budget: WalkBudget | undefined;
  readonly isPartial: (value: object) => boolean;
  readonly changes: AuditFieldChange[];
}

const NEVER_PARTIAL = (): boolean => false;

/**
 * The changed fields between two states of an entity, in a stable order (keys sorted).
 *
 * Plain objects are compared key by key, recursively. Arrays and primitives are leaves: an
 * array that differs in any way is one `changed` entry holding both whole arrays. A key present
 * on one side only is `added` or `removed` with its whole value.
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
  const walk: DiffWalk = {
    budget: options.budget,
    isPartial: options.isPartial ?? NEVER_PARTIAL,
    changes: [],
  };
  const { changes } = walk;
  if (before === undefined && after === undefined) return changes;
  if (before === undefined) {
    if (isRecord(after)) listWhole(after, 'added', walk);
    else if (!isPartialValue(after, walk)) changes.push({ path: [], op: 'added', after });
    return changes;
  }
  if (after === undefined) {
    if (isRecord(before)) listWhole(before, 'removed', walk);
    else if (!isPartialValue(before, walk)) changes.push({ path: [], op: 'removed', before });
    return changes;
  }
  if (isRecord(before) && isRecord(after)) {
    diffRecords(before, after, [], walk);
  } else if (!isPartialValue(before, walk) && !isPartialValue(after, walk)) {
    if (equalWithin(before, after, walk.budget) === false) {
      changes.push({ path: [], op: 'changed', before, after });
    }
  }
  return changes;
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

function listWhole(record: JsonRecord, op: 'added' | 'removed', walk: DiffWalk): void {
  for (const key of fieldKeys(record, walk).sort()) {
    if (walk.budget !== undefined && !walk.budget.take()) return;
    const value = record[key];
    if (value === undefined) continue;
    walk.changes.push(
      op === 'added' ? { path: [key], op, after: value } : { path: [key], op, before: value },
    );
  }
}

function diffRecords(before: JsonRecord, after: JsonRecord, path: string[], walk: DiffWalk): void {
  const beforeIsPartial = walk.isPartial(before);
  const afterIsPartial = walk.isPartial(after);
  const keys = new Set(fieldKeys(before, walk));
  for (const key of fieldKeys(after, walk)) keys.add(key);
  for (const key of Array.from(keys).sort()) {
    if (walk.budget !== undefined && !walk.budget.take()) return;
    const old = ownValue(before, key);
    const current = ownValue(after, key);
    if (old === undefined && current === undefined) continue;
    const childPath = [...path, key];
    if (old === undefined) {
      // Absent from a copy cut short: it may be in the part that was not read.
      if (!beforeIsPartial) walk.changes.push({ path: childPath, op: 'added', after: current });
    } else if (current === undefined) {
      if (!afterIsPartial) walk.changes.push({ path: childPath, op: 'removed', before: old });
    } else if (isRecord(old) && isRecord(current)) {
      diffRecords(old, current, childPath, walk);
    } else if (!isPartialValue(old, walk) && !isPartialValue(current, walk)) {
      const equal = equalWithin(old, current, walk.budget);
      if (equal === undefined) return;
      if (!equal)
        walk.changes.push({ path: childPath, op: 'changed', before: old, after: current });
    }
  }
}

/** {@link jsonEqual} that takes one visit per value; `undefined` when the budget ran out. */
function equalWithin(a: unknown, b: unknown, budget: WalkBudget | undefined): boolean | undefined {
  if (budget === undefined) return jsonEqual(a, b);
  const counter = { budget, stopped: false };
  const equal = countedEqual(a, b, counter);
  return counter.stopped ? undefined : equal;
}

function countedEqual(
  a: unknown,
  b: unknown,
  counter: { budget: WalkBudget; stopped: boolean },
): boolean {
  if (!counter.budget.take()) {
    counter.stopped = true;
    return false;
  }
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const right = b as unknown[];
    if (a.length !== right.length) return false;
    return a.every((item, i) => countedEqual(item, right[i], counter));
  }
  const left = a as JsonRecord;
  const right = b as JsonRecord;
  const leftKeys = Object.keys(left).filter((key) => left[key] !== undefined);
  const rightCount = Object.keys(right).filter((key) => right[key] !== undefined).length;
  if (leftKeys.length !== rightCount) return false;
  return leftKeys.every((key) => {
    const other = ownValue(right, key);
    return other !== undefined && countedEqual(left[key], other, counter);
  });
}

/**
 * Path of the entry that stands for diff entries left out to keep an event within its size
 * limit (see {@link diffTruncationEntry}).
 */
export const DIFF_TRUNCATION_PATH: readonly string[] = [AUDIT_MARKER_KEY];

/**
 * The entry appended to a diff list that had to be cut: `path: ['$audit']`, `op: 'changed'` and
 * `after` a truncated marker whose `entries` counts the omitted entries and whose `bytes` and
 * `sha256` describe their JSON.
 *
 * @param omitted - the entries left out
 */
export function diffTruncationEntry(omitted: readonly AuditFieldChange[]): AuditFieldChange {
  return {
    path: [...DIFF_TRUNCATION_PATH],
    op: 'changed',
    after: truncatedMarker(JSON.stringify(omitted), omitted.length),
  };
}

/**
 * Whether a diff entry is the one {@link diffTruncationEntry} makes rather than a real field.
 *
 * @param change - one diff entry
 */
export function isDiffTruncationEntry(change: AuditFieldChange): boolean {
  return (
    change.path.length === 1 &&
    change.path[0] === AUDIT_MARKER_KEY &&
    change.before === undefined &&
    isTruncatedMarker(change.after) &&
    typeof change.after.entries === 'number'
  );
}

/**
 * Dotted paths of the changed fields (`['mfa', 'phone']` becomes `'mfa.phone'`), in diff order.
 *
 * A change of the whole value (`path: []`) is the empty string. Keys containing dots are joined
 * as they are, so the result is for display and matching, not for parsing back. The entry that
 * stands for a cut diff list is not a field and is left out.
 *
 * @param diff - output of {@link diffStates}
 */
export function changedFieldPaths(diff: readonly AuditFieldChange[]): string[] {
  const paths: string[] = [];
  for (const change of diff) {
    if (!isDiffTruncationEntry(change)) paths.push(change.path.join('.'));
  }
  return paths;
}

function cloneJson(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(cloneJson);
  const out: JsonRecord = {};
  for (const key of Object.keys(value)) {
    setJsonProperty(out, key, cloneJson((value as JsonRecord)[key]));
  }
  return out;
}

/**
 * Rebuilds the later state from the earlier one and their diff:
 * `applyDiff(before, diffStates(before, after))` deep-equals `after` for any two JSON objects.
 *
 * A deletion diff applied to an object yields an empty object (a diff cannot tell "deleted" from
 * "emptied"). The entry marking a cut diff list is skipped, so a cut diff rebuilds only the
 * fields it kept.
 *
 * @param before - JSON-safe earlier state (not modified)
 * @param diff - changes to apply, in order
 * @returns a new value sharing nothing with `before` or `diff`
 */
export function applyDiff(before: unknown, diff: readonly AuditFieldChange[]): unknown {
  let root = cloneJson(before);
  for (const change of diff) {
    if (isDiffTruncationEntry(change)) continue;
    const { path } = change;
    const last = path[path.length - 1];
    if (last === undefined) {
      root = change.op === 'removed' ? undefined : cloneJson(change.after);
      continue;
    }
    if (!isRecord(root)) root = {};
    let node = root as JsonRecord;
    for (let i = 0; i < path.length - 1; i += 1) {
      const key = path[i] as string;
      let child = ownValue(node, key);
      if (!isRecord(child)) {
        child = {};
        setJsonProperty(node, key, child);
      }
      node = child as JsonRecord;
    }
    if (change.op === 'removed') {
      delete node[last];
    } else {
      setJsonProperty(node, last, cloneJson(change.after));
    }
  }
  return root;
}
