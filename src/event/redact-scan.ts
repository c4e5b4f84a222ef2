/**
 * Counts what a redacting walk of a JSON-safe copy would do, without copying: most states hold
 * no secret, and then the copy already made for the diff can be recorded as it is.
 */
import type { KeyGuard } from './json-safe-options';

/**
 * The visits `toJsonSafe` with `guard` would take over `value`, a JSON-safe copy (plain objects,
 * arrays and primitives only, as `toJsonSafe` makes them), or `undefined` as soon as the guard
 * rejects one of its keys or items: the walk would then change the value.
 *
 * @param value - a JSON-safe value (output of `toJsonSafe`)
 * @param guard - the redaction guard
 * @param state - the guard's state at `value`
 */
export function unredactedVisits(
  value: unknown,
  guard: KeyGuard,
  state: unknown,
): number | undefined {
  if (typeof value === 'string') {
    return guard.scrub === undefined || guard.scrub(value) === value ? 1 : undefined;
  }
  if (typeof value !== 'object' || value === null) return 1;
  let visits = 1;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const below = guard.item(state, i);
      const inner = below === null ? undefined : unredactedVisits(value[i], guard, below);
      if (inner === undefined) return undefined;
      visits += inner;
    }
    return visits;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (guard.scrub !== undefined && guard.scrub(key) !== key) return undefined;
    const below = guard.child(state, key);
    const inner = below === null ? undefined : unredactedVisits(record[key], guard, below);
    if (inner === undefined) return undefined;
    visits += inner;
  }
  return visits;
}
