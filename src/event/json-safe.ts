/**
 * The one walk over application data: a JSON-safe copy of anything (entities, request bodies,
 * errors), bounded by a {@link WalkBudget} and optionally by the size of its JSON, and
 * optionally redacting on the way (a {@link KeyGuard}), so a secret is never even read.
 *
 * Nothing here throws on hostile input: an audit record that cannot be written is worse than one
 * with a placeholder in it.
 */
import { copyRoot } from './json-copy';
import type { JsonSafeOptions } from './json-safe-options';
import { NO_GUARD_STATE, openWalk } from './json-walk';

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
 * - a `toJSON` that throws (a cycle through `toJSON` overflows the stack): the object's own
 *   enumerable fields, as if it had none; `'[Unserializable: <ErrorName>: <message>]'` when it
 *   has no data field
 * - a getter that throws: `'[Unserializable: <ErrorName>: <message>]'`
 * - a promise or thenable (a lazy relation): `'[Unserializable: Promise, never awaited]'`
 * - with `entities`: a class instance with an identity key, held by a property of a non-root
 *   object (a relation), is `{ id: <its id> }` (unless `entities.relations` is `full`)
 * - functions, symbols, `undefined`: omitted in objects, `null` in arrays (as `JSON.stringify`)
 * - NaN and ±Infinity: `null`; `-0`: `0`
 * - strings and keys: lone surrogates and NUL replaced by U+FFFD
 * - `__proto__`, `constructor`, `prototype` keys: kept as own data, never touching prototypes
 *
 * The work is bounded by the budget, not by the input: once it runs out (or the copy passes
 * `maxBytes`) nothing more is read, the containers being copied end with
 * {@link NODE_BUDGET_MARKER} and are recorded as partial in the budget. Keys are read in the
 * object's own order. Strings are copied whole (native work, about a millisecond per MB).
 *
 * @param value - anything
 * @param options - budget, size bound and redaction guard
 * @returns the JSON-safe copy; `undefined` when the root itself has no JSON form (`undefined`,
 *   a function or a symbol), as `JSON.stringify` does
 */
export function toJsonSafe(value: unknown, options: JsonSafeOptions = {}): unknown {
  const guard = options.guard;
  const state = guard === undefined ? NO_GUARD_STATE : (options.guardState ?? guard.root);
  return copyRoot(value, openWalk(options), state);
}
