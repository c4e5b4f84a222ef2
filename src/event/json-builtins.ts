/**
 * Built-in objects that become a single JSON value in a copy: dates, binary data, boxed
 * primitives and regular expressions. (Maps, Sets and errors hold other values and are walked.)
 */
import { createHash } from 'node:crypto';
import { types } from 'node:util';
import { isoTime } from '../common/iso-time';
import { sanitizeString } from './json-text';

/** Stands for binary data: its size and digest, never its content (it could hold secrets). */
export interface BinaryMarker {
  /** Always `'binary'`. */
  $audit: 'binary';
  /** Length in bytes. */
  bytes: number;
  /** Hex SHA-256 of the bytes, to prove which content it was without storing it. */
  sha256: string;
}

/** Returned by {@link leafBuiltIn} for an object it does not turn into one value. */
export const NOT_LEAF = Symbol('not a leaf built-in');

/**
 * The JSON value of a date (ISO string, `null` when invalid), binary data (a
 * {@link BinaryMarker}), a boxed primitive (its value) or a regular expression (its source).
 *
 * `node:util` `types` checks internal slots, so values from another realm (vm, worker) are
 * recognised too, and a plain object faking a Date's shape is not.
 *
 * @param value - an object whose prototype is not `Object.prototype`
 * @returns {@link NOT_LEAF} for anything else
 */
export function leafBuiltIn(value: object): unknown {
  if (types.isDate(value)) {
    const time = Date.prototype.getTime.call(value);
    return Number.isNaN(time) ? null : isoTime(time);
  }
  if (types.isAnyArrayBuffer(value)) return binaryMarker(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) {
    return binaryMarker(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
  if (types.isBoxedPrimitive(value)) return unboxed(value);
  if (types.isRegExp(value)) return sanitizeString(RegExp.prototype.toString.call(value));
  return NOT_LEAF;
}

function binaryMarker(bytes: Uint8Array): BinaryMarker {
  return {
    $audit: 'binary',
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function unboxed(value: object): unknown {
  if (types.isNumberObject(value)) {
    const number = Number.prototype.valueOf.call(value);
    return Number.isFinite(number) ? number + 0 : null;
  }
  if (types.isStringObject(value)) return sanitizeString(String.prototype.valueOf.call(value));
  if (types.isBooleanObject(value)) return Boolean.prototype.valueOf.call(value);
  if (types.isBigIntObject(value)) return BigInt.prototype.toString.call(value);
  return undefined;
}
