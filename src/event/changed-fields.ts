/** A state by field name: a row of an ORM, or a record given to `recordUpdated()`. */
export type FieldState = Record<string, unknown>;

/**
 * Whether two values of one field are the same as they would be recorded: by their JSON text,
 * so dates compare by instant and objects by content (BigInt as its digits).
 */
export function sameFieldValue(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || JSON.stringify(a, bigintAsText) === JSON.stringify(b, bigintAsText);
}

function bigintAsText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}

/**
 * The fields whose values differ between two states, each side keeping only those (a missing
 * field counts as `undefined`).
 * @param same how two values of one field compare; by default {@link sameFieldValue}
 */
export function changedFields(
  before: FieldState,
  after: FieldState,
  same: (a: unknown, b: unknown) => boolean = sameFieldValue,
): { before: FieldState; after: FieldState } {
  const b: FieldState = {};
  const a: FieldState = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (same(before[key], after[key])) continue;
    if (key in before) b[key] = before[key];
    if (key in after) a[key] = after[key];
  }
  return { before: b, after: a };
}

/** Whether two states hold the same fields with the same values. */
export function sameFields(before: FieldState, after: FieldState): boolean {
  const { before: b, after: a } = changedFields(before, after);
  return Object.keys(b).length === 0 && Object.keys(a).length === 0;
}
