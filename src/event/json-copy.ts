/**
 * The copy made by one JSON-safe walk (see `toJsonSafe`), value by value: primitives, objects
 * and arrays, `toJSON`, entities and relations, and the built-ins that hold other values (Map,
 * Set, Error). Every step takes a visit from the walk's budget and stops the walk when it runs
 * out or the copy grows past its size bound.
 *
 * Nothing here throws on hostile input: an audit record that cannot be written is worse than one
 * with a placeholder in it.
 */
import { types } from 'node:util';
import { NOT_LEAF, leafBuiltIn } from './json-builtins';
import {
  PROMISE_MARKER,
  classKeyOf,
  classNameOf,
  cycleReference,
  hasDataFields,
  isThenable,
  relationReference,
} from './json-entities';
import { CIRCULAR_MARKER, MAX_DEPTH, MAX_DEPTH_MARKER } from './json-safe-options';
import { sanitizeString, setJsonProperty, shownKey, unserializableMarker } from './json-text';
import {
  NO_GUARD_STATE,
  STOP,
  endPartial,
  inheritPartial,
  openWalk,
  replaced,
  report,
  unreadRoot,
  type Walk,
} from './json-walk';

const NOT_BUILT_IN = Symbol('not a built-in');

/**
 * The copy of a walk's root value: the value as `toJsonSafe` documents it, or an empty, partial
 * stand-in when nothing could be read.
 * @param state - the guard's state at the root
 */
export function copyRoot(value: unknown, walk: Walk, state: unknown): unknown {
  const copy = convert(value, '', 0, walk, true, state);
  return copy === STOP ? unreadRoot(walk) : copy;
}

function convert(
  value: unknown,
  key: string | number,
  depth: number,
  walk: Walk,
  callToJSON: boolean,
  state: unknown,
): unknown {
  if (walk.stopped) return STOP;
  if (!walk.budget.take()) {
    walk.stopped = true;
    return STOP;
  }
  const result = convertValue(value, key, depth, walk, callToJSON, state);
  if (walk.chars > walk.maxChars) walk.stopped = true;
  return result;
}

function convertValue(
  value: unknown,
  key: string | number,
  depth: number,
  walk: Walk,
  callToJSON: boolean,
  state: unknown,
): unknown {
  switch (typeof value) {
    case 'string': {
      const scrub = walk.guard?.scrub;
      const text = scrub === undefined ? sanitizeString(value) : scrub(sanitizeString(value));
      walk.chars += text.length + 2;
      return text;
    }
    case 'number':
      walk.chars += 1;
      // Adding 0 turns -0 into 0, which is what a JSON round trip yields anyway.
      return Number.isFinite(value) ? value + 0 : null;
    case 'boolean':
      walk.chars += 4;
      return value;
    case 'bigint': {
      const text = value.toString();
      walk.chars += text.length + 2;
      return text;
    }
    case 'object':
      if (value === null) {
        walk.chars += 4;
        return null;
      }
      return convertObject(value, key, depth, walk, callToJSON, state);
    default:
      return undefined;
  }
}

function convertObject(
  value: object,
  key: string | number,
  depth: number,
  walk: Walk,
  callToJSON: boolean,
  state: unknown,
): unknown {
  // Only the current path counts: the same object reached twice side by side is not a cycle.
  // A back-reference to an entity (`item.order`) is recorded as the entity's identity.
  if (walk.ancestors.includes(value))
    return cycleReference(value, walk.entities) ?? CIRCULAR_MARKER;
  try {
    if (Array.isArray(value)) {
      if (callToJSON && hasToJSON(value)) return viaToJSON(value, key, depth, walk, state);
      return copyList(value as unknown[], depth, walk, state, false);
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const special = convertBuiltIn(value, depth, walk, state);
      if (special !== NOT_BUILT_IN) return special;
      if (isThenable(value)) {
        // Named after the entity holding it: one warning per entity class, not one for Promise.
        const holder = walk.ancestors[walk.ancestors.length - 1] ?? value;
        report(walk, depth, 'promise', classNameOf(holder), 'a promise (a lazy relation?)', true);
        walk.chars += PROMISE_MARKER.length + 2;
        return PROMISE_MARKER;
      }
      // An entity in a list (a to-many relation) keeps its fields: the diff compares them.
      const reference =
        depth > 0 && typeof key === 'string' ? relationReference(value, walk.entities) : undefined;
      if (reference !== undefined) {
        walk.chars += 16;
        return reference;
      }
    }
    if (callToJSON && hasToJSON(value)) return viaToJSON(value, key, depth, walk, state);
    return copyRecord(value as Record<string, unknown>, depth, walk, state);
  } catch (err) {
    const marker = unserializableMarker(err);
    report(walk, depth, 'error', classNameOf(value), marker, true);
    return marker;
  }
}

function hasToJSON(value: object): value is { toJSON: (key: string) => unknown } {
  return typeof (value as { toJSON?: unknown }).toJSON === 'function';
}

function viaToJSON(
  value: { toJSON: (key: string) => unknown },
  key: string | number,
  depth: number,
  walk: Walk,
  state: unknown,
): unknown {
  const classKey = classKeyOf(value);
  const known = walk.brokenToJSON?.get(classKey);
  if (known !== undefined) return withoutToJSON(value, known, depth, walk, state);
  let result: unknown;
  try {
    result = value.toJSON(typeof key === 'number' ? String(key) : key);
  } catch (err) {
    // A toJSON that recurses through a back-reference (class-transformer's instanceToPlain on
    // `order.items[0].order`) overflows the stack; the object's own fields still say what it is.
    const marker = unserializableMarker(err);
    (walk.brokenToJSON ??= new Map()).set(classKey, marker);
    report(walk, depth, 'toJSON', classNameOf(value), marker, !hasDataFields(value));
    return withoutToJSON(value, marker, depth, walk, state);
  }
  // JSON.stringify calls toJSON once per value, not again on what it returned; the call itself
  // already took this value's visit.
  return convertValue(result, key, depth, walk, false, state);
}

/** The object's own enumerable fields, its `toJSON` left aside; the marker when it has none. */
function withoutToJSON(
  value: object,
  marker: string,
  depth: number,
  walk: Walk,
  state: unknown,
): unknown {
  if (Array.isArray(value)) return copyList(value as unknown[], depth, walk, state, false);
  if (!hasDataFields(value)) {
    walk.chars += marker.length + 2;
    return marker;
  }
  return copyRecord(value as Record<string, unknown>, depth, walk, state);
}

/** Copies an array (or the items of a Set, with `iterate`). */
function copyList(
  value: Iterable<unknown> & { length?: number },
  depth: number,
  walk: Walk,
  state: unknown,
  iterate: boolean,
): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  const guard = walk.guard;
  const out: unknown[] = [];
  walk.chars += 1;
  walk.ancestors.push(value);
  try {
    const items = iterate ? value[Symbol.iterator]() : undefined;
    const length = iterate ? Number.POSITIVE_INFINITY : (value as unknown[]).length;
    for (let i = 0; i < length; i += 1) {
      let item: unknown;
      if (items !== undefined) {
        const next = items.next();
        if (next.done === true) break;
        item = next.value;
      } else {
        try {
          item = (value as unknown[])[i];
        } catch (err) {
          item = unserializableMarker(err);
          report(walk, depth, 'getter', classNameOf(value), item as string, true, `[${i}]`);
        }
      }
      walk.keys[depth] = i;
      const childState = guard === undefined ? NO_GUARD_STATE : guard.item(state, i);
      const converted =
        childState === null
          ? replaced(item, walk, true)
          : convert(item, i, depth + 1, walk, true, childState);
      if (converted === STOP) {
        endPartial(out, walk);
        break;
      }
      walk.chars += 1;
      out.push(converted === undefined ? null : converted);
      inheritPartial(out, converted, walk);
    }
    return out;
  } finally {
    walk.ancestors.pop();
  }
}

function copyRecord(
  value: Record<string, unknown>,
  depth: number,
  walk: Walk,
  state: unknown,
): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  const out: Record<string, unknown> = {};
  walk.chars += 1;
  walk.ancestors.push(value);
  // A secret can be a key too (a map of sessions by token): keys get the values' shape scan.
  const scrub = walk.guard?.scrub;
  try {
    for (const rawKey of Object.keys(value)) {
      let item: unknown;
      const key = shownKey(rawKey, scrub, out);
      try {
        item = value[rawKey];
      } catch (err) {
        item = unserializableMarker(err);
        report(walk, depth, 'getter', classNameOf(value), item as string, true, key);
      }
      walk.keys[depth] = key;
      if (addEntry(out, key, item, depth, walk, state) === STOP) {
        endPartial(out, walk);
        break;
      }
    }
    return out;
  } finally {
    walk.ancestors.pop();
  }
}

/** Copies one key of an object being built; returns {@link STOP} when the walk stopped. */
function addEntry(
  out: Record<string, unknown>,
  key: string,
  item: unknown,
  depth: number,
  walk: Walk,
  state: unknown,
): unknown {
  const guard = walk.guard;
  const childState = guard === undefined ? NO_GUARD_STATE : guard.child(state, key);
  const converted =
    childState === null
      ? replaced(item, walk, false)
      : convert(item, key, depth + 1, walk, true, childState);
  if (converted === STOP) return STOP;
  if (converted !== undefined) {
    walk.chars += key.length + 4;
    setJsonProperty(out, key, converted);
    inheritPartial(out, converted, walk);
  }
  return converted;
}

function convertBuiltIn(value: object, depth: number, walk: Walk, state: unknown): unknown {
  const leaf = leafBuiltIn(value);
  if (leaf !== NOT_LEAF) {
    walk.chars += typeof leaf === 'string' ? leaf.length + 2 : 4;
    return leaf;
  }
  if (types.isMap(value)) return convertMap(value, depth, walk, state);
  if (types.isSet(value)) return copyList(value, depth, walk, state, true);
  // Checked before toJSON: some error classes serialise their request config, headers included.
  if (types.isNativeError(value) || value instanceof Error) return convertError(value, walk, state);
  return NOT_BUILT_IN;
}

function convertMap(
  value: Map<unknown, unknown>,
  depth: number,
  walk: Walk,
  state: unknown,
): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  const out: Record<string, unknown> = {};
  walk.chars += 1;
  walk.ancestors.push(value);
  try {
    for (const [entryKey, entryValue] of value) {
      const key = mapKeyToString(entryKey, depth, walk);
      walk.keys[depth] = key;
      if (addEntry(out, key, entryValue, depth, walk, state) === STOP) {
        endPartial(out, walk);
        break;
      }
    }
    return out;
  } finally {
    walk.ancestors.pop();
  }
}

function mapKeyToString(key: unknown, depth: number, walk: Walk): string {
  switch (typeof key) {
    case 'string':
      return sanitizeString(key);
    case 'symbol':
      return sanitizeString(key.toString());
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return String(key);
    default:
      break;
  }
  // An object key is described, not redacted: it names an entry, it does not hold its value.
  const converted = convertValue(key, '', depth + 1, { ...walk, guard: undefined }, true, null);
  if (typeof converted === 'string') return converted;
  return (converted === STOP ? undefined : JSON.stringify(converted)) ?? typeof key;
}

function convertError(error: Error, walk: Walk, state: unknown): Record<string, unknown> {
  const name: unknown = error.name;
  const message: unknown = error.message;
  const out: Record<string, unknown> = {
    type: sanitizeString(typeof name === 'string' && name !== '' ? name : 'Error'),
    message:
      typeof message === 'string'
        ? sanitizeString(message)
        : (JSON.stringify(copyRoot(message, openWalk({ budget: walk.budget }), NO_GUARD_STATE)) ??
          ''),
  };
  const guard = walk.guard;
  if (guard !== undefined) {
    for (const key of ['type', 'message']) {
      if (guard.child(state, key) === null) out[key] = guard.replacement;
    }
  }
  walk.chars += String(out.message).length + String(out.type).length;
  return out;
}
