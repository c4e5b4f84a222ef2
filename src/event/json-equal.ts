/**
 * Equality of JSON values, with and without a work budget: what the diff compares leaves with.
 */
import type { WalkBudget } from './walk-budget';

export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Own properties only: a key missing on one side must not be found on Object.prototype
// (`toString`, `__proto__`), and `undefined` counts as absent, as it does in JSON.
export function ownValue(record: JsonRecord, key: string): unknown {
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
/** {@link jsonEqual} that takes one visit per value; `undefined` when the budget ran out. */
export function equalWithin(
  a: unknown,
  b: unknown,
  budget: WalkBudget | undefined,
): boolean | undefined {
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
