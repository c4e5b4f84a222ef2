/**
 * Turns any value an application hands us (entities, request bodies, errors) into plain JSON
 * data that every store and sink can persist as is, and bounds its size: the markers that stand
 * for values too large to keep, and the caps that place them.
 *
 * The walk itself lives in `json-safe.ts` (its steps in `json-copy.ts`) and the text primitives
 * in `json-text.ts`; both are re-exported here, the one module the rest of the library imports.
 */
import { createHash } from 'node:crypto';
import type { BinaryMarker } from './json-builtins';
import { toJsonSafe } from './json-safe';
import { AUDIT_MARKER_KEY } from './json-text';

export {
  AUDIT_MARKER_KEY,
  UNSERIALIZABLE_PREFIX,
  capString,
  sanitizeString,
  setJsonProperty,
  unserializableMarker,
} from './json-text';
export type { BinaryMarker } from './json-builtins';
export { toJsonSafe } from './json-safe';
export {
  CIRCULAR_MARKER,
  MAX_DEPTH,
  MAX_DEPTH_MARKER,
  MAX_NODES,
  NODE_BUDGET_MARKER,
  type JsonSafeOptions,
  type KeyGuard,
} from './json-safe-options';

/** Stands for a value too large to keep: the size and digest of its JSON. */
export interface TruncatedMarker {
  /** Always `'truncated'`. */
  $audit: 'truncated';
  /**
   * UTF-8 byte length of the value's JSON. With {@link TruncatedMarker.partial}, of the part
   * that was read: the value is at least this large.
   */
  bytes: number;
  /**
   * Hex SHA-256 of the value's JSON (UTF-8), to match it against a copy kept elsewhere. With
   * {@link TruncatedMarker.partial}, of the part that was read (ending with `[TooManyNodes]`).
   */
  sha256: string;
  /** For a truncated list: how many entries were left out. */
  entries?: number;
  /**
   * The value was larger than the work budget of the event (or certainly larger than the size
   * cap), so it was read only in part: reading all of it would have cost time in proportion to
   * its size.
   */
  partial?: true;
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

/** Options of {@link truncatedMarker} and {@link capValueMeasured}. */
export interface MarkerOptions {
  /** The value was read only in part (see {@link TruncatedMarker.partial}). */
  partial?: boolean;
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
 * @param options - `partial` when the JSON is of a value read only in part
 */
export function truncatedMarker(
  json: string,
  entries?: number,
  options: MarkerOptions = {},
): TruncatedMarker {
  const marker: TruncatedMarker = {
    $audit: 'truncated',
    bytes: Buffer.byteLength(json, 'utf8'),
    sha256: createHash('sha256').update(json, 'utf8').digest('hex'),
  };
  if (entries !== undefined) marker.entries = entries;
  if (options.partial === true) marker.partial = true;
  return marker;
}

/**
 * Like {@link capValue}, and also returns the JSON and its size, so a caller adding up an
 * event's size never serialises the same value twice.
 *
 * @param value - a JSON-safe value (a value `JSON.stringify` rejects is made safe first)
 * @param maxBytes - largest JSON size, in UTF-8 bytes, kept as is
 * @param options - `partial`: the value was read only in part, so it is never kept as if it
 *   were whole; it always becomes a marker
 */
export function capValueMeasured(
  value: unknown,
  maxBytes: number,
  options: MarkerOptions = {},
): MeasuredValue {
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
  if (bytes <= maxBytes && options.partial !== true) return { value: safe, json, bytes };
  const marker = truncatedMarker(json, undefined, options);
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
