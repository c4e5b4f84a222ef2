/**
 * How the JSON-safe walk reads the objects ORMs hand over: entity instances and their relations,
 * lazy relations (promises), and what it reports when a value cannot be read (a throwing
 * getter, a `toJSON` that throws or recurses without end). The walk itself is in `json-safe.ts` and `json-copy.ts`.
 */
import { types } from 'node:util';
import { UNSERIALIZABLE_PREFIX } from './json-text';

/** Replaces a promise (a TypeORM lazy relation, say): it is never awaited. */
export const PROMISE_MARKER = `${UNSERIALIZABLE_PREFIX}Promise, never awaited]`;

/** How entity states are read (given for the states of an event, not for other payloads). */
export interface EntityReading {
  /** Keys that identify an entity, in order of preference (`['id']`). */
  readonly identityKeys: readonly string[];
  /**
   * `id`: an entity held by a property of another one (a to-one relation) is recorded as its
   * identity only (`{ id: 7 }`); `full`: it is walked like any other object.
   */
  readonly relations: 'id' | 'full';
}

/** What went wrong reading one value, for the warning and for `changes.unserializable`. */
export interface SerializationIssue {
  /**
   * `toJSON`: it threw (or overflowed the stack through a cycle) and the object's own fields
   * were recorded instead; `getter`: reading a property threw; `promise`: a promise (a lazy
   * relation) was met; `error`: the object could not be read at all (a hostile proxy).
   */
  readonly kind: 'toJSON' | 'getter' | 'promise' | 'error';
  /** Name of the class of the object concerned (the holder of a property, for a getter). */
  readonly className: string;
  /** Keys from the root of the value to the value concerned. */
  readonly path: readonly string[];
  /** What was thrown, described, or what was met. */
  readonly detail: string;
  /** Whether the value was replaced by a marker (else it was recorded another way). */
  readonly marker: boolean;
}

/**
 * The name of an object's class, without running user code beyond reading `constructor.name`.
 *
 * @param value - any object
 * @returns `Object` when it has none or it cannot be read
 */
export function classNameOf(value: object): string {
  try {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null) return 'Object';
    const ctor: unknown = (proto as { constructor?: unknown }).constructor;
    const name: unknown = typeof ctor === 'function' ? ctor.name : undefined;
    return typeof name === 'string' && name !== '' ? name : 'Object';
  } catch {
    return 'Object';
  }
}

/** The key under which an object's failed `toJSON` is remembered during one walk. */
export function classKeyOf(value: object): unknown {
  try {
    return Object.getPrototypeOf(value);
  } catch {
    return value;
  }
}

/**
 * Whether a value is a promise or a thenable; reading `then` may run a getter, so call it
 * inside a try.
 */
export function isThenable(value: object): boolean {
  return types.isPromise(value) || typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The identity of an entity: `{ [key]: value }` for the first identity key it holds as its own
 * property with a string, finite number or BigInt value.
 *
 * @param value - a class instance (not a plain object, not a built-in)
 * @param keys - identity keys in order of preference
 * @returns `undefined` when it has none (it is then no entity, just an object)
 */
export function entityReference(
  value: object,
  keys: readonly string[],
): Record<string, string | number> | undefined {
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const id: unknown = (value as Record<string, unknown>)[key];
    if (typeof id === 'string') return { [key]: id };
    if (typeof id === 'number' && Number.isFinite(id)) return { [key]: id + 0 };
    if (typeof id === 'bigint') return { [key]: id.toString() };
  }
  return undefined;
}

/**
 * Whether an object has an own enumerable field worth recording (not a function): a `toJSON`
 * that threw is then replaced by those fields rather than by a marker.
 */
export function hasDataFields(value: object): boolean {
  for (const key of Object.keys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor === undefined) continue;
    if ('get' in descriptor || typeof descriptor.value !== 'function') return true;
  }
  return false;
}

/**
 * The identity that stands for an entity held by a property of another object (a relation),
 * when entities are read with `relations: 'id'`.
 *
 * @param value - a class instance that is no built-in, below the root and not in a list
 * @param entities - how entities are read; `undefined` for a payload that is no state
 */
export function relationReference(
  value: object,
  entities: EntityReading | undefined,
): Record<string, string | number> | undefined {
  if (entities === undefined || entities.relations !== 'id') return undefined;
  return entityReference(value, entities.identityKeys);
}

/**
 * The identity that stands for a reference back to an entity the walk is inside of
 * (`order.items[0].order`), in either relations mode; `undefined` when it is no entity.
 *
 * @param value - an ancestor of the value being read
 * @param entities - how entities are read; `undefined` for a payload that is no state
 */
export function cycleReference(
  value: object,
  entities: EntityReading | undefined,
): Record<string, string | number> | undefined {
  if (entities === undefined) return undefined;
  try {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null || Array.isArray(value)) return undefined;
    return entityReference(value, entities.identityKeys);
  } catch {
    return undefined;
  }
}
