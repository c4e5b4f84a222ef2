/**
 * Turns any value an application hands us (entities, request bodies, errors) into plain JSON
 * data that every store and sink can persist as is, and bounds its size.
 *
 * Nothing here throws on hostile input: an audit record that cannot be written is worse than one
 * with a placeholder in it.
 */
import { createHash } from 'node:crypto';
import { types } from 'node:util';

/** Deepest container nesting kept by {@link toJsonSafe}; the root container is level 1. */
export const MAX_DEPTH = 64;

/** Replaces a reference back to one of the value's own ancestors. */
export const CIRCULAR_MARKER = '[Circular]';

/** Replaces a container nested deeper than {@link MAX_DEPTH}. */
export const MAX_DEPTH_MARKER = '[MaxDepth]';

/** Key that identifies a marker object inserted by this library in place of a value. */
export const AUDIT_MARKER_KEY = '$audit';

/** Prefix of the string that replaces a value whose `toJSON` or getter threw. */
export const UNSERIALIZABLE_PREFIX = '[Unserializable: ';

/** Most objects and arrays one {@link toJsonSafe} call copies; past it they become a marker. */
export const MAX_NODES = 200_000;

/** Stands for the objects left out once {@link MAX_NODES} is reached. */
export const NODE_BUDGET_MARKER = '[TooManyNodes]';

/** The state of one {@link toJsonSafe} walk: the current path (for cycles) and the node budget. */
interface Walk {
  readonly ancestors: object[];
  budget: number;
}

function newWalk(): Walk {
  return { ancestors: [], budget: MAX_NODES };
}

/** Stands for binary data: its size and digest, never its content (it could hold secrets). */
export interface BinaryMarker {
  /** Always `'binary'`. */
  $audit: 'binary';
  /** Length in bytes. */
  bytes: number;
  /** Hex SHA-256 of the bytes, to prove which content it was without storing it. */
  sha256: string;
}

/** Stands for a value too large to keep: the size and digest of its JSON. */
export interface TruncatedMarker {
  /** Always `'truncated'`. */
  $audit: 'truncated';
  /** UTF-8 byte length of the value's JSON. */
  bytes: number;
  /** Hex SHA-256 of the value's JSON (UTF-8), to match it against a copy kept elsewhere. */
  sha256: string;
  /** For a truncated list: how many entries were left out. */
  entries?: number;
}

/** Any marker object this library puts in place of a value. */
export type AuditMarker = BinaryMarker | TruncatedMarker;

/** A value ready to be embedded in an event, with the size it adds to the event's JSON. */
export interface MeasuredValue {
  /** The value to embed (the input, or a {@link TruncatedMarker} that replaced it). */
  value: unknown;
  /** JSON text of {@link MeasuredValue.value}; `undefined` when the value has no JSON form. */
  json: string | undefined;
  /** UTF-8 byte length of {@link MeasuredValue.json} (0 when absent). */
  bytes: number;
}

// Lone surrogates cannot be encoded in UTF-8; PostgreSQL rejects them (and NUL) in text columns.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SUSPECT = /[\0\uD800-\uDFFF]/;
const NUL = '\u0000';
const REPLACEMENT = '\uFFFD';
const ELLIPSIS = '\u2026';
const ELLIPSIS_BYTES = 3;
const MAX_THROWN_MESSAGE_CHARS = 200;

/**
 * Replaces lone UTF-16 surrogates and NUL with U+FFFD so the string can be stored as UTF-8 text
 * (PostgreSQL refuses both). Every other character, control characters included, is kept.
 *
 * @param value - any string
 * @returns the same string when nothing had to change
 */
export function sanitizeString(value: string): string {
  // One scan for the rare case; nearly every string has neither NUL nor any surrogate.
  if (!SUSPECT.test(value)) return value;
  const withoutNul = value.includes(NUL) ? value.replaceAll(NUL, REPLACEMENT) : value;
  return withoutNul.replace(LONE_SURROGATE, REPLACEMENT);
}

/**
 * Shortens a string to at most `maxBytes` UTF-8 bytes, cutting on a character boundary and
 * ending with `…` when it was cut.
 *
 * @param value - a string (sanitise it first if it may contain lone surrogates)
 * @param maxBytes - UTF-8 byte budget, ellipsis included
 */
export function capString(value: string, maxBytes: number): string {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit, so short strings skip the byte count.
  if (value.length * 3 <= maxBytes) return value;
  if (Buffer.byteLength(value, 'utf8') <= maxBytes) return value;
  const budget = maxBytes - ELLIPSIS_BYTES;
  if (budget <= 0) return maxBytes >= ELLIPSIS_BYTES ? ELLIPSIS : '';
  let end = Math.min(value.length, budget);
  const last = value.charCodeAt(end - 1);
  // Keep a surrogate pair whole so the cut below lands on a real character boundary.
  if (last >= 0xd800 && last <= 0xdbff && end < value.length) end += 1;
  const encoded = Buffer.from(value.slice(0, end), 'utf8');
  let cut = Math.min(budget, encoded.length);
  while (cut > 0 && ((encoded[cut] ?? 0) & 0xc0) === 0x80) cut -= 1;
  return encoded.subarray(0, cut).toString('utf8') + ELLIPSIS;
}

/**
 * The string that replaces a value whose `toJSON`, getter or proxy trap threw.
 *
 * @param thrown - whatever was thrown
 * @returns `[Unserializable: <ErrorName>: <message>]`
 */
export function unserializableMarker(thrown: unknown): string {
  let description: string;
  try {
    if (thrown instanceof Error || types.isNativeError(thrown)) {
      const error = thrown;
      const name = typeof error.name === 'string' && error.name !== '' ? error.name : 'Error';
      description = `${name}: ${String(error.message)}`;
    } else {
      description = `${typeof thrown}: ${String(thrown)}`;
    }
  } catch {
    description = 'Error: (the thrown value could not be described)';
  }
  // The message can echo the data that failed; keep it short.
  if (description.length > MAX_THROWN_MESSAGE_CHARS) {
    description = `${description.slice(0, MAX_THROWN_MESSAGE_CHARS)}${ELLIPSIS}`;
  }
  return `${UNSERIALIZABLE_PREFIX}${sanitizeString(description)}]`;
}

/**
 * Sets `target[key] = value` as an own data property. `__proto__` is defined rather than
 * assigned: assignment would replace the object's prototype instead of storing the data.
 *
 * @param target - a plain object being built
 * @param key - any key, including `__proto__`
 * @param value - the value to store
 */
export function setJsonProperty(
  target: Record<string, unknown>,
  key: string,
  value: unknown,
): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/**
 * Makes a fresh deep copy of any value that contains only JSON data: `null`, booleans, finite
 * numbers, strings, arrays and plain objects. Never throws.
 *
 * - circular reference: `'[Circular]'`; containers deeper than 64 levels: `'[MaxDepth]'`
 * - BigInt: decimal string; Date: ISO string (`null` when invalid); RegExp: its source text
 * - Buffer, typed arrays, ArrayBuffer: a {@link BinaryMarker} (size and SHA-256, never the bytes)
 * - Map: object from its entries (non-string keys stringified); Set: array
 * - Error: `{ type: name, message }`; boxed primitives: their primitive value
 * - objects with `toJSON`: its result, normalised; class instances: own enumerable properties
 * - a `toJSON` or getter that throws: `'[Unserializable: <ErrorName>: <message>]'`
 * - functions, symbols, `undefined`: omitted in objects, `null` in arrays (as `JSON.stringify`)
 * - NaN and ±Infinity: `null`; `-0`: `0`
 * - strings and keys: lone surrogates and NUL replaced by U+FFFD
 * - `__proto__`, `constructor`, `prototype` keys: kept as own data, never touching prototypes
 *
 * @param value - anything
 * @returns the JSON-safe copy; `undefined` when the root itself has no JSON form (`undefined`,
 *   a function or a symbol), as `JSON.stringify` does
 */
export function toJsonSafe(value: unknown): unknown {
  return convert(value, '', 0, newWalk(), true);
}

function convert(
  value: unknown,
  key: string | number,
  depth: number,
  walk: Walk,
  callToJSON: boolean,
): unknown {
  switch (typeof value) {
    case 'string':
      return sanitizeString(value);
    case 'number':
      // Adding 0 turns -0 into 0, which is what a JSON round trip yields anyway.
      return Number.isFinite(value) ? value + 0 : null;
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'object':
      return value === null ? null : convertObject(value, key, depth, walk, callToJSON);
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
): unknown {
  // Only the current path counts: the same object reached twice side by side is not a cycle.
  if (walk.ancestors.includes(value)) return CIRCULAR_MARKER;
  // Shared (acyclic) references are copied once per path, so an object graph that reuses nodes
  // can grow exponentially; the budget bounds the work whatever the graph looks like.
  walk.budget -= 1;
  if (walk.budget < 0) return NODE_BUDGET_MARKER;
  try {
    if (Array.isArray(value)) {
      if (callToJSON && hasToJSON(value)) return viaToJSON(value, key, depth, walk);
      return convertArray(value as unknown[], depth, walk);
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const special = convertBuiltIn(value, depth, walk);
      if (special !== NOT_BUILT_IN) return special;
    }
    if (callToJSON && hasToJSON(value)) return viaToJSON(value, key, depth, walk);
    return convertRecord(value as Record<string, unknown>, depth, walk);
  } catch (err) {
    return unserializableMarker(err);
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
): unknown {
  const result = value.toJSON(typeof key === 'number' ? String(key) : key);
  // JSON.stringify calls toJSON once per value, not again on what it returned.
  return convert(result, key, depth, walk, false);
}

function convertArray(value: unknown[], depth: number, walk: Walk): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  walk.ancestors.push(value);
  try {
    const length = value.length;
    const out: unknown[] = [];
    for (let i = 0; i < length; i += 1) {
      let item: unknown;
      try {
        item = value[i];
      } catch (err) {
        out.push(unserializableMarker(err));
        continue;
      }
      const converted = convert(item, i, depth + 1, walk, true);
      out.push(converted === undefined ? null : converted);
    }
    return out;
  } finally {
    walk.ancestors.pop();
  }
}

function convertRecord(value: Record<string, unknown>, depth: number, walk: Walk): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  walk.ancestors.push(value);
  try {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      let item: unknown;
      try {
        item = value[key];
      } catch (err) {
        setJsonProperty(out, sanitizeString(key), unserializableMarker(err));
        continue;
      }
      const converted = convert(item, key, depth + 1, walk, true);
      if (converted !== undefined) setJsonProperty(out, sanitizeString(key), converted);
    }
    return out;
  } finally {
    walk.ancestors.pop();
  }
}

const NOT_BUILT_IN = Symbol('not a built-in');

// node:util `types` checks internal slots, so values from another realm (vm, worker) are
// recognised too, and a plain object faking a Date's shape is not.
function convertBuiltIn(value: object, depth: number, walk: Walk): unknown {
  if (types.isDate(value)) {
    const time = Date.prototype.getTime.call(value);
    return Number.isNaN(time) ? null : new Date(time).toISOString();
  }
  if (types.isAnyArrayBuffer(value)) return binaryMarker(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) {
    return binaryMarker(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
  if (types.isMap(value)) return convertMap(value, depth, walk);
  if (types.isSet(value)) return convertSet(value, depth, walk);
  // Checked before toJSON: some error classes serialise their request config, headers included.
  if (types.isNativeError(value) || value instanceof Error) return convertError(value);
  if (types.isBoxedPrimitive(value)) return convertBoxed(value);
  if (types.isRegExp(value)) return sanitizeString(RegExp.prototype.toString.call(value));
  return NOT_BUILT_IN;
}

function binaryMarker(bytes: Uint8Array): BinaryMarker {
  return {
    $audit: 'binary',
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function convertMap(value: Map<unknown, unknown>, depth: number, walk: Walk): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  walk.ancestors.push(value);
  try {
    const out: Record<string, unknown> = {};
    for (const [entryKey, entryValue] of value) {
      const key = mapKeyToString(entryKey, depth, walk);
      const converted = convert(entryValue, key, depth + 1, walk, true);
      if (converted !== undefined) setJsonProperty(out, key, converted);
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
  const converted = convert(key, '', depth + 1, walk, true);
  if (typeof converted === 'string') return converted;
  return JSON.stringify(converted) ?? typeof key;
}

function convertSet(value: Set<unknown>, depth: number, walk: Walk): unknown {
  if (depth >= MAX_DEPTH) return MAX_DEPTH_MARKER;
  walk.ancestors.push(value);
  try {
    const out: unknown[] = [];
    let index = 0;
    for (const item of value) {
      const converted = convert(item, index, depth + 1, walk, true);
      out.push(converted === undefined ? null : converted);
      index += 1;
    }
    return out;
  } finally {
    walk.ancestors.pop();
  }
}

function convertError(error: Error): { type: string; message: string } {
  const name: unknown = error.name;
  const message: unknown = error.message;
  return {
    type: sanitizeString(typeof name === 'string' && name !== '' ? name : 'Error'),
    message:
      typeof message === 'string'
        ? sanitizeString(message)
        : (stringifyJson(toJsonSafe(message)) ?? ''),
  };
}

function convertBoxed(value: object): unknown {
  if (types.isNumberObject(value))
    return convert(Number.prototype.valueOf.call(value), '', 0, newWalk(), false);
  if (types.isStringObject(value)) return sanitizeString(String.prototype.valueOf.call(value));
  if (types.isBooleanObject(value)) return Boolean.prototype.valueOf.call(value);
  if (types.isBigIntObject(value)) return BigInt.prototype.toString.call(value);
  return undefined;
}

/**
 * `JSON.stringify` that never throws: a value it rejects (BigInt, a cycle) is made JSON-safe
 * first.
 *
 * @param value - preferably JSON-safe already (then this is a plain `JSON.stringify`)
 * @returns the JSON text, or `undefined` when the value has no JSON form
 */
export function stringifyJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(toJsonSafe(value));
  }
}

/**
 * UTF-8 byte length of a value's JSON, as stores and streams will count it.
 *
 * @param value - preferably JSON-safe (output of {@link toJsonSafe})
 * @returns 0 when the value has no JSON form
 */
export function jsonByteLength(value: unknown): number {
  const json = stringifyJson(value);
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
}

/**
 * The marker that replaces a value whose JSON is `json`.
 *
 * @param json - the JSON text of the value being dropped
 * @param entries - for a list: how many entries the marker stands for
 */
export function truncatedMarker(json: string, entries?: number): TruncatedMarker {
  const marker: TruncatedMarker = {
    $audit: 'truncated',
    bytes: Buffer.byteLength(json, 'utf8'),
    sha256: createHash('sha256').update(json, 'utf8').digest('hex'),
  };
  if (entries !== undefined) marker.entries = entries;
  return marker;
}

/**
 * Like {@link capValue}, and also returns the JSON and its size, so a caller adding up an
 * event's size never serialises the same value twice.
 *
 * @param value - a JSON-safe value (a value `JSON.stringify` rejects is made safe first)
 * @param maxBytes - largest JSON size, in UTF-8 bytes, kept as is
 */
export function capValueMeasured(value: unknown, maxBytes: number): MeasuredValue {
  let safe = value;
  let json: string | undefined;
  try {
    json = JSON.stringify(safe);
  } catch {
    safe = toJsonSafe(value);
    json = JSON.stringify(safe);
  }
  if (json === undefined) return { value: undefined, json: undefined, bytes: 0 };
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= maxBytes) return { value: safe, json, bytes };
  const marker = truncatedMarker(json);
  const markerJson = JSON.stringify(marker);
  return { value: marker, json: markerJson, bytes: Buffer.byteLength(markerJson, 'utf8') };
}

/**
 * Keeps a value whose JSON fits in `maxBytes`; replaces a larger one with a
 * {@link TruncatedMarker} carrying the byte length and SHA-256 of its JSON.
 *
 * The marker is returned even when `maxBytes` is smaller than the marker itself.
 *
 * @param value - a JSON-safe value (output of {@link toJsonSafe})
 * @param maxBytes - largest JSON size, in UTF-8 bytes, kept as is
 * @returns the same value (not a copy) when it fits
 */
export function capValue(value: unknown, maxBytes: number): unknown {
  return capValueMeasured(value, maxBytes).value;
}

function isMarkerShaped(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return typeof record.bytes === 'number' && typeof record.sha256 === 'string';
}

/**
 * Whether a value is a marker this library put in place of data.
 *
 * Markers are ordinary JSON: data that arrives already shaped like one is indistinguishable.
 *
 * @param value - any JSON value
 */
export function isAuditMarker(value: unknown): value is AuditMarker {
  return isBinaryMarker(value) || isTruncatedMarker(value);
}

/**
 * Whether a value is a {@link BinaryMarker}.
 *
 * @param value - any JSON value
 */
export function isBinaryMarker(value: unknown): value is BinaryMarker {
  return isMarkerShaped(value) && value[AUDIT_MARKER_KEY] === 'binary';
}

/**
 * Whether a value is a {@link TruncatedMarker}.
 *
 * @param value - any JSON value
 */
export function isTruncatedMarker(value: unknown): value is TruncatedMarker {
  return isMarkerShaped(value) && value[AUDIT_MARKER_KEY] === 'truncated';
}
